"""Method B of joining a vision encoder to a decoder (Llama 3.2 Vision): cross-attention
layers whose queries come from the text and whose keys and values come from the image
features. The keys and values are computed once, at the prefill that brings the image,
and kept in a `CrossKVCache` that decode steps read; text tokens add nothing to it.

A text token sees the image from the image token on. A token before it sees none: as in
the reference, its attention then runs unmasked, but its feed-forward output is dropped,
and tanh gates (learned from zero) scale both sublayers' outputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.mixers import CrossAttention as CrossAttentionSpec
from .norms import make_norm
from .step import Step


class CrossKVCache:
    """One image per batch row: its projected keys and values, which of them belong to real
    tiles, and the position of its image token. Allocated for one image; holds bytes only
    once an image has been seen."""

    def __init__(self, batch: int, features: int, kv_heads: int, head_dim: int, dtype: torch.dtype,
                 device: torch.device | str):
        self.keys = torch.zeros(batch, kv_heads, features, head_dim, dtype=dtype, device=device)
        self.values = torch.zeros_like(self.keys)
        self.key_valid = torch.zeros(batch, features, dtype=torch.bool, device=device)
        self.image_start = torch.full((batch,), -1, dtype=torch.long, device=device)  # -1: no image
        self.filled = False

    def store(self, keys: torch.Tensor, values: torch.Tensor, key_valid: torch.Tensor,
              image_start: torch.Tensor) -> None:
        if keys.shape != self.keys.shape:
            raise ValueError(f"image keys have shape {list(keys.shape)}, the cache holds {list(self.keys.shape)}")
        self.keys.copy_(keys)
        self.values.copy_(values)
        self.key_valid.copy_(key_valid)
        self.image_start.copy_(image_start)
        self.filled = True

    def nbytes(self) -> int:
        return self.keys.nbytes + self.values.nbytes if self.filled else 0

    def capacity_nbytes(self) -> int:
        return self.keys.nbytes + self.values.nbytes

    def advance(self, end: int) -> None:
        pass  # the image's keys do not grow with the text

    def reset(self) -> None:
        self.image_start.fill_(-1)
        self.filled = False


class CrossAttention(nn.Module):
    def __init__(self, spec: CrossAttentionSpec, d_model: int):
        super().__init__()
        self.spec = spec
        heads, kv_heads, head_dim = spec.num_heads, spec.num_kv_heads, spec.head_dim
        self.q_proj = nn.Linear(d_model, heads * head_dim, bias=False)
        self.k_proj = nn.Linear(d_model, kv_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(d_model, kv_heads * head_dim, bias=False)
        self.o_proj = nn.Linear(heads * head_dim, d_model, bias=False)
        self.q_norm = self.k_norm = None
        if spec.qk_norm is not None:
            self.q_norm = make_norm(spec.qk_norm.norm, head_dim)
            self.k_norm = make_norm(spec.qk_norm.norm, head_dim)
        # The reference's cross_attn_attn_gate and cross_attn_mlp_gate: zero, so a new
        # layer passes its input through unchanged.
        self.attention_gate = nn.Parameter(torch.zeros(1)) if spec.gated else None
        self.ffn_gate = nn.Parameter(torch.zeros(1)) if spec.gated else None
        self.features = 0  # image features per batch row; set by the model that owns the layer

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype, device) -> CrossKVCache:
        return CrossKVCache(batch, self.features, self.spec.num_kv_heads, self.spec.head_dim, dtype, device)

    def _keys_values(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, features, _ = states.shape
        shape = (batch, features, self.spec.num_kv_heads, self.spec.head_dim)
        k = self.k_proj(states).view(shape)
        if self.k_norm is not None:
            k = self.k_norm(k)
        return k.transpose(1, 2), self.v_proj(states).view(shape).transpose(1, 2)

    def forward(self, x: torch.Tensor, step: Step, cache: CrossKVCache | None = None) -> torch.Tensor:
        spec = self.spec
        image = step.image
        if image is not None:
            k, v = self._keys_values(image.states)
            key_valid, image_start = image.key_valid, image.start
            if cache is not None:
                cache.store(k, v, key_valid, image_start)
        elif cache is not None and cache.filled:
            k, v, key_valid, image_start = cache.keys, cache.values, cache.key_valid, cache.image_start
        else:  # no image at all: the reference skips the layer, which is what zeros do here
            step.image_rows = None
            return torch.zeros_like(x)
        batch, length, _ = x.shape
        q = self.q_proj(x).view(batch, length, spec.num_heads, spec.head_dim)
        if self.q_norm is not None:
            q = self.q_norm(q)
        sees_image = (step.positions[None, :] >= image_start[:, None]) & (image_start[:, None] >= 0)  # [B, T]
        # A token that sees no image attends to every feature (the reference's mask is all
        # zeros on such rows); its feed-forward output is dropped below.
        mask = key_valid[:, None, None, :] | ~sees_image[:, None, :, None]
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k, v, attn_mask=mask,
                                             enable_gqa=spec.num_kv_heads != spec.num_heads)
        out = self.o_proj(out.transpose(1, 2).reshape(batch, length, spec.num_heads * spec.head_dim))
        step.image_rows = sees_image
        return out * self.attention_gate.tanh() if self.attention_gate is not None else out

    def gate_ffn(self, out: torch.Tensor, step: Step) -> torch.Tensor:
        """The block's feed-forward output: dropped where the token sees no image, gated."""
        rows = step.image_rows
        out = out * rows[..., None].to(out.dtype) if rows is not None else torch.zeros_like(out)
        return out * self.ffn_gate.tanh() if self.ffn_gate is not None else out
