"""DeepSeek sparse attention's lightning indexer (DeepSeek-V3.2): a cheap scorer that picks,
for every query, the top-k past tokens the main attention may look at. GLM-5 uses
the same indexer with its rope pairs interleaved.

Its score of key token s for query token t is a weighted sum over a few small heads,
    I(t, s) = sum_h w(t, h) * ReLU(q(t, h) . k(s) / sqrt(head_dim)),
where q comes from MLA's query latent, k is a single LayerNorm-ed key head shared by all
indexer heads, and w is a per-token, per-head weight read from the hidden state. The
published model quantizes q and k to FP8 after a Hadamard rotation; a rotation keeps dot
products, and the quantization is a speed trick, so both are left out here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.parts import Rope
from ..spec.mixers import SparseIndexer as SparseIndexerSpec
from .rope import apply_rope
from .step import Step

KEY_NORM_EPS = 1e-6  # DeepSeek-V3.2's indexer LayerNorm, fixed in its inference code


class LightningIndexer(nn.Module):
    def __init__(self, spec: SparseIndexerSpec, d_model: int, query_latent_width: int):
        super().__init__()
        self.spec = spec
        heads, dim = spec.num_heads, spec.head_dim
        self.q_proj = nn.Linear(query_latent_width, heads * dim, bias=False)
        self.k_proj = nn.Linear(d_model, dim, bias=False)
        self.k_norm = nn.LayerNorm(dim, eps=KEY_NORM_EPS)
        self.head_weights = nn.Linear(d_model, heads, bias=False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor, query_latent: torch.Tensor, step: Step, rope: Rope | None,
                visible: torch.Tensor | None, cache=None) -> torch.Tensor:
        """Boolean [B, 1, T, S]: the keys each query keeps. x [B, T, d]; query_latent
        [B, T, q_lora_rank] (x itself when queries are not compressed); rope: MLA's, whose
        angles turn the leading channels of each indexer head (None: no rotation);
        visible [T, S]: the causal mask (None: every key is visible)."""
        index_scores = self._index_scores(x, query_latent, step, rope, visible, cache)
        top = index_scores.topk(min(self.spec.top_k, index_scores.shape[-1]), dim=-1).indices
        selected = torch.zeros_like(index_scores, dtype=torch.bool).scatter_(-1, top, True)
        if visible is not None:
            # With fewer visible keys than k, the top-k also draws masked ones: drop them.
            selected &= visible
        return selected.unsqueeze(1)

    @torch.no_grad()
    def pick(self, x: torch.Tensor, query_latent: torch.Tensor, step: Step, rope: Rope | None,
             cache) -> torch.Tensor:
        """The cached tokens [B, k] that one new query (a decode step, which sees every
        cached token) attends to: the attention then reads only those."""
        # (a replayable step's cache holds slots not yet written: the mask hides them)
        visible = step.mask(None, cache.latents.shape[1]) if step.replayable else None
        index_scores = self._index_scores(x, query_latent, step, rope, visible, cache)[:, 0]
        return index_scores.topk(min(self.spec.top_k, index_scores.shape[-1]), dim=-1).indices

    def _index_scores(self, x, query_latent, step: Step, rope: Rope | None, visible, cache) -> torch.Tensor:
        """I(t, s) for every query t and key s, [B, T, S]; -inf where a key is not visible."""
        spec = self.spec
        batch, length, _ = x.shape
        queries = self.q_proj(query_latent).view(batch, length, spec.num_heads, spec.head_dim)
        keys = self.k_norm(self.k_proj(x))  # [B, T, D]: one key head for all indexer heads
        if rope is not None:
            cos, sin = step.rotary[rope]
            # (an interleaved indexer under half-split MLA rope is refused by the spec's check)
            if rope.interleaved and not spec.rope_interleaved:
                # DeepSeek V3.2's indexer rotates half-split, unlike its MLA's interleaved
                # pairs: the same angles, one per pair, laid out as two halves.
                cos, sin = (torch.cat((table[..., 0::2], table[..., 0::2]), dim=-1) for table in (cos, sin))
            queries = apply_rope(queries.transpose(1, 2), cos, sin, spec.rope_interleaved).transpose(1, 2)
            keys = apply_rope(keys, cos, sin, spec.rope_interleaved)
        if cache is not None:
            keys = cache.update_index_keys(keys, step.cache_start(), step.positions)
        # Scored in float32 whatever the model dtype: the top-k choice is sensitive to rounding.
        scores = F.relu(queries.float() @ keys.float().transpose(1, 2).unsqueeze(1) * spec.head_dim**-0.5)
        weights = self.head_weights(x).float() * spec.num_heads**-0.5  # [B, T, H]
        index_scores = (weights.unsqueeze(-2) @ scores).squeeze(-2)  # [B, T, H] x [B, T, H, S] -> [B, T, S]
        if visible is not None:
            index_scores = index_scores.masked_fill(~visible, float("-inf"))
        return index_scores
