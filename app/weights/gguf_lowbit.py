"""`--weights native` for a GGUF file: which of the model's matrices stay in the file's low
bits (app/model/lowbit.py), and reading them in.

A matrix stays low-bit where its tensor is in a format with a low-bit layout
(gguf_blocks.LAYOUTS), the run is on the CPU, the kernel can run here, and the module is a
plain linear that only its forward reads (attention and MLP projections, the token
embedding and the output head). Everything else is expanded to floats as before, and the
load says which tensors were and why, in one line per reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..defaults import WEIGHTS_CHOICES
from ..model import lowbit_kernel
from ..model.decoder import DecoderModel
from ..model.lowbit import LowBitEmbedding, LowBitLinear
from .gguf_blocks import LAYOUTS, lowbit_rows
from .gguf_names import gguf_name, gguf_transform
from .gguf_reader import GGUFFile, TensorInfo

# rows of about 256k values converted at a time: the conversion's float temporaries are a few
# times the chunk, and what the allocator keeps of them counts in the resident memory
CHUNK_VALUES = 1 << 18
# Modules whose weight only their own forward reads: safe to replace by a low-bit layer.
_LINEAR_SUFFIXES = ("mixer.q_proj", "mixer.k_proj", "mixer.v_proj", "mixer.o_proj",
                    "ffn.gate_proj", "ffn.up_proj", "ffn.down_proj")


@dataclass
class LowBitPlan:
    """Our module name -> its GGUF tensor, for the matrices kept low-bit."""
    file: GGUFFile
    matrices: dict[str, TensorInfo] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def install(self, model: DecoderModel) -> None:
        """Replace the planned modules of a model on "meta" (nothing allocated yet)."""
        for name, info in self.matrices.items():
            layout = LAYOUTS[info.quant]
            rows, columns = info.shape
            scale_dtype = torch.float16 if layout.scale_dtype == np.float16 else torch.float32
            bias = getattr(model.get_submodule(name), "bias", None)
            matrix = LowBitLinear(rows, columns, layout.bits, layout.group, scale_dtype, layout.has_offset,
                                  device="meta", bias_dtype=bias.dtype if bias is not None else None)
            if name == "embed_tokens":
                matrix = LowBitEmbedding(matrix, model.embed_tokens.weight.dtype)
            model.set_submodule(name, matrix)

    @torch.no_grad()
    def fill(self, model: DecoderModel) -> None:
        architecture = self.file.metadata.get("general.architecture")
        for name, info in self.matrices.items():
            module = model.get_submodule(name)
            layer = module.matrix if isinstance(module, LowBitEmbedding) else module
            transform = gguf_transform(model, f"{name}.weight", architecture)
            step = max(1, CHUNK_VALUES // info.shape[-1])
            whole = transform is not None  # a permutation of rows needs them all at once
            for start in range(0, info.shape[0], info.shape[0] if whole else step):
                stop = info.shape[0] if whole else min(start + step, info.shape[0])
                rows = lowbit_rows(self.file.packed_rows(info, start, stop), info.quant)
                parts = [("codes", rows.codes), ("scales", rows.scales), ("offsets", rows.offsets)]
                for buffer, values in parts:
                    if values is None:
                        continue
                    tensor = torch.from_numpy(values)
                    getattr(layer, buffer)[start:stop].copy_(transform(tensor) if whole else tensor)


def plan_lowbit(file: GGUFFile, model: nn.Module, device: torch.device | str, weights: str) -> LowBitPlan:
    """Which of `model`'s matrices (a model on "meta" of the file's spec) stay low-bit."""
    if weights not in WEIGHTS_CHOICES:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS_CHOICES)}, not {weights!r}")
    plan = LowBitPlan(file)
    candidates = [name for name, module in model.named_modules()
                  if (name.endswith(_LINEAR_SUFFIXES) and isinstance(module, nn.Linear))
                  or name == "embed_tokens" or (name == "lm_head" and not model.spec.tie_embeddings)]
    quantized = {name: file.tensors.get(gguf_name(f"{name}.weight")) for name in candidates}
    quantized = {name: info for name, info in quantized.items() if info is not None and info.quant.name
                 not in ("F32", "F16", "BF16")}
    if weights == "dequantize" or not quantized:
        return plan
    reason = _why_not_here(device)
    if reason is not None:
        plan.notes.append(f"weights expanded to floats: {reason}")
        return plan
    expanded = Counter()
    for name, info in quantized.items():
        if info.quant in LAYOUTS:
            plan.matrices[name] = info
        else:
            expanded[info.quant.name] += 1
    kept = Counter(info.quant.name for info in plan.matrices.values())
    plan.notes.append("kept low-bit: " + ", ".join(f"{count} {quant}" for quant, count in sorted(kept.items())))
    if expanded:
        plan.notes.append("expanded to floats (no low-bit layout for the format): "
                          + ", ".join(f"{count} {quant}" for quant, count in sorted(expanded.items())))
    return plan


def _why_not_here(device: torch.device | str) -> str | None:
    if torch.device(device).type != "cpu":
        return f"low-bit weights run on the CPU only (this run is on {torch.device(device)})"
    return lowbit_kernel.unavailable()
