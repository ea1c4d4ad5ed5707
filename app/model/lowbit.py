"""Layers whose weights stay low-bit in memory and in the matmul: a GGUF file's Q4/Q5/Q6/Q8
tensors as they are stored (app/weights/gguf_blocks.py), computed by the low-bit kernel
(app/model/cpu_kernels.py) instead of float matrices expanded from them.

A weight is w = scale * code + offset within a group along the input; codes are 4 bits
(two a byte) or 8. The kernel quantizes the activations to 8 bits per 32 values, as
llama.cpp does, so outputs differ from the expanded float matrix's by that rounding (about
0.5% of the largest output on random data).

The buffers keep their dtypes: the model must be loaded in its run dtype, not converted
afterwards (`.to(dtype)` would turn the float16 scales into the run dtype).
"""

from __future__ import annotations

import torch
from torch import nn

from . import cpu_kernels


class LowBitLinear(nn.Module):
    """A linear layer on a low-bit matrix [out_features, in_features]; its bias (Qwen2's q/k/v
    have one) a float parameter in the run's dtype."""

    def __init__(self, out_features: int, in_features: int, bits: int, group: int, scale_dtype: torch.dtype,
                 has_offset: bool, device: torch.device | str = "cpu", bias_dtype: torch.dtype | None = None):
        super().__init__()
        cpu_kernels.load()  # here, not in forward: a compiled step must find the operator registered
        if in_features % 32 or bits not in (4, 8) or group not in (16, 32) or (bits == 4 and group != 32):
            raise ValueError(f"no low-bit layout for {out_features} x {in_features} with {bits}-bit codes in "
                             f"groups of {group}")
        self.in_features, self.out_features, self.bits, self.group = in_features, out_features, bits, group
        code_dtype = torch.uint8 if bits == 4 else torch.int8
        width = in_features // 2 if bits == 4 else in_features
        self.register_buffer("codes", torch.empty(out_features, width, dtype=code_dtype, device=device))
        groups = in_features // group
        self.register_buffer("scales", torch.empty(out_features, groups, dtype=scale_dtype, device=device))
        self.register_buffer("offsets", torch.empty(out_features, groups, dtype=scale_dtype, device=device)
                             if has_offset else None)
        self.bias = nn.Parameter(torch.empty(out_features, dtype=bias_dtype, device=device), requires_grad=False) \
            if bias_dtype is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).float().contiguous()
        out = torch.ops.archscope_kernels.lowbit_linear(flat, self.codes, self.scales, self.offsets, self.bits,
                                                        self.group)
        if self.bias is not None:
            out = out + self.bias
        return out.to(x.dtype).reshape(*x.shape[:-1], self.out_features)

    def same_layout(self, other: "LowBitLinear") -> bool:
        return (self.bits, self.group, self.scales.dtype, self.offsets is None, self.bias is None, self.in_features) == \
            (other.bits, other.group, other.scales.dtype, other.offsets is None, other.bias is None, other.in_features)

    def weight_bytes(self) -> int:
        return sum(t.nbytes for t in (self.codes, self.scales, self.offsets) if t is not None)

    @torch.no_grad()
    def rows(self, index: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """The float rows `index` names [..., in_features] (an embedding lookup)."""
        codes = self.codes[index]
        if self.bits == 4:  # byte i of a group: value i low, value i + 16 high
            grouped = codes.reshape(*codes.shape[:-1], -1, 16)
            codes = torch.cat((grouped & 0x0F, grouped >> 4), dim=-1)
        values = codes.reshape(*index.shape, -1, self.group).float() * self.scales[index].float()[..., None]
        if self.offsets is not None:
            values = values + self.offsets[index].float()[..., None]
        return values.reshape(*index.shape, self.in_features).to(dtype)

    def dequantized(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The whole float matrix the codes stand for (checks and the inspector)."""
        return self.rows(torch.arange(self.out_features, device=self.codes.device), dtype)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, {self.bits}-bit, "
                f"groups of {self.group}")


class LowBitEmbedding(nn.Module):
    """Token embeddings read from a low-bit matrix: only the looked-up rows are expanded.
    The matrix is a submodule, so a tied output head can be that very module."""

    def __init__(self, matrix: LowBitLinear, dtype: torch.dtype):
        super().__init__()
        self.matrix = matrix
        self.dtype = dtype

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.matrix.rows(input_ids, self.dtype)


class PackedLowBit:
    """Low-bit linears that read the same input (q/k/v; gate/up), computed as one: their
    codes, scales and offsets become row blocks of one matrix, and each linear's buffers
    views of it (nothing is held twice). The counterpart of packing.PackedLinear."""

    @torch.no_grad()
    def __init__(self, linears: list[LowBitLinear]):
        first = linears[0]
        # made on "meta" (nothing allocated): its tensors are the concatenations below
        self.matrix = LowBitLinear(sum(linear.out_features for linear in linears), first.in_features, first.bits,
                                   first.group, first.scales.dtype, first.offsets is not None, device="meta")
        self.sizes = [linear.out_features for linear in linears]
        names = ("codes", "scales") + (("offsets",) if first.offsets is not None else ())
        for name in names:
            whole = torch.cat([getattr(linear, name) for linear in linears])
            setattr(self.matrix, name, whole)
            for linear, part in zip(linears, whole.split(self.sizes)):
                setattr(linear, name, part)
        if first.bias is not None:  # .data keeps the linears' parameters, views of the one bias
            self.matrix.bias = nn.Parameter(torch.cat([linear.bias for linear in linears]), requires_grad=False)
            for linear, part in zip(linears, self.matrix.bias.data.split(self.sizes)):
                linear.bias.data = part
        self.linears = linears
        self._pointers = [linear.codes.data_ptr() for linear in linears]

    def intact(self) -> bool:
        return all(linear.codes.data_ptr() == pointer for linear, pointer in zip(self.linears, self._pointers))

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.matrix(x).split(self.sizes, dim=-1)


def can_pack(linears: list[nn.Module]) -> bool:
    return all(isinstance(linear, LowBitLinear) and linear.same_layout(linears[0]) for linear in linears)
