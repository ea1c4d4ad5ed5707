"""GGUF's block formats as low-bit codes with a scale and an offset per group, the layout
the low-bit kernel reads (app/model/kernels/lowbit.cpp), so a quantized tensor runs
without being expanded to floats.

Each format stores a weight as an affine function of an integer code within a group along
the input, w = scale * code + offset, and maps onto one of two layouts exactly:

- 4 bits (codes 0..15, groups of 32): Q4_0 (scale d, offset -8 d), Q4_1 (d, minimum m),
  Q4_K (d * s, -dmin * n from each group's 6-bit s and n).
- 8 bits (signed codes): Q8_0 (d, groups of 32), Q5_0 (codes q - 16, scale d), Q5_1 (d, m),
  Q5_K (as Q4_K), Q6_K (codes q - 32, scale d * s per group of 16).

A block's header gives the scale and offset of each group; its codes are then read back
from gguf-py's dequantized values (the reference arithmetic) as (w - offset) / scale, which
is exact for every format above and keeps the bit layouts of the code fields out of this
file. Scales from a float16 field stay float16; products like d * s are kept in float32.
(Block layouts: ggml-common.h and gguf-py's quants.py.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf.quants import dequantize

Q = GGMLQuantizationType


@dataclass(frozen=True)
class LowBitLayout:
    bits: int  # 4: two codes a byte; 8: one signed code a byte
    group: int  # values that share a scale and an offset
    scale_dtype: type  # np.float16 where the file's own float16 fields are the scales
    has_offset: bool


LAYOUTS = {
    Q.Q4_0: LowBitLayout(4, 32, np.float16, True),
    Q.Q4_1: LowBitLayout(4, 32, np.float16, True),
    Q.Q4_K: LowBitLayout(4, 32, np.float32, True),
    Q.Q8_0: LowBitLayout(8, 32, np.float16, False),
    Q.Q5_0: LowBitLayout(8, 32, np.float16, False),
    Q.Q5_1: LowBitLayout(8, 32, np.float16, True),
    Q.Q5_K: LowBitLayout(8, 32, np.float32, True),
    Q.Q6_K: LowBitLayout(8, 16, np.float32, False),
}


@dataclass
class LowBitRows:
    codes: np.ndarray  # [rows, K / 2] uint8 (4 bits) or [rows, K] int8
    scales: np.ndarray  # [rows, K / group]
    offsets: np.ndarray | None


def lowbit_rows(packed: np.ndarray, quant: GGMLQuantizationType) -> LowBitRows:
    """Rows of packed blocks [rows, row bytes] -> the rows in the kernel's layout."""
    layout = LAYOUTS[quant]
    rows = packed.shape[0]
    block_values, block_bytes = GGML_QUANT_SIZES[quant]
    blocks = packed.reshape(rows, -1, block_bytes)
    scales, offsets = _group_scales(blocks, quant)  # [rows, blocks, groups per block] float32
    scales, offsets = scales.reshape(rows, -1), None if offsets is None else offsets.reshape(rows, -1)
    values = dequantize(packed, quant).reshape(rows, -1, layout.group)
    shifted = values - offsets[..., None] if offsets is not None else values
    with np.errstate(divide="ignore", invalid="ignore"):
        codes = np.where(scales[..., None] != 0, np.rint(shifted / scales[..., None]), 0)
    low, high = (0, 15) if layout.bits == 4 else (-128, 127)
    if codes.min(initial=0) < low or codes.max(initial=0) > high:
        raise ValueError(f"{quant.name} codes outside {low}..{high}: the block layout was misread")
    codes = codes.reshape(rows, -1)
    if layout.bits == 4:  # byte i of a group of 32: value i low, value i + 16 high
        grouped = codes.astype(np.uint8).reshape(rows, -1, 2, 16)
        codes = (grouped[:, :, 0] | (grouped[:, :, 1] << 4)).reshape(rows, -1)
    else:
        codes = codes.astype(np.int8)
    return LowBitRows(np.ascontiguousarray(codes), scales.astype(layout.scale_dtype),
                      None if offsets is None else offsets.astype(layout.scale_dtype))


def _group_scales(blocks: np.ndarray, quant: GGMLQuantizationType) -> tuple[np.ndarray, np.ndarray | None]:
    """Each group's scale and offset (float32, [rows, blocks, groups per block]) from the headers."""
    d = _half(blocks[..., 0:2])[..., None]
    if quant in (Q.Q4_0, Q.Q8_0, Q.Q5_0):
        return d, (-8 * d if quant == Q.Q4_0 else None)  # Q5_0 and Q8_0 codes are signed, centred on 0
    if quant in (Q.Q4_1, Q.Q5_1):
        return d, _half(blocks[..., 2:4])[..., None]
    if quant in (Q.Q4_K, Q.Q5_K):
        scale, minimum = _k_scales(blocks[..., 4:16])
        return d * scale, -_half(blocks[..., 2:4])[..., None] * minimum
    if quant == Q.Q6_K:  # 128 + 64 bytes of codes, 16 signed 8-bit scales, then d
        return _half(blocks[..., 208:210])[..., None] * blocks[..., 192:208].view(np.int8).astype(np.float32), None
    raise ValueError(f"{quant.name} has no low-bit layout")


def _half(two_bytes: np.ndarray) -> np.ndarray:
    """float16 fields [..., 2] (little-endian bytes) -> float32 [...]."""
    return np.ascontiguousarray(two_bytes).view("<f2")[..., 0].astype(np.float32)


def _k_scales(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 12 bytes of a Q4_K / Q5_K super-block -> the 6-bit scale and minimum of each of its
    8 groups: groups 0-3 in the low six bits of bytes 0-3 (scales) and 4-7 (minimums);
    groups 4-7 from the nibbles of bytes 8-11 and the top two bits of bytes 0-3 / 4-7."""
    low, high, tail = packed[..., 0:4], packed[..., 4:8], packed[..., 8:12]
    scale = np.concatenate((low & 63, (tail & 0x0F) | ((low >> 6) << 4)), axis=-1).astype(np.float32)
    minimum = np.concatenate((high & 63, (tail >> 4) | ((high >> 6) << 4)), axis=-1).astype(np.float32)
    return scale, minimum
