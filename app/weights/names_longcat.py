"""Checkpoint names of LongCat-Flash (longcat_flash) and LongCat-Flash-Lite
(longcat_flash_ngram): Meituan's module names, which transformers' longcat_flash keeps.

One published layer i holds two of our layers, 2i and 2i+1 (app/spec/hf/longcat_flash.py):
its two MLAs (self_attn.0 and .1), their norms (input_layernorm.s, post_attention_layernorm.s)
and dense MLPs (mlps.s), and one MoE (mlp) that our layer 2i holds, mlps.0 as its shared
expert. The experts are saved one by one (mlp.experts.N.gate_proj ...) and routed by
mlp.router.classifier, its score-correction bias mlp.router.e_score_correction_bias. Lite's
N-gram tables and projections are model.ngram_embeddings.embedders.N / post_projs.N.
"""

from __future__ import annotations

from ..spec import ArchSpec
from ..spec.ffn import MoE
from .names_deepseek import MLA_NAMES, _rename
from .names_llama import NameMap
from .names_moe import router_bias_buffers

NORM_NAMES = {"pre_mixer_norm": "input_layernorm", "pre_ffn_norm": "post_attention_layernorm"}
EXPERT_LEAVES = ("gate_proj", "up_proj", "down_proj")

# Our pseudo-names (no parameter holds them, so no loader reads them) for what transformers
# 5.18's save_pretrained writes beside the real experts: its fused gate_up_proj is allocated
# for the real and the zero experts, so experts.E .. E+Z-1 get a gate_proj and an up_proj
# that no forward reads (an identity slot has no weights; Meituan's checkpoints hold none).
# tests/parity lists them so the whole of such a checkpoint is accounted for.
ZERO_EXPERT_LEAVES = ("gate_proj", "up_proj")


def transformers_zero_expert_names(spec: ArchSpec) -> list[str]:
    return [f"layers.{index}.ffn.zero_experts.{leaf}" for index, layer in enumerate(spec.layers)
            if isinstance(layer.ffn, MoE) and layer.ffn.zero_experts for leaf in ZERO_EXPERT_LEAVES]


def longcat_lineage(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping: NameMap = {}
    for ours in [*our_names, *router_bias_buffers(spec)]:  # the bias buffers load like parameters
        parts = ours.split(".")
        if parts[0] == "layers":
            index, module, rest = int(parts[1]), parts[2], ".".join(parts[3:])
            published, sublayer = divmod(index, 2)
            prefix = f"model.layers.{published}"
            if module == "mixer":
                theirs = f"{prefix}.self_attn.{sublayer}.{_rename(rest, MLA_NAMES)}"
            elif module in NORM_NAMES:
                theirs = f"{prefix}.{NORM_NAMES[module]}.{sublayer}.{rest}"
            elif not isinstance(spec.layers[index].ffn, MoE):  # the second sublayer's MLP
                theirs = f"{prefix}.mlps.{sublayer}.{rest}"
            else:
                theirs = _moe_name(spec.layers[index].ffn, prefix, rest)
        elif parts[0] == "final_norm":
            theirs = "model.norm." + parts[-1]
        elif parts[0] in ("embed_tokens", "ngram_embeddings"):
            theirs = f"model.{ours}"
        else:
            theirs = ours  # lm_head.weight
        mapping[ours] = (theirs, None)
    return mapping


def _moe_name(moe: MoE, prefix: str, rest: str) -> str | tuple[str, ...]:
    part, _, leaf = rest.partition(".")
    if part == "shared":  # the first dense MLP
        return f"{prefix}.mlps.0.{leaf}"
    if part == "router":
        return f"{prefix}.mlp.router." + ("e_score_correction_bias" if leaf == "score_correction_bias"
                                          else "classifier." + leaf.removeprefix("proj."))
    if part == "experts" and leaf in EXPERT_LEAVES:
        return tuple(f"{prefix}.mlp.experts.{e}.{leaf}.weight" for e in range(moe.num_experts))
    if part == "zero_experts" and leaf in ZERO_EXPERT_LEAVES:
        return tuple(f"{prefix}.mlp.experts.{e}.{leaf}.weight"
                     for e in range(moe.num_experts, moe.routing_slots))
    raise KeyError(f"{prefix}.mlp: no LongCat checkpoint name for our {rest}")


NAME_MAPS = {"longcat_flash": longcat_lineage, "longcat_flash_ngram": longcat_lineage}
