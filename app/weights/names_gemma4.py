"""Checkpoint names of Gemma 4's text model (google/gemma-4-*, and what transformers'
save_pretrained writes for gemma4_text and gemma4_unified_text).

The Llama lineage's sandwich-norm names for attention, MLP and norms; Gemma 3n's names for
the per-layer embeddings (the same modules under the same names); and per layer the
learned output scalar, a buffer the checkpoint stores as `layer_scalar`.

The 26B-A4B's mixture of experts sits beside the dense MLP directly under the layer, not
inside `mlp`: `router` (its projection, the input norm's `scale`, `per_expert_scale`),
`experts.gate_up_proj` [E, 2I, d] (the gate the first I rows of each expert, the up
projection the rest: ours stacked apart, each [E, I, d]) and `experts.down_proj` [E, d, I]
(ours as is), and three more norms: `pre_feedforward_layernorm_2` before the experts,
`post_feedforward_layernorm_2` after them and `post_feedforward_layernorm_1` after the dense
MLP, which keeps its `mlp` names.
"""

from __future__ import annotations

import torch

from ..spec import ArchSpec
from ..spec.ffn import MoE
from .names_gemma3n import gemma3n
from .names_llama import NameMap


def _gate_rows(tensor: torch.Tensor) -> torch.Tensor:
    return tensor[:, :tensor.shape[1] // 2]


def _up_rows(tensor: torch.Tensor) -> torch.Tensor:
    return tensor[:, tensor.shape[1] // 2:]


# Inside an MoE layer: our name under layers.N.ffn -> (the checkpoint's under model.layers.N, transform)
MOE_NAMES = {
    "router.proj.weight": ("router.proj.weight", None),
    "router.input_norm.weight": ("router.scale", None),
    "router.per_expert_scale": ("router.per_expert_scale", None),
    "experts.gate_proj": ("experts.gate_up_proj", _gate_rows),
    "experts.up_proj": ("experts.gate_up_proj", _up_rows),
    "experts.down_proj": ("experts.down_proj", None),
    "experts_pre_norm.weight": ("pre_feedforward_layernorm_2.weight", None),
    "experts_post_norm.weight": ("post_feedforward_layernorm_2.weight", None),
    "shared_post_norm.weight": ("post_feedforward_layernorm_1.weight", None),
}


def gemma4(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping = gemma3n(spec, our_names)
    for index, layer in enumerate(spec.layers):
        if layer.scaled_output:
            mapping[f"layers.{index}.output_scale"] = (f"model.layers.{index}.layer_scalar", None)
    for ours in our_names:
        parts = ours.split(".", 3)
        if parts[0] != "layers" or parts[2] != "ffn" or not isinstance(spec.layers[int(parts[1])].ffn, MoE):
            continue
        prefix, inner = f"model.layers.{parts[1]}", parts[3]
        if inner.startswith("shared."):  # the dense MLP beside the experts
            mapping[ours] = (f"{prefix}.mlp.{inner.removeprefix('shared.')}", None)
        else:
            theirs, transform = MOE_NAMES[inner]
            mapping[ours] = (f"{prefix}.{theirs}", transform)
    return mapping


NAME_MAPS = {"gemma4_text": gemma4, "gemma4_unified_text": gemma4}
