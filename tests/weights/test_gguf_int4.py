"""GGUF's 4-bit blocks as codes, scales and zeros (app/weights/gguf_int4.py), and the layer
that computes on them without expanding them (app/model/int4_linear.py): the same weights
llama.cpp's own dequantizer (gguf-py's, the reference arithmetic) reads from the blocks."""

import numpy as np
import pytest
import torch
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf.quants import dequantize, quantize

from app.model.int4_linear import Int4Linear
from app.weights.gguf_int4 import int4_groups

ROWS, COLUMNS = 48, 512


def blocks_of(quant: GGMLQuantizationType, seed: int = 0) -> np.ndarray:
    """[ROWS, row bytes] of quant blocks: quantized from random weights where gguf-py can
    quantize, else random bytes with sensible float16 scales (every byte pattern of codes
    and 6-bit scales is a valid Q4_K block)."""
    rng = np.random.default_rng(seed)
    if quant != GGMLQuantizationType.Q4_K:
        return quantize(rng.standard_normal((ROWS, COLUMNS), dtype=np.float32), quant)
    block_values, block_bytes = GGML_QUANT_SIZES[quant]
    blocks = rng.integers(0, 256, (ROWS, COLUMNS // block_values, block_bytes), dtype=np.uint8)
    scales = rng.uniform(1e-3, 2e-2, (ROWS, COLUMNS // block_values, 2)).astype(np.float16)
    blocks[..., 0:4] = scales.view(np.uint8).reshape(ROWS, -1, 4)  # d, dmin
    return blocks.reshape(ROWS, -1)


def weights_of(codes, scales, zeros) -> np.ndarray:
    groups = codes.reshape(ROWS, -1, 32).astype(np.float32)
    return ((groups - 8) * scales[..., None] + zeros[..., None]).reshape(ROWS, COLUMNS)


@pytest.mark.parametrize("quant", ["Q4_0", "Q4_1", "Q4_K"])
def test_codes_scales_and_zeros_are_the_weights_the_blocks_hold(quant):
    quant = GGMLQuantizationType[quant]
    packed = blocks_of(quant)
    codes, scales, zeros = int4_groups(packed, quant)
    assert codes.shape == (ROWS, COLUMNS) and codes.max() <= 15 and scales.shape == (ROWS, COLUMNS // 32)
    reference = dequantize(packed, quant).reshape(ROWS, COLUMNS)
    # the same values, up to where float32 rounds (q - 8) s + z against s q + m
    np.testing.assert_allclose(weights_of(codes, scales, zeros), reference, rtol=0, atol=1e-6 * np.abs(reference).max())


@pytest.mark.parametrize("quant", ["Q4_0", "Q4_1", "Q4_K"])
def test_the_int4_layer_computes_with_the_blocks_weights_without_expanding_them(quant):
    quant = GGMLQuantizationType[quant]
    packed = blocks_of(quant, seed=1)
    codes, scales, zeros = (torch.from_numpy(a) for a in int4_groups(packed, quant))
    reference = torch.from_numpy(dequantize(packed, quant).reshape(ROWS, COLUMNS))
    bias = torch.randn(ROWS)
    layer = Int4Linear(codes, scales, zeros, 32, bias=bias)
    x = torch.randn(3, 5, COLUMNS)
    torch.testing.assert_close(layer(x), x @ reference.t() + bias, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(layer.dequantized(), reference, rtol=0, atol=1e-6)
    # half a byte a weight, and a scale and a zero (float32) for each 32 of them
    assert layer.weight_bytes() == ROWS * COLUMNS // 2 + ROWS * COLUMNS // 32 * 2 * 4
    assert layer(x.to(torch.bfloat16)).dtype == torch.bfloat16


def test_scales_that_do_not_fit_the_codes_are_refused_with_both_shapes():
    codes = torch.zeros(8, 64, dtype=torch.uint8)
    with pytest.raises(ValueError, match=r"scales and zeros of 8 x 2; got \[8, 4\]"):
        Int4Linear(codes, torch.ones(8, 4), torch.zeros(8, 4), 32)


def test_a_format_that_is_not_4_bit_is_named():
    with pytest.raises(ValueError, match="Q8_0 is not a 4-bit format"):
        int4_groups(np.zeros((1, 34), dtype=np.uint8), GGMLQuantizationType.Q8_0)
