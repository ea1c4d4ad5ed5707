"""The cache of multi-head latent attention: per token, the compressed latent and the one
shared rope key -- kv_lora_rank + qk_rope_head_dim values, for all heads together, where
a GQA cache holds 2 x kv_heads x head_dim. DeepSeek sparse attention adds its lightning
indexer's key (index_head_dim values) per token.

Preallocated once and written in place at the tokens' positions, like `FullKVCache`,
and reports the same `nbytes` / `capacity_nbytes`.
"""

from __future__ import annotations

import torch


class LatentCache:
    def __init__(self, batch: int, max_len: int, latent_dim: int, rope_dim: int, dtype: torch.dtype,
                 device: torch.device | str, index_key_dim: int = 0):
        self.latents = torch.zeros(batch, max_len, latent_dim, dtype=dtype, device=device)
        self.rope_keys = torch.zeros(batch, max_len, rope_dim, dtype=dtype, device=device)
        # DeepSeek sparse attention: the indexer scores every past token, so it keeps a key for each.
        self.index_keys = (torch.zeros(batch, max_len, index_key_dim, dtype=dtype, device=device)
                           if index_key_dim else None)
        self.length = 0
        self.bytes_per_token = batch * (latent_dim + rope_dim + index_key_dim) * self.latents.element_size()

    def _span(self, start: int, length: int) -> tuple[int, int]:
        end = start + length
        if end > self.latents.shape[1]:
            raise ValueError(f"cache holds {self.latents.shape[1]} tokens; position {end - 1} does not fit "
                             "(make it with a larger max_len)")
        return start, end

    def update(self, latents: torch.Tensor, rope_keys: torch.Tensor, start: int | None,
               positions: torch.Tensor | None = None):
        """Store new latents [B, T, kv_lora_rank] and rotated rope keys [B, T, rope_dim] at
        positions start, start + 1, ...; return every token's (latents, rope keys) so far.
        start None (a replayable step): written at the device `positions`, and the whole
        buffer comes back (slot s holds position s; the causal mask hides later slots)."""
        if start is None:
            self.latents.index_copy_(1, positions, latents)
            self.rope_keys.index_copy_(1, positions, rope_keys)
            return self.latents, self.rope_keys
        start, end = self._span(start, latents.shape[1])
        self.latents[:, start:end] = latents
        self.rope_keys[:, start:end] = rope_keys
        self.length = end
        return self.latents[:, :end], self.rope_keys[:, :end]

    def update_index_keys(self, keys: torch.Tensor, start: int | None,
                          positions: torch.Tensor | None = None) -> torch.Tensor:
        """Store the indexer's keys [B, T, index_head_dim] from position start on (at the
        device `positions` when start is None); return all of them so far (all slots then)."""
        if self.index_keys is None:
            raise ValueError("this latent cache was made without indexer keys (index_key_dim=0)")
        if start is None:
            self.index_keys.index_copy_(1, positions, keys)
            return self.index_keys
        start, end = self._span(start, keys.shape[1])
        self.index_keys[:, start:end] = keys
        return self.index_keys[:, :end]

    def nbytes(self) -> int:
        return self.length * self.bytes_per_token

    def capacity_nbytes(self) -> int:
        held = self.latents.nbytes + self.rope_keys.nbytes
        return held + (self.index_keys.nbytes if self.index_keys is not None else 0)

    def advance(self, end: int) -> None:
        self.length = end

    def reset(self) -> None:
        self.length = 0
