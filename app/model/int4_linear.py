"""A linear layer whose weight stays 4-bit in memory and in the matmul.

The weight is 4-bit codes q with a scale and a zero per group of input columns,
w = (q - 8) * scale + zero -- the form GGUF's Q4_0, Q4_1 and Q4_K blocks map to exactly
(app/weights/gguf_int4.py). torch's CPU kernel for it (`_weight_int4pack_mm_for_cpu`)
reads the packed codes, half a byte a weight, instead of a float matrix expanded from them.

It saves memory, not yet time, on an AVX2 CPU: on the 2-core EPYC development machine
(torch 2.13, one thread) a 2048 x 2048 product took 11.5 ms against 0.47 ms for the float32
matrix (and torch's per-channel int8 kernel, or a compiled dequantize-and-sum, 4.8-7.3 ms).
"""

from __future__ import annotations

import torch
from torch import nn


class Int4Linear(nn.Module):
    def __init__(self, codes: torch.Tensor, scales: torch.Tensor, zeros: torch.Tensor, group_size: int,
                 bias: torch.Tensor | None = None, dtype: torch.dtype = torch.float32):
        """codes [out, in] in 0..15 (any integer dtype); scales and zeros [out, in / group_size]."""
        super().__init__()
        out_features, in_features = codes.shape
        if in_features % group_size or scales.shape != (out_features, in_features // group_size) \
                or zeros.shape != scales.shape:
            raise ValueError(f"4-bit weight of {out_features} x {in_features} in groups of {group_size} needs scales "
                             f"and zeros of {out_features} x {in_features // group_size}; got {list(scales.shape)} "
                             f"and {list(zeros.shape)}")
        self.in_features, self.out_features, self.group_size = in_features, out_features, group_size
        self.register_buffer("packed", torch._convert_weight_to_int4pack_for_cpu(codes.to(torch.int32), 1))
        # the kernel's layout: [groups, out, (scale, zero)], in the activations' dtype
        self.register_buffer("scales_and_zeros", torch.stack((scales, zeros), dim=-1).transpose(0, 1)
                             .contiguous().to(dtype))
        self.bias = nn.Parameter(bias.to(dtype), requires_grad=False) if bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        out = torch._weight_int4pack_mm_for_cpu(flat, self.packed, self.group_size,
                                                self.scales_and_zeros.to(x.dtype))
        out = out.reshape(*x.shape[:-1], self.out_features)
        return out if self.bias is None else out + self.bias.to(out.dtype)

    def weight_bytes(self) -> int:
        """What the layer holds: half a byte a weight, and a scale and zero per group."""
        return self.packed.nbytes + self.scales_and_zeros.nbytes

    @torch.no_grad()
    def dequantized(self) -> torch.Tensor:
        """The float weight [out, in] the codes stand for (for checks and the inspector)."""
        eye = torch.eye(self.in_features, dtype=self.scales_and_zeros.dtype)
        return torch._weight_int4pack_mm_for_cpu(eye, self.packed, self.group_size, self.scales_and_zeros).t()

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, 4-bit, groups of {self.group_size}"
