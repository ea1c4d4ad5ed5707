"""Checkpoint names of Qwen3.5 / Qwen3.6 (qwen3_5_text, qwen3_5_moe_text), as transformers'
save_pretrained writes the text model: Qwen3-Next's names (qwen3_moe's experts one by one,
mlp.shared_expert_gate) with one difference, the Gated DeltaNet's input projections. Qwen3.5
keeps them apart and in our order -- in_proj_qkv (all q heads, then k, then v: the conv's
order), in_proj_z, in_proj_b (beta) and in_proj_a (decay) -- so nothing is regrouped.

The published checkpoints (Qwen3_5*ForConditionalGeneration) keep the decoder under
model.language_model., which published_names resolves; their vision tower (model.visual)
and multi-token-prediction layer (mtp.*) are left unread.
"""

from __future__ import annotations

from ..spec import ArchSpec
from ..spec.mixers import GatedDeltaNet
from .names_llama import NameMap, llama_lineage
from .names_qwen3_next import qwen3_moe_names

# Our leaf inside a Gated DeltaNet mixer -> the checkpoint's leaf under linear_attn.
DELTANET_NAMES = {
    "qkv_proj.weight": "in_proj_qkv.weight",
    "output_gate_proj.weight": "in_proj_z.weight",
    "beta_proj.weight": "in_proj_b.weight",
    "decay_proj.weight": "in_proj_a.weight",
    "conv.weight": "conv1d.weight",
    "A_log": "A_log",
    "dt_bias": "dt_bias",
    "norm.weight": "norm.weight",
    "out_proj.weight": "out_proj.weight",
}


def qwen3_5_lineage(base):
    """`base`'s names (the Llama lineage for the dense model, Qwen3 MoE's for the MoE one)
    with the Gated DeltaNet's and the shared expert's gate put right."""

    def name_map(spec: ArchSpec, our_names: list[str]) -> NameMap:
        mapping = base(spec, our_names)
        for ours in mapping:
            parts = ours.split(".")
            if parts[0] != "layers":
                continue
            index, module, rest = int(parts[1]), parts[2], ".".join(parts[3:])
            prefix = f"model.layers.{index}"
            if module == "ffn" and rest == "shared_gate.weight":
                mapping[ours] = (f"{prefix}.mlp.shared_expert_gate.weight", None)
            elif module == "mixer" and isinstance(spec.layers[index].mixer, GatedDeltaNet):
                mapping[ours] = (f"{prefix}.linear_attn.{DELTANET_NAMES[rest]}", None)
        return mapping

    return name_map


NAME_MAPS = {"qwen3_5_text": qwen3_5_lineage(llama_lineage), "qwen3_5_moe_text": qwen3_5_lineage(qwen3_moe_names)}
