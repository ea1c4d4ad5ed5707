"""Checkpoint names of Kimi Linear (moonshotai/Kimi-Linear-48B-A3B, and what transformers'
save_pretrained writes for kimi_linear: the published layout).

The Llama lineage's layout (model.layers.N.self_attn, input_layernorm,
post_attention_layernorm) with:
- every feed-forward, dense or MoE, under block_sparse_moe; experts saved one by one in
  Mixtral's names (w1 gate, w3 up, w2 down), the router as gate (its correction bias
  beside its weight), the shared experts as one MLP;
- MLA layers in DeepSeek's names;
- Kimi Delta Attention layers in FLA's names (f_a/f_b the forget gate, g_a/g_b the output
  gate, one short conv per q, k, v); A_log is stored [1, 1, heads, 1].
"""

from __future__ import annotations

from ..spec import ArchSpec
from ..spec.mixers import KimiDeltaAttention, MultiHeadLatentAttention
from .names_llama import NameMap
from .names_deepseek import MLA_NAMES, _rename
from .names_moe import moe_lineage, per_expert

# Our module path inside a Kimi Delta Attention mixer -> the checkpoint's, where they differ.
KDA_NAMES = {
    "q_conv": "q_conv1d",
    "k_conv": "k_conv1d",
    "v_conv": "v_conv1d",
    "decay_down_proj": "f_a_proj",
    "decay_up_proj": "f_b_proj",
    "decay_bias": "dt_bias",
    "decay_log_rate": "A_log",
    "beta_proj": "b_proj",
    "gate_down_proj": "g_a_proj",
    "gate_up_proj": "g_b_proj",
    "output_norm": "o_norm",
}

MIXTRAL_EXPERT_LEAVES = {"gate_proj": "w1.weight", "up_proj": "w3.weight", "down_proj": "w2.weight"}
mixtral_names_with_shared_experts = moe_lineage("block_sparse_moe", "gate", per_expert(MIXTRAL_EXPERT_LEAVES),
                                                shared="shared_experts",
                                                correction_bias="gate.e_score_correction_bias")


def _per_head(tensor):
    return tensor.reshape(-1)  # A_log [1, 1, heads, 1] -> [heads]


def kimi_linear(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping = mixtral_names_with_shared_experts(spec, our_names)
    for ours, (theirs, transform) in mapping.items():
        parts = ours.split(".")
        if parts[0] != "layers" or parts[2] != "mixer":
            continue
        prefix, separator, rest = theirs.partition(".self_attn.")
        mixer = spec.layers[int(parts[1])].mixer
        if isinstance(mixer, KimiDeltaAttention):
            rest = _rename(rest, KDA_NAMES)
            transform = _per_head if rest == "A_log" else transform
        elif isinstance(mixer, MultiHeadLatentAttention):
            rest = _rename(rest, MLA_NAMES)
        mapping[ours] = (prefix + separator + rest, transform)
    return mapping


NAME_MAPS = {"kimi_linear": kimi_linear}
