"""LongCat-Flash-Lite's N-gram embedding: hashed 2..N-gram tables beside the token embedding.

Follows Meituan's modeling_longcat_ngram.py (trust_remote_code; transformers 5.18 has no
copy), whose rules this module keeps:
- table `index = (n - 2) * splits + split` (order n = 2..N, split 0..splits-1) has
  `table_ratio * vocab + 2 * index + 1` rows, each `d_model // tables` wide;
- a token's id in that table is `(x_t + sum_{k=1..n-1} x_{t-k} * (vocab^k mod rows)) mod rows`,
  where x_{t-k} reads 0 when position t-k lies before the sequence or before an
  end-of-sequence token that precedes t (a segment ends *at* its EOS, so the EOS itself
  still sees the tokens before it, and the token after it sees none);
- each table's row is projected to d_model (no bias) and added to the token's embedding,
  and the sum is divided by 1 + tables.
The reference's cache keeps the last N-1 token ids; `TokenHistory` (app/model/cache.py)
keeps them here, by position, so a step replayed in a CUDA graph reads and writes them as
an eager one does.
"""

from __future__ import annotations

import torch
from torch import nn

from ..spec.ngram_embedding import NgramEmbedding as NgramEmbeddingSpec
from .cache import TokenHistory


def shifted_within_segment(context: torch.Tensor, shift: int, boundary_token: int) -> torch.Tensor:
    """context [B, C] moved `shift` places right, 0 where the token `shift` back lies before
    the row's start or before the last boundary token preceding this position (the
    reference's _shift_right_ignore_eos, without its loop over boundaries)."""
    length = context.shape[1]
    where = torch.arange(length, device=context.device)
    boundary_at = torch.where(context == boundary_token, where, torch.full_like(where, -1))
    # the last boundary at or before each position, then moved one on: strictly before it
    last_boundary = torch.cummax(boundary_at, dim=1).values
    before = torch.cat((torch.full_like(last_boundary[:, :1], -1), last_boundary[:, :-1]), dim=1)
    source = where - shift
    moved = context.index_select(1, source.clamp(min=0))
    # source > before also rules out source < 0, as before >= -1
    return torch.where(source > before, moved, torch.zeros((), dtype=context.dtype, device=context.device))


class NgramEmbedding(nn.Module):
    def __init__(self, spec: NgramEmbeddingSpec, vocab_size: int, d_model: int):
        super().__init__()
        self.spec = spec
        width = spec.width(d_model)
        rows = spec.table_rows(vocab_size)
        # checkpoint names: model.ngram_embeddings.embedders.{i} and .post_projs.{i}
        self.embedders = nn.ModuleList(nn.Embedding(count, width) for count in rows)
        self.post_projs = nn.ModuleList(nn.Linear(width, d_model, bias=False) for _ in rows)
        # Python ints, not buffers: nothing to load, nothing a meta build leaves unfilled,
        # and a captured step multiplies by them as constants. powers[index][k - 1] is
        # vocab^k mod rows, for the k tokens back that order n reaches (k = 1..n-1).
        self.moduli = rows
        self.powers = []
        for order in range(2, spec.orders + 1):
            for split in range(spec.splits):
                modulus, power, table_powers = rows[(order - 2) * spec.splits + split], 1, []
                for _ in range(order - 1):
                    power = power * vocab_size % modulus
                    table_powers.append(power)
                self.powers.append(table_powers)

    def new_history(self, batch: int, device) -> TokenHistory:
        return TokenHistory(batch, self.spec.context_tokens(), device)

    def table_ids(self, context: torch.Tensor) -> list[torch.Tensor]:
        """Each table's row ids [B, C] for every position of context [B, C] (token ids)."""
        shifted = [shifted_within_segment(context, k, self.spec.boundary_token)
                   for k in range(1, self.spec.orders)]
        ids = []
        for modulus, powers in zip(self.moduli, self.powers):
            hashed = context
            for back, power in enumerate(powers):
                hashed = hashed + shifted[back] * power
            ids.append(hashed % modulus)
        return ids

    def forward(self, token_embedding: torch.Tensor, input_ids: torch.Tensor, history: TokenHistory | None,
                positions: torch.Tensor) -> torch.Tensor:
        """token_embedding [B, T, d] of input_ids [B, T] at positions [T]; history: the ids
        before positions[0] (None: the sequence starts here, as a forward without a cache
        does), updated with input_ids after they are read."""
        length = input_ids.shape[1]
        context = input_ids if history is None else torch.cat((history.before(positions), input_ids), dim=1)
        x = token_embedding
        for embedder, projection, ids in zip(self.embedders, self.post_projs, self.table_ids(context)):
            x = x + projection(embedder(ids[:, -length:]))
        if history is not None:
            history.write(input_ids, positions)
        return x / (1 + len(self.embedders))
