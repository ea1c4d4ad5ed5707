"""Multi-head latent attention (DeepSeek-V2 and V3): each token's keys and values are
decompressed from one small latent, so the cache holds only that latent plus a single
rope key shared by all heads. With a `SparseIndexer` (DeepSeek-V3.2) every query attends
only to the top-k tokens the lightning indexer picks.

Queries: x -> [q_down_proj -> q_norm -> q_up_proj] (or one q_proj when uncompressed),
split per head into a "nope" part (no position) and a "rope" part (rotated).
Keys and values: x -> kv_down_proj -> (latent, rope key); kv_norm(latent) -> kv_up_proj
-> per-head nope keys and values; the rope key, rotated once, joins every head's key.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.mixers import MultiHeadLatentAttention as MLASpec
from .latent_cache import LatentCache
from .norms import RMSNorm
from .rope import apply_rope
from .sparse_indexer import LightningIndexer
from .step import Step

# DeepSeek's latent RMSNorms keep the RMSNorm default, whatever the config's rms_norm_eps.
LATENT_NORM_EPS = 1e-6


def softmax_scale(spec: MLASpec) -> float:
    """1 / sqrt(qk head dim), times YaRN's mscale squared when the config sets mscale_all_dim:
    DeepSeek tempers the logits of a stretched context through the scale, not only cos/sin."""
    scale = (spec.qk_nope_head_dim + spec.qk_rope_head_dim) ** -0.5
    scaling = spec.rope.scaling if spec.rope is not None else None
    if scaling is not None and scaling.mscale_all_dim and scaling.factor > 1:
        mscale = 0.1 * scaling.mscale_all_dim * math.log(scaling.factor) + 1.0
        scale *= mscale * mscale
    return scale


class MultiHeadLatentAttention(nn.Module):
    def __init__(self, spec: MLASpec, d_model: int):
        super().__init__()
        self.spec = spec
        heads, nope, rope = spec.num_heads, spec.qk_nope_head_dim, spec.qk_rope_head_dim
        query_width = heads * (nope + rope)
        self.q_proj = self.q_down_proj = self.q_norm = self.q_up_proj = None
        if spec.q_lora_rank:
            self.q_down_proj = nn.Linear(d_model, spec.q_lora_rank, bias=spec.qkv_bias)
            self.q_norm = RMSNorm(spec.q_lora_rank, LATENT_NORM_EPS)
            self.q_up_proj = nn.Linear(spec.q_lora_rank, query_width, bias=False)
        else:
            self.q_proj = nn.Linear(d_model, query_width, bias=False)
        self.kv_down_proj = nn.Linear(d_model, spec.kv_lora_rank + rope, bias=spec.qkv_bias)
        self.kv_norm = RMSNorm(spec.kv_lora_rank, LATENT_NORM_EPS)
        self.kv_up_proj = nn.Linear(spec.kv_lora_rank, heads * (nope + spec.v_head_dim), bias=False)
        self.o_proj = nn.Linear(heads * spec.v_head_dim, d_model, bias=spec.qkv_bias)
        self.indexer = None
        if spec.indexer is not None:
            self.indexer = LightningIndexer(spec.indexer, d_model, spec.q_lora_rank or d_model)
        self.scale = softmax_scale(spec)
        # LongCat-Flash: sqrt(d / rank) on the queries and on the normed KV latent (cached so)
        self.query_scale = (d_model / spec.q_lora_rank) ** 0.5 if spec.latent_scale else 1.0
        self.latent_scale = (d_model / spec.kv_lora_rank) ** 0.5 if spec.latent_scale else 1.0

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype, device) -> LatentCache:
        spec = self.spec
        index_dim = spec.indexer.head_dim if spec.indexer is not None else 0
        return LatentCache(batch, max_len, spec.kv_lora_rank, spec.qk_rope_head_dim, dtype, device, index_dim)

    def _rotate(self, x: torch.Tensor, step: Step) -> torch.Tensor:
        # DeepSeek's checkpoints lay each rope pair out side by side, (2i, 2i+1).
        cos, sin = step.rotary[self.spec.rope]
        return apply_rope(x, cos, sin, self.spec.rope.interleaved)

    def forward(self, x: torch.Tensor, step: Step, cache: LatentCache | None = None) -> torch.Tensor:
        spec = self.spec
        batch, length, _ = x.shape
        query_latent = x
        if self.q_proj is not None:
            q = self.q_proj(x)
        else:
            query_latent = self.q_norm(self.q_down_proj(x))
            q = self.q_up_proj(query_latent)
        q = q.view(batch, length, spec.num_heads, -1).transpose(1, 2)
        q_nope, q_rope = q.split([spec.qk_nope_head_dim, spec.qk_rope_head_dim], dim=-1)
        latent, k_rope = self.kv_down_proj(x).split([spec.kv_lora_rank, spec.qk_rope_head_dim], dim=-1)
        latent = self.kv_norm(latent)  # [B, T, kv_lora_rank]
        if self.latent_scale != 1.0:
            q_nope, q_rope = q_nope * self.query_scale, q_rope * self.query_scale
            latent = latent * self.latent_scale
        if spec.rope is not None:
            q_rope, k_rope = self._rotate(q_rope, step), self._rotate(k_rope, step)
        if spec.query_position_scale:
            # Mistral Large 3 ("llama_4_scaling"): queries sharpen slowly past the trained context.
            floors = torch.floor(step.positions.float() / spec.query_position_floor)
            growth = (1.0 + spec.query_position_scale * torch.log1p(floors)).view(1, 1, length, 1).to(q.dtype)
            q_nope, q_rope = q_nope * growth, q_rope * growth

        if cache is not None:
            latent, k_rope = cache.update(latent, k_rope, step.cache_start(), step.positions)
        mask = step.mask(None, latent.shape[1])  # causal [T, S], None when all is visible
        if self.indexer is not None and cache is not None and length == 1:
            # DeepSeek sparse attention, decoding: one query, which reads only the top-k
            # latents the indexer picks -- the point of the design at long contexts.
            picked = self.indexer.pick(x, query_latent, step, spec.rope, cache)  # [B, k]
            latent = latent.gather(1, picked.unsqueeze(-1).expand(-1, -1, latent.shape[-1]))
            k_rope = k_rope.gather(1, picked.unsqueeze(-1).expand(-1, -1, k_rope.shape[-1]))
            # A replayable step's cache hands back every slot, so with fewer tokens than k
            # written the pick holds empty ones: they stay hidden. (Otherwise all is visible.)
            mask = (picked <= step.positions[-1])[:, None, None, :] if step.replayable else None
        elif self.indexer is not None:
            # A prefill: each query keeps only its top-k visible tokens, as a mask.
            mask = self.indexer(x, query_latent, step, spec.rope, mask, cache)
        if cache is not None and length == 1:
            out = self._attend_absorbed(q_nope, q_rope, latent, k_rope, mask)
        else:
            out = self._attend_expanded(q_nope, q_rope, latent, k_rope, mask)
        return self.o_proj(out.transpose(1, 2).reshape(batch, length, spec.num_heads * spec.v_head_dim))

    def _attend_expanded(self, q_nope, q_rope, latent, k_rope, mask) -> torch.Tensor:
        """Decompress every key's latent into per-head keys and values, then attend as MHA.
        Cheapest when many queries share the keys (a prefill)."""
        spec = self.spec
        batch, keys = latent.shape[:2]
        expanded = self.kv_up_proj(latent).view(batch, keys, spec.num_heads, -1).transpose(1, 2)
        k_nope, v = expanded.split([spec.qk_nope_head_dim, spec.v_head_dim], dim=-1)
        k_rope = k_rope.unsqueeze(1).expand(-1, spec.num_heads, -1, -1)
        k = torch.cat((k_nope, k_rope), dim=-1)
        q = torch.cat((q_nope, q_rope), dim=-1)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scale)

    def _attend_absorbed(self, q_nope, q_rope, latent, k_rope, mask) -> torch.Tensor:
        """Attend over the cached latents themselves: kv_up_proj's key half is folded into
        the query (q_nope . W_k c == (W_k^T q_nope) . c) and its value half applied after
        the weighted sum. This is MQA with one head of kv_lora_rank + rope channels whose
        values are the latents: one new token never decompresses the whole history."""
        spec = self.spec
        weight = self.kv_up_proj.weight.view(spec.num_heads, spec.qk_nope_head_dim + spec.v_head_dim, -1)
        w_key, w_value = weight.split([spec.qk_nope_head_dim, spec.v_head_dim], dim=1)
        q_latent = torch.einsum("bhtn,hnc->bhtc", q_nope, w_key)
        q = torch.cat((q_latent, q_rope), dim=-1)  # [B, H, 1, kv_lora_rank + rope]
        k = torch.cat((latent, k_rope), dim=-1).unsqueeze(1)  # [B, 1, S, kv_lora_rank + rope]
        # The one query token's heads become the rows of a single head's queries: every head
        # then reads the one shared latent once. (Attention's grouped heads would copy the
        # latent to each of them first -- 128 copies of the history for DeepSeek V3.)
        batch, heads = q.shape[:2]
        context = F.scaled_dot_product_attention(q.transpose(1, 2), k, latent.unsqueeze(1), attn_mask=mask,
                                                 scale=self.scale)  # [B, 1, H, kv_lora_rank]
        return torch.einsum("bhtc,hvc->bhtv", context.view(batch, heads, 1, -1), w_value)
