"""GGUF's 4-bit block formats as 4-bit codes with a scale and a zero per group of 32 weights:
the form torch's int4 matmul computes on (app/model/int4_linear.py), so a Q4 tensor can run
without being expanded to floats.

Every one of these formats stores a weight as an affine function of a 4-bit code q within a
group of 32 along the input, and that function is what torch's kernel takes:
w = (q - 8) * scale + zero.

- Q4_0, blocks of 32: a float16 d, 16 bytes of codes; w = d (q - 8): scale d, zero 0.
- Q4_1, blocks of 32: d and a minimum m (float16), 16 bytes of codes; w = d q + m:
  scale d, zero m + 8 d.
- Q4_K, super-blocks of 256 = 8 groups of 32: float16 d and dmin, 12 bytes holding a 6-bit
  scale s and a 6-bit minimum n for each group, 128 bytes of codes; w = d s q - dmin n:
  scale d s, zero 8 d s - dmin n.

Within a 32-value block of Q4_0 / Q4_1, byte i holds value i in its low nibble and value
i + 16 in its high one. A Q4_K super-block's codes come in four runs of 32 bytes, each
covering two groups: the low nibbles the first, the high nibbles the second.
(Layouts as ggml-quants.c and gguf-py's quants.py define them.)
"""

from __future__ import annotations

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

GROUP = 32
INT4_FORMATS = (GGMLQuantizationType.Q4_0, GGMLQuantizationType.Q4_1, GGMLQuantizationType.Q4_K)


def int4_groups(packed: np.ndarray, quant: GGMLQuantizationType) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of packed blocks [rows, row bytes] -> (codes uint8 [rows, K] in 0..15, scales and
    zeros float32 [rows, K / 32]), with w = (codes - 8) * scale + zero per group of 32."""
    if quant not in INT4_FORMATS:
        raise ValueError(f"{quant.name} is not a 4-bit format with groups of 32")
    rows = packed.shape[0]
    block_values, block_bytes = GGML_QUANT_SIZES[quant]
    blocks = packed.reshape(rows, -1, block_bytes)
    if quant == GGMLQuantizationType.Q4_K:
        codes, scales, zeros = _q4_k(blocks)
    else:
        header = 2 if quant == GGMLQuantizationType.Q4_0 else 4
        d = _half(blocks[..., 0:2])
        codes = _split_nibbles(blocks[..., header:])  # [rows, blocks, 32]
        scales = d
        zeros = np.zeros_like(d) if quant == GGMLQuantizationType.Q4_0 else _half(blocks[..., 2:4]) + 8 * d
    return codes.reshape(rows, -1), scales.reshape(rows, -1), zeros.reshape(rows, -1)


def _half(two_bytes: np.ndarray) -> np.ndarray:
    """float16 fields [..., 2] (little-endian bytes) -> float32 [...]."""
    return np.ascontiguousarray(two_bytes).view("<f2")[..., 0].astype(np.float32)


def _split_nibbles(data: np.ndarray) -> np.ndarray:
    """[..., n] bytes -> [..., 2n] codes: every low nibble, then every high nibble."""
    return np.concatenate((data & 0x0F, data >> 4), axis=-1)


def _q4_k(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d, dmin = _half(blocks[..., 0:2]), _half(blocks[..., 2:4])
    packed_scales = blocks[..., 4:16].astype(np.uint8)  # [rows, n, 12]
    low, high = packed_scales[..., 0:4], packed_scales[..., 4:8]
    tail = packed_scales[..., 8:12]
    # groups 0-3: six bits of bytes 0-3 (scales) and 4-7 (minimums); groups 4-7: four bits
    # from bytes 8-11 and the top two bits of bytes 0-3 / 4-7
    scale = np.concatenate((low & 63, (tail & 0x0F) | ((low >> 6) << 4)), axis=-1).astype(np.float32)
    minimum = np.concatenate((high & 63, (tail >> 4) | ((high >> 6) << 4)), axis=-1).astype(np.float32)
    codes = _split_nibbles(blocks[..., 16:].reshape(*blocks.shape[:-1], 4, 32))  # [rows, n, 4, 64]
    group_scale = d[..., None] * scale
    return codes, group_scale, 8 * group_scale - dmin[..., None] * minimum
