"""Checkpoint names of the mixture-of-experts lineages outside DeepSeek's: Qwen3 MoE,
gpt-oss, Llama 4 (text), MiniMax-M2 and Laguna, as transformers' save_pretrained writes them.

All keep the Llama lineage's attention, norm and embedding names; they differ in what the
feed-forward is called and how the experts are stored. Our experts are stacked [E, out,
in] (each slice an nn.Linear weight), so:
- per-expert tensors (Qwen3 MoE's experts.N.gate_proj, MiniMax-M2's experts.N.w1/w3/w2)
  are listed as a tuple that the loader stacks;
- fused tensors are sliced: gpt-oss stores gate_up_proj [E, d, 2I] with gate and up in
  alternating columns (plus biases), Llama 4 stores gate_up_proj [E, d, 2I] as two halves;
  both store down_proj [E, I, d], the transpose of ours.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..spec import ArchSpec
from ..spec.ffn import MoE
from .names_llama import NameMap, Transform, llama_lineage

# How one lineage stores a stacked expert tensor: (our leaf, layer's ffn prefix, experts) ->
# (checkpoint name(s), transform).
ExpertNames = Callable[[str, str, int], tuple[str | tuple[str, ...], Transform]]



def router_bias_buffers(spec: ArchSpec) -> list[str]:
    """Our names of the routers' score-correction biases the spec says exist: buffers, so not
    among a model's parameter names, yet loaded from the checkpoint like them."""
    return [f"layers.{i}.ffn.router.score_correction_bias" for i, layer in enumerate(spec.layers)
            if isinstance(layer.ffn, MoE) and layer.ffn.router.score_correction_bias]

def per_expert(leaves: dict[str, str]) -> ExpertNames:
    """Each expert saved on its own, experts.N.<leaf>."""

    def names(ours: str, prefix: str, count: int):
        return tuple(f"{prefix}.experts.{e}.{leaves[ours]}" for e in range(count)), None

    return names


def _transposed(take: Callable[[torch.Tensor], torch.Tensor]) -> Transform:
    return lambda tensor: take(tensor).transpose(1, 2)


def fused_gate_up(interleaved: bool, biases: bool) -> ExpertNames:
    """gate_up_proj [E, d, 2I] and down_proj [E, I, d] (with _bias tensors when biases):
    gate and up alternate column by column when interleaved, else are the two halves."""

    def gate(tensor):
        return tensor[..., 0::2] if interleaved else tensor[..., :tensor.shape[-1] // 2]

    def up(tensor):
        return tensor[..., 1::2] if interleaved else tensor[..., tensor.shape[-1] // 2:]

    table = {
        "gate_proj": ("gate_up_proj", _transposed(gate)),
        "up_proj": ("gate_up_proj", _transposed(up)),
        "down_proj": ("down_proj", _transposed(lambda tensor: tensor)),
    }
    if biases:
        table |= {"gate_bias": ("gate_up_proj_bias", gate), "up_bias": ("gate_up_proj_bias", up),
                  "down_bias": ("down_proj_bias", None)}

    def names(ours: str, prefix: str, count: int):
        theirs, transform = table[ours]
        return f"{prefix}.experts.{theirs}", transform

    return names


def moe_lineage(ffn: str, router: str, experts: ExpertNames, shared: str = "shared_expert",
                correction_bias: str = "e_score_correction_bias"):
    """A name map for a lineage whose layer keeps its feed-forward under `ffn` (dense MLPs
    included), the router projection under `router`, the shared expert under `shared` and
    the router's score-correction bias as `correction_bias`, both relative to `ffn`."""

    def name_map(spec: ArchSpec, our_names: list[str]) -> NameMap:
        mapping = llama_lineage(spec, our_names)
        for ours in [*our_names, *router_bias_buffers(spec)]:
            parts = ours.split(".")
            if parts[0] != "layers" or parts[2] != "ffn":
                continue
            index, rest = int(parts[1]), ".".join(parts[3:])
            prefix = f"model.layers.{index}.{ffn}"
            module, _, leaf = rest.partition(".")
            if module == "router":
                theirs = f"{prefix}.{correction_bias}" if leaf == "score_correction_bias" else \
                    f"{prefix}.{router}.{leaf.removeprefix('proj.')}"
                mapping[ours] = (theirs, None)
            elif module == "experts":
                mapping[ours] = experts(leaf, prefix, spec.layers[index].ffn.num_experts)
            elif module == "shared":
                mapping[ours] = (f"{prefix}.{shared}.{leaf}", None)
            else:  # a dense layer's MLP
                mapping[ours] = (f"{prefix}.{rest}", None)
        return mapping

    return name_map


LINEAR_LEAVES = {"gate_proj": "gate_proj.weight", "up_proj": "up_proj.weight", "down_proj": "down_proj.weight"}


def _afmoe(spec: ArchSpec, our_names: list[str]) -> NameMap:
    """AFMoE (Arcee's Trinity): Qwen3 MoE's per-expert names, the router under router.gate with
    its expert_bias beside the experts, the shared MLP as shared_experts; the attention's sigmoid
    gate is self_attn.gate_proj and the norms after the mixer and around the MLP are
    post_attention_layernorm, pre_mlp_layernorm and post_mlp_layernorm."""
    mapping = moe_lineage("mlp", "router.gate", per_expert(LINEAR_LEAVES), shared="shared_experts",
                          correction_bias="expert_bias")(spec, our_names)
    renamed = {".self_attn.g_proj.": ".self_attn.gate_proj.",
               ".pre_feedforward_layernorm.": ".pre_mlp_layernorm.",
               ".post_feedforward_layernorm.": ".post_mlp_layernorm."}
    for ours, (theirs, transform) in mapping.items():
        if isinstance(theirs, str):
            for old, new in renamed.items():
                theirs = theirs.replace(old, new)
            mapping[ours] = (theirs, transform)
    return mapping


NAME_MAPS = {
    "qwen3_moe": moe_lineage("mlp", "gate", per_expert(LINEAR_LEAVES)),
    "gpt_oss": moe_lineage("mlp", "router", fused_gate_up(interleaved=True, biases=True)),
    "llama4_text": moe_lineage("feed_forward", "router", fused_gate_up(interleaved=False, biases=False)),
    # MiniMax (Mixtral's names): w1 the gate, w3 the up, w2 the down projection.
    "minimax_m2": moe_lineage("block_sparse_moe", "gate",
                              per_expert({"gate_proj": "w1.weight", "up_proj": "w3.weight", "down_proj": "w2.weight"})),
    # Laguna (Poolside's checkpoints): Qwen3 MoE's per-expert names with one shared_expert, the
    # router's correction bias kept beside the experts; the softplus gate is self_attn.g_proj
    "afmoe": _afmoe,
    # Mellum (JetBrains' Mellum2): Qwen3 MoE's names, layer for layer
    "mellum": moe_lineage("mlp", "gate", per_expert(LINEAR_LEAVES)),
    "laguna": moe_lineage("mlp", "gate", per_expert(LINEAR_LEAVES),
                          correction_bias="experts.e_score_correction_bias"),
    # Hy3 (Tencent's names, which transformers' hy_v3 renames on loading and back on saving): the
    # router under router.gate, its correction bias as expert_bias, the shared expert as shared_mlp
    "hy_v3": moe_lineage("mlp", "router.gate", per_expert(LINEAR_LEAVES), shared="shared_mlp",
                         correction_bias="expert_bias"),
    # Cohere2 MoE (Command A+): the router as mlp.gate, the shared experts as one
    # mlp.shared_experts MLP; per-expert names, or transformers 5's fused gate_up_proj and
    # down_proj, which the loader reads in their place (published_names.FUSED_EXPERTS)
    "cohere2_moe": moe_lineage("mlp", "gate", per_expert(LINEAR_LEAVES), shared="shared_experts"),
}
