"""`--weights native` for a GGUF file: which of the model's matrices stay in the file's low
bits (app/model/lowbit.py), and reading them in.

A matrix stays low-bit where its tensor is in a format with a low-bit layout
(gguf_blocks.LAYOUTS), the run is on the CPU, the kernel can run here, and the module is a
plain linear that only its forward reads (attention and MLP projections, the token
embedding and the output head) or a layer's routed experts, whose stacked
ffn_{gate,up,down}_exps tensors become app/model/lowbit_experts.py's LowBitExperts when all
of them have a layout (each may have its own: Q4_K_M files keep some layers' down
projections in Q6_K). Everything else is expanded to floats as before, and the load says
which tensors were and why, in one line per reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..defaults import WEIGHTS_CHOICES
from ..model import cpu_kernels
from ..model.decoder import DecoderModel
from ..model.experts import RoutedExperts
from ..model.lowbit import LowBitEmbedding, LowBitLinear
from ..model.lowbit_experts import LowBitExperts
from .gguf_blocks import LAYOUTS, lowbit_rows
from .gguf_names import gguf_name, gguf_transform
from .gguf_reader import GGUFFile, TensorInfo
from .loader import check_shape

# rows of about 256k values converted at a time: the conversion's float temporaries are a few
# times the chunk, and what the allocator keeps of them counts in the resident memory
CHUNK_VALUES = 1 << 18
# Modules whose weight only their own forward reads: safe to replace by a low-bit layer.
_LINEAR_SUFFIXES = ("mixer.q_proj", "mixer.k_proj", "mixer.v_proj", "mixer.o_proj",
                    "ffn.gate_proj", "ffn.up_proj", "ffn.down_proj")


@dataclass
class LowBitPlan:
    """Our module name -> its GGUF tensor, for the matrices kept low-bit. A routed expert
    projection is named as the LowBitLinear that will hold it ("layers.3.ffn.experts.up_proj")
    and `experts` names the routed-experts modules that become LowBitExperts."""
    file: GGUFFile
    matrices: dict[str, TensorInfo] = field(default_factory=dict)
    experts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def install(self, model: DecoderModel) -> None:
        """Replace the planned modules of a model on "meta" (nothing allocated yet)."""
        for name in self.experts:
            routed = model.get_submodule(name)
            moe = model.get_submodule(name.rsplit(".", 1)[0])
            projections = {projection: _lowbit_linear(self.matrices[f"{name}.{projection}"])
                           for projection in routed.held_matrices()}
            model.set_submodule(name, LowBitExperts(routed.num_experts, moe.spec.expert, projections.get("gate_proj"),
                                                    projections["up_proj"], projections["down_proj"]))
        for name, info in self.matrices.items():
            if name.rsplit(".", 1)[0] in self.experts:
                continue
            bias = getattr(model.get_submodule(name), "bias", None)
            matrix = _lowbit_linear(info, bias.dtype if bias is not None else None)
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
            # Stacked experts are read as the rows of every expert one under another, the
            # layout LowBitExperts holds them in, a chunk at a time as any matrix: a 30B file
            # never needs a float copy of a whole tensor.
            total = layer.out_features
            step = max(1, CHUNK_VALUES // info.shape[-1])
            whole = transform is not None  # a permutation of rows needs them all at once
            for start in range(0, total, total if whole else step):
                stop = total if whole else min(start + step, total)
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
    quantized = {name: info for name, info in quantized.items() if info is not None and _is_quantized(info)}
    # routed experts: their module name -> {projection: its stacked tensor}, where any is quantized
    stacked = {name: {projection: file.tensors.get(gguf_name(f"{name}.{projection}"))
                      for projection in module.held_matrices()}
               for name, module in model.named_modules() if isinstance(module, RoutedExperts)}
    stacked = {name: infos for name, infos in stacked.items()
               if any(info is not None and _is_quantized(info) for info in infos.values())}
    if weights == "dequantize" or not (quantized or stacked):
        return plan
    reason = _why_not_here(device)
    if reason is not None:
        plan.notes.append(f"weights expanded to floats: {reason}")
        return plan
    for name, info in quantized.items():
        check_shape(file, info, model.get_submodule(name).weight)
    for name, infos in stacked.items():
        for projection, info in infos.items():
            if info is not None:
                check_shape(file, info, getattr(model.get_submodule(name), projection))
    expanded = Counter()
    for name, info in quantized.items():
        if info.quant in LAYOUTS:
            plan.matrices[name] = info
        else:
            expanded[info.quant.name] += 1
    experts_expanded = Counter()  # why -> layers
    for name, infos in stacked.items():
        why = _why_experts_expand(model.get_submodule(name), infos)
        if why is None:
            plan.experts.append(name)
            plan.matrices |= {f"{name}.{projection}": info for projection, info in infos.items()}
        else:
            experts_expanded[why] += 1
    kept = Counter(info.quant.name for info in plan.matrices.values())
    plan.notes.append("kept low-bit: " + ", ".join(f"{count} {quant}" for quant, count in sorted(kept.items())))
    if expanded:
        plan.notes.append("expanded to floats (no low-bit layout for the format): "
                          + ", ".join(f"{count} {quant}" for quant, count in sorted(expanded.items())))
    if plan.experts:
        plan.notes.append(f"routed experts kept low-bit in {len(plan.experts)} of {len(stacked)} MoE layers")
    for why, layers in sorted(experts_expanded.items()):
        plan.notes.append(f"routed experts expanded to floats in {layers} of {len(stacked)} MoE layers: {why}")
    return plan


def _is_quantized(info: TensorInfo) -> bool:
    return info.quant.name not in ("F32", "F16", "BF16")


def _why_experts_expand(experts: RoutedExperts, infos: dict[str, TensorInfo | None]) -> str | None:
    """Why a layer's routed experts cannot be LowBitExperts, or None when they can."""
    if any(info is None for info in infos.values()):
        return "a stacked expert tensor is missing"  # the float fill then names it
    if any(bias is not None for bias in (experts.gate_bias, experts.up_bias, experts.down_bias)):
        return "the experts have biases"
    missing = sorted({info.quant.name for info in infos.values() if info.quant not in LAYOUTS})
    if missing:
        return f"no low-bit layout for {', '.join(missing)}"
    return None


def _lowbit_linear(info: TensorInfo, bias_dtype: torch.dtype | None = None) -> LowBitLinear:
    """A LowBitLinear on "meta" for the tensor: a stacked one [experts, out, in] as its
    experts' matrices one under another."""
    layout = LAYOUTS[info.quant]
    rows = int(np.prod(info.shape[:-1]))
    scale_dtype = torch.float16 if layout.scale_dtype == np.float16 else torch.float32
    return LowBitLinear(rows, info.shape[-1], layout.bits, layout.group, scale_dtype, layout.has_offset,
                        device="meta", bias_dtype=bias_dtype)


def _why_not_here(device: torch.device | str) -> str | None:
    if torch.device(device).type != "cpu":
        return f"low-bit weights run on the CPU only (this run is on {torch.device(device)})"
    return cpu_kernels.unavailable()
