"""Rotary position embeddings: the inverse frequencies (default, linear, Llama 3 and YaRN
scaling), then rotation of the first `rotary_dim` channels of each head."""

from __future__ import annotations

import math

import torch

from ..spec.parts import Rope


def _yarn_mscale(factor: float, mscale: float = 1.0) -> float:
    return 1.0 if factor <= 1 else 0.1 * mscale * math.log(factor) + 1.0


def inverse_frequencies(rope: Rope) -> tuple[torch.Tensor, float]:
    """(inv_freq of rotary_dim / 2 channels -- frequency_dim / 2 for proportional RoPE --,
    factor applied to cos and sin)."""
    if rope.frequency_dim:
        return _proportional_frequencies(rope), 1.0
    dim = rope.rotary_dim
    # float32 throughout, as the published implementations compute it.
    exponents = torch.arange(0, dim, 2, dtype=torch.int64).float() / dim
    inv_freq = 1.0 / (rope.theta**exponents)
    scaling = rope.scaling
    if scaling is None:
        return inv_freq, 1.0
    if scaling.type == "linear":
        return inv_freq / scaling.factor, 1.0
    if scaling.type == "llama3":
        # Llama 3.1: long wavelengths are interpolated by `factor`, short ones kept, and
        # the band between blends the two.
        original = scaling.original_max_position
        low_wavelen = original / scaling.low_freq_factor
        high_wavelen = original / scaling.high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        smooth = (original / wavelen - scaling.low_freq_factor) / (scaling.high_freq_factor - scaling.low_freq_factor)
        blended = (1 - smooth) * inv_freq / scaling.factor + smooth * inv_freq
        scaled = torch.where(wavelen > low_wavelen, inv_freq / scaling.factor, blended)
        return torch.where(wavelen < high_wavelen, inv_freq, scaled), 1.0
    # YaRN (Peng et al. 2023): interpolate the low-frequency dimensions, extrapolate the
    # high-frequency ones, ramp between, and temper the attention logits via cos/sin.
    def correction_dim(rotations: float) -> float:
        return dim * math.log(scaling.original_max_position / (rotations * 2 * math.pi)) / (2 * math.log(rope.theta))

    low, high = correction_dim(scaling.beta_fast), correction_dim(scaling.beta_slow)
    if scaling.truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = ((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low)).clamp(0, 1)
    extrapolate = 1 - ramp
    inv_freq = (inv_freq / scaling.factor) * (1 - extrapolate) + inv_freq * extrapolate
    if scaling.attention_factor:
        attention_factor = scaling.attention_factor
    elif scaling.mscale and scaling.mscale_all_dim:
        attention_factor = _yarn_mscale(scaling.factor, scaling.mscale) / _yarn_mscale(
            scaling.factor, scaling.mscale_all_dim)
    else:
        attention_factor = _yarn_mscale(scaling.factor)
    return inv_freq, attention_factor


def _proportional_frequencies(rope: Rope) -> torch.Tensor:
    """Gemma 4's proportional RoPE: the first rotary_dim / 2 frequencies of a rotation over
    frequency_dim channels, then zeros (an angle of zero leaves its pair unrotated), so the
    table spans the whole head and the turning pairs sit at the start of each half."""
    spacing = rope.frequency_dim
    exponents = torch.arange(0, rope.rotary_dim, 2, dtype=torch.int64).float() / spacing
    turning = 1.0 / (rope.theta**exponents)
    still = torch.zeros(spacing // 2 - rope.rotary_dim // 2)
    inv_freq = torch.cat((turning, still))
    if rope.scaling is not None:  # transformers divides by the "factor" of its parameters
        inv_freq = inv_freq / rope.scaling.factor
    return inv_freq


class RotaryTable:
    """cos/sin for positions, computed once per distinct Rope and grown on demand. Channel
    c turns by angle c mod rotary_dim/2 in the half-split layout, by angle c // 2 when the
    pairs are interleaved."""

    def __init__(self, rope: Rope, device: torch.device | str):
        self.interleaved = rope.interleaved
        self.inv_freq, self.attention_factor = inverse_frequencies(rope)
        self.inv_freq = self.inv_freq.to(device)
        self.cos = self.sin = torch.empty(0, device=device)

    def ensure(self, length: int) -> None:
        if self.cos.shape[0] >= length:
            return
        length = max(length, 2 * self.cos.shape[0], 256)
        positions = torch.arange(length, device=self.inv_freq.device, dtype=torch.float32)
        angles = torch.outer(positions, self.inv_freq)
        if self.interleaved:
            angles = angles.repeat_interleave(2, dim=-1)
        else:
            angles = torch.cat((angles, angles), dim=-1)
        self.cos = angles.cos() * self.attention_factor
        self.sin = angles.sin() * self.attention_factor

    def at(self, start: int, length: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """cos, sin of shape [length, rotary_dim] for positions start, start + 1, ... (host
        ints: reading the bound off a device tensor would make every step wait for the GPU)."""
        self.ensure(start + length)
        return self.cos[start:start + length].to(dtype), self.sin[start:start + length].to(dtype)

    def gather(self, positions: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """cos, sin at device positions, read on the device (a replayable step, whose
        positions the host does not know): the table must already reach them (ensure)."""
        return self.cos[positions].to(dtype), self.sin[positions].to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


def rotate_pairs(x: torch.Tensor) -> torch.Tensor:
    """(x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...): the partner of each interleaved pair."""
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((-odd, even), dim=-1).flatten(-2)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, interleaved: bool = False) -> torch.Tensor:
    """Rotate the first cos.shape[-1] channels of x [B, H, T, D]; the rest pass through
    (partial RoPE). interleaved: the rotated pairs are channels (2i, 2i+1) -- Llama 4 and
    GPT-J, which multiply each pair as a complex number -- instead of (i, i + D/2); the
    table must have been made for the same layout."""
    rotate = rotate_pairs if interleaved else rotate_half
    rotary_dim = cos.shape[-1]
    if rotary_dim == x.shape[-1]:
        return x * cos + rotate(x) * sin
    rotated, passed = x[..., :rotary_dim], x[..., rotary_dim:]
    return torch.cat((rotated * cos + rotate(rotated) * sin, passed), dim=-1)
