"""Compressed convolutional attention (CCA, Zyphra's ZAYA1; Figliolia et al., 2025).

Softmax attention (GQA) whose queries and keys are mixed over the last few tokens before
they attend:

    q0, k0 = x W_q, x W_k                              (queries H x d_h, keys K x d_h wide)
    r_q = (q0 + k0 repeated over each group) / 2       (a residual per query head)
    r_k = mean of r_q over the group                   (and one per key head)
    [q; k] = grouped_conv(depthwise_conv([q0; k0])) + [r_q; r_k]     (causal, over time)
    v = [x W_v_current ; x_{t-1} W_v_delayed]          (half the value channels a token late)
    q, k = sqrt(d_h) q / |q|, sqrt(d_h) k / |k| * temperature (per key head), then RoPE

A decode step needs the convolutions' last inputs and the previous token's delayed value
half besides the keys and values: `CCACache` keeps both, the state in a RecurrentState.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.mixers import CompressedConvAttention as CCASpec
from .cache import FullKVCache, RecurrentState, SlidingWindowCache
from .rope import apply_rope
from .step import Step


class CausalConv(nn.Module):
    """A grouped 1-D convolution's taps and bias, applied without padding to an input that
    already carries its history; the taps count as a matrix for random initialization."""

    matrices = ("weight",)

    def __init__(self, channels: int, kernel: int, groups: int):
        super().__init__()
        self.groups = groups
        self.weight = nn.Parameter(torch.empty(channels, channels // groups, kernel))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.weight, self.bias, groups=self.groups)


class CCACache:
    """A CCA layer's cache: the keys and values of the tokens (a full cache or a window's
    ring) and the constant state of the convolutions and the delayed values."""

    def __init__(self, tokens: FullKVCache | SlidingWindowCache, state: RecurrentState):
        self.tokens = tokens
        self.state = state

    def nbytes(self) -> int:
        return self.tokens.nbytes() + self.state.nbytes()

    def capacity_nbytes(self) -> int:
        return self.tokens.capacity_nbytes() + self.state.capacity_nbytes()

    def advance(self, end: int) -> None:
        self.tokens.advance(end)
        self.state.advance(end)

    def reset(self) -> None:
        self.tokens.reset()
        self.state.reset()


class CompressedConvAttention(nn.Module):
    def __init__(self, spec: CCASpec, d_model: int):
        super().__init__()
        self.spec = spec
        heads, kv_heads, head_dim = spec.num_heads, spec.num_kv_heads, spec.head_dim
        kv_width = spec.kv_width
        self.q_proj = nn.Linear(d_model, heads * head_dim, bias=spec.bias)
        self.k_proj = nn.Linear(d_model, kv_width, bias=spec.bias)
        self.v_current = nn.Linear(d_model, kv_width // 2, bias=spec.bias)
        self.v_delayed = nn.Linear(d_model, kv_width // 2, bias=spec.bias)
        self.o_proj = nn.Linear(heads * head_dim, d_model, bias=spec.bias)
        channels = spec.conv_channels
        self.conv_depthwise = CausalConv(channels, spec.depthwise_kernel, groups=channels)
        self.conv_grouped = CausalConv(channels, spec.grouped_kernel, groups=heads + kv_heads)
        # transformers starts these at 0 (every key zero until trained); a random-weight build
        # starts them at 1 so that its attention is not uniform
        self.temperature = nn.Parameter(torch.ones(kv_heads))
        self.scale = head_dim ** -0.5

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype, device) -> CCACache:
        spec = self.spec
        window = spec.sliding_window
        if window and window < max_len:
            tokens = SlidingWindowCache(batch, window, spec.num_kv_heads, spec.head_dim, spec.head_dim, dtype, device)
        else:
            tokens = FullKVCache(batch, max_len, spec.num_kv_heads, spec.head_dim, spec.head_dim, dtype, device)
        state = RecurrentState({"conv": (batch, spec.conv_channels, spec.conv_history),
                                "value": (batch, spec.kv_width // 2)}, dtype, device)
        return CCACache(tokens, state)

    def _queries_keys(self, x: torch.Tensor, cache: CCACache | None):
        """Queries [B, T, H, d_h] and keys [B, T, K, d_h], convolved and with their
        residuals; the convolutions' history read from and written to the cache."""
        spec = self.spec
        batch, length, _ = x.shape
        heads, kv_heads, head_dim = spec.num_heads, spec.num_kv_heads, spec.head_dim
        group = heads // kv_heads
        q, k = self.q_proj(x), self.k_proj(x)
        # the residuals: each query head averaged with its key head, each key head the mean of its group's
        residual_q = (q.view(batch, length, heads, head_dim)
                      + k.view(batch, length, kv_heads, head_dim).repeat_interleave(group, dim=2)) * 0.5
        residual_k = residual_q.view(batch, length, kv_heads, group, head_dim).mean(dim=3)
        inputs = torch.cat((q, k), dim=-1).transpose(1, 2)  # [B, C, T]
        history = spec.conv_history
        if history:
            before = (cache.state["conv"].to(inputs.dtype) if cache is not None
                      else inputs.new_zeros(batch, inputs.shape[1], history))
            inputs = torch.cat((before, inputs), dim=-1)
            if cache is not None:
                cache.state["conv"] = inputs[..., -history:]
        mixed = self.conv_grouped(self.conv_depthwise(inputs)).transpose(1, 2)  # [B, T, C]
        q_width = heads * head_dim
        q = mixed[..., :q_width].reshape(batch, length, heads, head_dim) + residual_q
        k = mixed[..., q_width:].reshape(batch, length, kv_heads, head_dim) + residual_k
        return q, k

    def _values(self, x: torch.Tensor, step: Step, cache: CCACache | None) -> torch.Tensor:
        """Values [B, T, K, d_h]: the current half of each token's channels, then the
        delayed half of the token before it (before the first token: the projection of 0)."""
        spec = self.spec
        batch, length, _ = x.shape
        current, delayed = self.v_current(x), self.v_delayed(x)
        first = cache is None or step.cache_start() == 0
        if first:
            previous = (self.v_delayed.bias.expand(batch, -1) if self.v_delayed.bias is not None
                        else delayed.new_zeros(batch, delayed.shape[-1]))
        else:
            previous = cache.state["value"].to(delayed.dtype)
        late = torch.cat((previous.unsqueeze(1), delayed[:, :-1]), dim=1)
        if cache is not None:  # after the read: `previous` may be the state tensor itself
            cache.state["value"] = delayed[:, -1]
        return torch.cat((current, late), dim=-1).view(batch, length, spec.num_kv_heads, spec.head_dim)

    def forward(self, x: torch.Tensor, step: Step, cache: CCACache | None = None) -> torch.Tensor:
        spec = self.spec
        batch, length, _ = x.shape
        q, k = self._queries_keys(x, cache)
        v = self._values(x, step, cache)
        # L2-normalized to length sqrt(d_h); the keys then times their head's temperature
        tiny = torch.finfo(q.dtype).eps
        root = math.sqrt(spec.head_dim)
        q = q * (root / q.norm(dim=-1, keepdim=True).clamp_min(tiny))
        k = k * (root / k.norm(dim=-1, keepdim=True).clamp_min(tiny)) * self.temperature.view(1, 1, -1, 1)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if spec.rope is not None:
            cos, sin = step.rotary[spec.rope]
            q, k = apply_rope(q, cos, sin, spec.rope.interleaved), apply_rope(k, cos, sin, spec.rope.interleaved)
        key_positions = None
        if cache is not None:
            k, v, key_positions = cache.tokens.update(k, v, step.positions, step.cache_start())
        mask = step.mask(key_positions, k.shape[2], spec.sliding_window)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scale,
                                             enable_gqa=spec.num_heads != spec.num_kv_heads)
        return self.o_proj(out.transpose(1, 2).reshape(batch, length, spec.num_heads * spec.head_dim))
