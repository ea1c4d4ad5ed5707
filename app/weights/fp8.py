"""FP8 block-scaled checkpoints, dequantized as they load.

DeepSeek V3/R1/V3.2, Kimi K2, MiMo-V2-Flash (and Qwen3's, MiniMax-M2's -FP8 repositories)
publish each linear weight as float8_e4m3fn with a companion `<name>_scale_inv`: one
float32 multiplier per block of `weight_block_size` (rows x columns, 128 x 128 in every
published config), the last block of a side partial when the side is not a multiple of it
(DeepSeek V3's kv_a_proj_with_mqa has 576 rows: 4.5 blocks). config.json declares it:

    "quantization_config": {"quant_method": "fp8", "fmt": "e4m3",
                            "activation_scheme": "dynamic", "weight_block_size": [128, 128]}

No hardware ArchScope runs on computes in FP8 through plain torch, so each weight becomes
`fp8.float() * scale_inv` over its block, one band of block rows at a time, written in the
run's dtype: a load holds one dequantized tensor at a time, never a second model.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from .errors import WeightsError

SCALE_SUFFIX = "_scale_inv"
# The element formats config.json's "fmt" may name for float8_e4m3fn (DeepSeek writes
# "e4m3", MiniMax-M2 torch's own name).
E4M3_NAMES = ("e4m3", "float8_e4m3fn")
# Scales as published (float32), as some re-uploads store them, or as one exponent byte
# (float8_e8m0fnu, DeepSeek V4's "ue8m0"); each widens to float32 exactly.
SCALE_DTYPES = (torch.float32, torch.bfloat16, torch.float16, torch.float8_e8m0fnu)


def block_size(quantization: dict, config_path: Path) -> tuple[int, int]:
    """The (rows, columns) block of an fp8 quantization_config, after checking every field
    that decides how the weights read; WeightsError names config.json and the field."""

    def refuse(field: str, found, expected: str):
        raise WeightsError(f"{config_path}: quantization_config.{field} is {found!r}; expected {expected}")

    fmt = quantization.get("fmt", "e4m3")
    if fmt not in E4M3_NAMES:
        refuse("fmt", fmt, "'e4m3' (float8_e4m3fn weights)")
    # "static" ships activation scales calibrated for FP8 matmuls: no published family
    # uses it, and it is refused rather than guessed at.
    scheme = quantization.get("activation_scheme", "dynamic")
    if scheme != "dynamic":
        refuse("activation_scheme", scheme, "'dynamic'")
    scale_format = quantization.get("scale_fmt", "float")
    if scale_format not in ("float", "ue8m0"):  # ue8m0: the same scales, rounded to powers of two
        refuse("scale_fmt", scale_format, "'float' or 'ue8m0'")
    block = quantization.get("weight_block_size", [128, 128])
    if not (isinstance(block, list) and len(block) == 2
            and all(isinstance(side, int) and not isinstance(side, bool) and side > 0 for side in block)):
        refuse("weight_block_size", block, "[rows, columns], two positive integers (one scale per block; "
                                           "per-tensor FP8 is not supported)")
    return block[0], block[1]


def scale_shape(weight_shape: torch.Size, block: tuple[int, int]) -> list[int]:
    """One scale per block, the edge blocks counted when partial."""
    *leading, rows, columns = weight_shape
    return [*leading, math.ceil(rows / block[0]), math.ceil(columns / block[1])]


def dequantize(weight: torch.Tensor, scale_inv: torch.Tensor, block: tuple[int, int], dtype: torch.dtype,
               origin: str, name: str) -> torch.Tensor:
    """`weight` (float8_e4m3fn, [..., rows, columns]) times its block's scale, in `dtype`.
    Leading axes (experts stored stacked) carry their own grid of scales."""
    if weight.dim() < 2:
        raise WeightsError(f"{origin}: tensor {name} is {weight.dtype} with shape {list(weight.shape)}; expected a "
                           f"matrix (one {SCALE_SUFFIX} per {block[0]}x{block[1]} block)")
    scale_name = name + SCALE_SUFFIX
    if list(scale_inv.shape) != scale_shape(weight.shape, block):
        raise WeightsError(f"{origin}: tensor {scale_name} has shape {list(scale_inv.shape)}, expected "
                           f"{scale_shape(weight.shape, block)} (one scale per {block[0]}x{block[1]} block of "
                           f"{name}, shape {list(weight.shape)})")
    if scale_inv.dtype not in SCALE_DTYPES:
        raise WeightsError(f"{origin}: tensor {scale_name} is {scale_inv.dtype}; expected float32 scales")
    scales = scale_inv.float()
    rows, columns = weight.shape[-2:]
    result = torch.empty(weight.shape, dtype=dtype)
    for band, start in enumerate(range(0, rows, block[0])):
        stop = min(start + block[0], rows)
        # this band's scales, one per column: each block's scale repeated over its columns,
        # the last block's cut where the matrix ends
        per_column = scales[..., band:band + 1, :].repeat_interleave(block[1], dim=-1)[..., :columns]
        result[..., start:stop, :] = weight[..., start:stop, :].float() * per_column
    return result


class Fp8Checkpoint:
    """A safetensors directory whose FP8 weights read dequantized (their `_scale_inv`
    consumed on the way) and whose other tensors -- embeddings, norms, routers, the
    modules a config leaves unconverted -- read as stored."""

    def __init__(self, tensors, quantization: dict, config_path: Path, dtype: torch.dtype):
        self.tensors = tensors
        self.block = block_size(quantization, config_path)
        self.dtype = dtype
        self.dequantized = 0

    def __contains__(self, name: str) -> bool:
        return name in self.tensors

    def get(self, name: str) -> torch.Tensor:
        tensor = self.tensors.get(name)
        scale_name = name + SCALE_SUFFIX
        origin = str(self.tensors.file_of(name))
        if tensor.dtype == torch.float8_e4m3fn:
            if scale_name not in self.tensors:
                raise WeightsError(f"{origin}: tensor {name} is float8_e4m3fn but the checkpoint has no {scale_name}; "
                                   f"expected one scale per {self.block[0]}x{self.block[1]} block")
            self.dequantized += 1
            return dequantize(tensor, self.tensors.get(scale_name), self.block, self.dtype, origin, name)
        if scale_name in self.tensors or (tensor.dtype.itemsize == 1 and tensor.dtype.is_floating_point):
            raise WeightsError(f"{origin}: tensor {name} is {tensor.dtype}"
                               + (f" with a {scale_name}" if scale_name in self.tensors else "")
                               + "; expected float8_e4m3fn weights with their scales, or unquantized weights")
        return tensor

    def notes(self) -> list[str]:
        return [f"dequantized {self.dequantized} FP8 tensors ({self.block[0]}x{self.block[1]} blocks) to "
                f"{str(self.dtype).removeprefix('torch.')}"] if self.dequantized else []
