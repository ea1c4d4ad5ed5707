"""Checkpoint names of Qwen3-Next (Qwen/Qwen3-Next-80B-A3B, and what transformers'
save_pretrained writes for qwen3_next: the published layout).

Qwen3 MoE's names (experts saved one by one, the router as mlp.gate, the shared expert as
mlp.shared_expert) plus the sigmoid gate of the shared expert, mlp.shared_expert_gate.
Full-attention layers are self_attn as in the Llama lineage; Gated DeltaNet layers are
linear_attn, whose two input projections are fused the Megatron way: in_proj_qkvz holds,
for each key head in turn, that head's q and k rows followed by the v and z rows of the
value heads that share it; in_proj_ba likewise holds beta then decay rows per key head.
Our projections keep q, k, v (the conv's channel order) and z, beta, decay apart, so the
map regroups those rows; the short conv (conv1d) is already in q | k | v order.
"""

from __future__ import annotations

import torch

from ..spec import ArchSpec
from ..spec.mixers import GatedDeltaNet
from .errors import WeightsError
from .names_llama import NameMap
from .names_moe import LINEAR_LEAVES, moe_lineage, per_expert

qwen3_moe_names = moe_lineage("mlp", "gate", per_expert(LINEAR_LEAVES))

# Our leaf inside a Gated DeltaNet mixer -> (checkpoint leaf, which part of it).
DELTANET_NAMES = {
    "qkv_proj.weight": ("in_proj_qkvz.weight", "qkv"),
    "output_gate_proj.weight": ("in_proj_qkvz.weight", "z"),
    "beta_proj.weight": ("in_proj_ba.weight", "beta"),
    "decay_proj.weight": ("in_proj_ba.weight", "decay"),
    "conv.weight": ("conv1d.weight", None),
    "A_log": ("A_log", None),
    "dt_bias": ("dt_bias", None),
    "norm.weight": ("norm.weight", None),
    "out_proj.weight": ("out_proj.weight", None),
}


def grouped_rows(mixer: GatedDeltaNet, part: str, name: str):
    """Take one of our projections out of a fused in_proj_qkvz / in_proj_ba tensor."""
    key_heads, key_dim, value_dim = mixer.num_key_heads, mixer.key_head_dim, mixer.value_head_dim
    group = mixer.num_value_heads // key_heads  # value heads per key head
    if part in ("qkv", "z"):
        widths = [key_dim, key_dim, group * value_dim, group * value_dim]  # q, k, v, z of one key head
    else:
        widths = [group, group]  # beta, decay

    def take(tensor: torch.Tensor) -> torch.Tensor:
        rows = key_heads * sum(widths)
        if tensor.dim() != 2 or tensor.shape[0] != rows:
            raise WeightsError(f"tensor {name} has shape {list(tensor.shape)}, expected [{rows}, d_model]")
        pieces = tensor.view(key_heads, sum(widths), tensor.shape[1]).split(widths, dim=1)
        flat = [piece.reshape(-1, tensor.shape[1]) for piece in pieces]  # all heads of one part
        chosen = {"qkv": flat[:3], "z": flat[3:], "beta": flat[:1], "decay": flat[1:]}[part]
        return torch.cat(chosen)

    return take


def qwen3_next(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping = qwen3_moe_names(spec, our_names)
    for ours, (theirs, transform) in mapping.items():
        parts = ours.split(".")
        if parts[0] != "layers":
            continue
        index, module, rest = int(parts[1]), parts[2], ".".join(parts[3:])
        prefix = f"model.layers.{index}"
        mixer = spec.layers[index].mixer
        if module == "ffn" and rest == "shared_gate.weight":
            mapping[ours] = (f"{prefix}.mlp.shared_expert_gate.weight", None)
        elif module == "mixer" and isinstance(mixer, GatedDeltaNet):
            leaf, part = DELTANET_NAMES[rest]
            name = f"{prefix}.linear_attn.{leaf}"
            mapping[ours] = (name, grouped_rows(mixer, part, name) if part else None)
    return mapping


NAME_MAPS = {"qwen3_next": qwen3_next}
