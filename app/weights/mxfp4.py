"""MXFP4 expert checkpoints (gpt-oss), dequantized as they load.

gpt-oss publishes each layer's experts.gate_up_proj and experts.down_proj as two tensors
(the OCP Microscaling format, MXFP4), declared by quantization_config
{"quant_method": "mxfp4", ...}:
- `<name>_blocks`, uint8 [E, out, in / 32, 16]: 32 FP4 (e2m1) values per block, two per
  byte, the low nibble the earlier value;
- `<name>_scales`, uint8 [E, out, in / 32]: each block's E8M0 exponent, bias 127, so a
  value is e2m1 * 2 ** (scale - 127).
The blocks run along each expert's input axis (an nn.Linear's [out, in]); transformers'
gpt-oss keeps the experts as [E, in, out] (x @ W), so the tensor read here is transposed
to that layout, the one its save_pretrained writes and the gpt_oss name map reads.

Every e2m1 value times a power of two is exact in float32 and bfloat16, so the tensor
read is exactly the published weight, one tensor at a time.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .errors import WeightsError

BLOCKS_SUFFIX = "_blocks"
SCALES_SUFFIX = "_scales"
VALUES_PER_BLOCK = 32
EXPONENT_BIAS = 127
# e2m1: a sign bit, two exponent bits (bias 1), one mantissa bit; codes 8-15 are 0-7 negated.
E2M1_VALUES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0)


def check_config(quantization: dict, config_path: Path) -> None:
    """The mxfp4 config says nothing that changes how the tensors read (its
    modules_to_not_convert are simply stored unpacked); only a block size other than
    the format's 32 would, should a config ever name one."""
    block = quantization.get("block_size", VALUES_PER_BLOCK)
    if block != VALUES_PER_BLOCK:
        raise WeightsError(f"{config_path}: quantization_config.block_size is {block!r}; expected "
                           f"{VALUES_PER_BLOCK} (MXFP4 scales blocks of 32 values)")


def dequantize(blocks: torch.Tensor, scales: torch.Tensor, dtype: torch.dtype, origin: str,
               name: str) -> torch.Tensor:
    """[..., out, in] in `dtype` from the packed blocks and their exponents."""
    blocks_name, scales_name = name + BLOCKS_SUFFIX, name + SCALES_SUFFIX
    packed_bytes = VALUES_PER_BLOCK // 2
    if blocks.dtype != torch.uint8 or blocks.dim() < 3 or blocks.shape[-1] != packed_bytes:
        raise WeightsError(f"{origin}: tensor {blocks_name} is {blocks.dtype} with shape {list(blocks.shape)}; "
                           f"expected uint8 [..., out, in / {VALUES_PER_BLOCK}, {packed_bytes}] "
                           "(two FP4 values a byte)")
    if scales.dtype != torch.uint8 or scales.shape != blocks.shape[:-1]:
        raise WeightsError(f"{origin}: tensor {scales_name} is {scales.dtype} with shape {list(scales.shape)}; "
                           f"expected uint8 {list(blocks.shape[:-1])} (one exponent per block of {blocks_name})")
    table = torch.tensor(E2M1_VALUES, dtype=torch.float32)
    values = torch.empty(*blocks.shape[:-1], VALUES_PER_BLOCK, dtype=dtype)
    # One expert at a time, so the float32 intermediates stay the size of one expert.
    for expert, (packed, exponents) in enumerate(zip(blocks.reshape(-1, *blocks.shape[-3:]),
                                                     scales.reshape(-1, *scales.shape[-2:]))):
        unpacked = torch.stack((table[(packed & 0x0F).long()], table[(packed >> 4).long()]), dim=-1)
        scaled = torch.ldexp(unpacked.flatten(-2), exponents.int().unsqueeze(-1) - EXPONENT_BIAS)
        values.view(-1, *values.shape[-3:])[expert] = scaled
    return values.flatten(-2).transpose(-1, -2)


class Mxfp4Checkpoint:
    """A safetensors directory whose MXFP4 tensors read dequantized under the name their
    pair stands for (experts.gate_up_proj from gate_up_proj_blocks and _scales), every
    other tensor as stored."""

    def __init__(self, tensors, quantization: dict, config_path: Path, dtype: torch.dtype):
        check_config(quantization, config_path)
        self.tensors = tensors
        self.dtype = dtype
        self.dequantized = 0
        # gpt-oss's gate and up projections both read gate_up_proj, one after the other:
        # the last tensor dequantized is kept for the second read.
        self._last: tuple[str, torch.Tensor] | None = None

    def _packed(self, name: str) -> bool:
        return name + BLOCKS_SUFFIX in self.tensors and name + SCALES_SUFFIX in self.tensors

    def __contains__(self, name: str) -> bool:
        return name in self.tensors or self._packed(name)

    def get(self, name: str) -> torch.Tensor:
        if name in self.tensors or not self._packed(name):
            return self.tensors.get(name)
        if self._last is None or self._last[0] != name:
            self._last = None  # let the previous tensor go before the next is made
            blocks = self.tensors.get(name + BLOCKS_SUFFIX)
            tensor = dequantize(blocks, self.tensors.get(name + SCALES_SUFFIX), self.dtype,
                                str(self.tensors.file_of(name + BLOCKS_SUFFIX)), name)
            self._last = (name, tensor)
            self.dequantized += 1
        return self._last[1]

    def notes(self) -> list[str]:
        return [f"dequantized {self.dequantized} MXFP4 tensors (32-value blocks) to "
                f"{str(self.dtype).removeprefix('torch.')}"] if self.dequantized else []
