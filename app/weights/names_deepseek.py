"""Checkpoint names of the DeepSeek lineage: DeepSeek V3 (and Kimi K2, Mistral Large 3 in
DeepSeek names), DeepSeek V3.2, GLM-4.5, MiMo-V2-Flash and Mistral Small 4 (mistral4).

They keep the Llama lineage's layout (model.layers.N.self_attn / mlp, input_layernorm,
post_attention_layernorm); what differs is inside the attention -- MLA's low-rank
projections and the sparse indexer -- and the experts of the MoE layers.
"""

from __future__ import annotations

from ..spec import ArchSpec
from ..spec.mixers import MultiHeadLatentAttention
from .names_llama import NameMap
from .names_moe import LINEAR_LEAVES, moe_lineage, per_expert

# Our module path inside a mixer -> the checkpoint's, where they differ.
MLA_NAMES = {
    "q_down_proj": "q_a_proj",
    "q_norm": "q_a_layernorm",
    "q_up_proj": "q_b_proj",
    "kv_down_proj": "kv_a_proj_with_mqa",
    "kv_norm": "kv_a_layernorm",
    "kv_up_proj": "kv_b_proj",
    # DeepSeek sparse attention's lightning indexer
    "indexer.q_proj": "indexer.wq_b",
    "indexer.k_proj": "indexer.wk",
    "indexer.head_weights": "indexer.weights_proj",
}
ATTENTION_NAMES = {"sinks": "attention_sink_bias"}  # MiMo-V2-Flash's sliding layers
# The feed-forward: mlp.gate routes (its e_score_correction_bias beside it), each expert is
# saved on its own (experts.N.gate_proj ...), the shared experts are one MLP.
llama_names_with_experts = moe_lineage("mlp", "gate", per_expert(LINEAR_LEAVES), shared="shared_experts",
                                       correction_bias="gate.e_score_correction_bias")


def _rename(rest: str, names: dict[str, str]) -> str:
    """Rename the longest leading module path of `rest` that `names` knows."""
    for ours in sorted(names, key=len, reverse=True):
        if rest == ours or rest.startswith(ours + "."):
            return names[ours] + rest[len(ours):]
    return rest


def deepseek_lineage(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping = llama_names_with_experts(spec, our_names)
    for ours, (theirs, transform) in mapping.items():
        if ours.split(".")[2:3] != ["mixer"]:
            continue  # the experts' entries are tuples of names
        prefix, separator, rest = theirs.partition(".self_attn.")
        if separator:
            mixer = spec.layers[int(ours.split(".")[1])].mixer
            names = MLA_NAMES if isinstance(mixer, MultiHeadLatentAttention) else ATTENTION_NAMES
            mapping[ours] = (prefix + separator + _rename(rest, names), transform)
    return mapping


NAME_MAPS = {model_type: deepseek_lineage
             for model_type in ("deepseek_v3", "deepseek_v32", "glm4_moe", "glm_moe_dsa", "mimo_v2_flash",
                               "mistral4")}
