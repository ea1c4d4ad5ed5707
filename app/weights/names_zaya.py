"""Checkpoint names of ZAYA1 (transformers' zaya: Zyphra/ZAYA1-8B), as the published
checkpoint stores them and transformers' save_pretrained writes them back.

A layer model.layers.N holds the attention (self_attn: the CCA projections under
qkv_proj, the key temperature as qk_norm.temp, o_proj), its pre-norms input_layernorm and
post_attention_layernorm, the residual scales post_attention_residual_scale and
post_mlp_residual_scale, and the MoE (mlp): the router under mlp.gate (down_proj,
router_states_scale, router_mlp.norm/fc1/fc2/out_proj, the balancing_biases buffer) and the
experts fused, gate_up_proj [E, 2I, d] (gate rows first) and down_proj [E, d, I], each
expert's slice already in nn.Linear's layout. The embedding's learned scale and bias are
model.input_hidden_states_scale / _bias.
"""

from __future__ import annotations

from ..spec import ArchSpec
from .names_llama import NameMap
from .names_moe import router_bias_buffers

NORMS = {"pre_mixer_norm": "input_layernorm", "pre_ffn_norm": "post_attention_layernorm"}
MIXER_NAMES = {
    "q_proj": "qkv_proj.q_proj", "k_proj": "qkv_proj.k_proj", "v_current": "qkv_proj.v_proj_current",
    "v_delayed": "qkv_proj.v_proj_delayed", "conv_depthwise": "qkv_proj.conv_qk_depthwise",
    "conv_grouped": "qkv_proj.conv_qk_grouped", "o_proj": "o_proj",
}
RESIDUALS = {"mixer_residual_scale": "post_attention_residual_scale", "ffn_residual_scale": "post_mlp_residual_scale"}
RESIDUAL_LEAVES = {"out_scale": "hidden_states_scale", "out_bias": "hidden_states_bias",
                   "residual_scale": "residual_scale", "residual_bias": "residual_bias"}
ROUTER_NAMES = {"down": "down_proj", "mlp_norm": "router_mlp.norm", "fc1": "router_mlp.fc1", "fc2": "router_mlp.fc2",
                "proj": "router_mlp.out_proj"}


def _half(which: int):
    """The gate (0) or up (1) rows of a fused gate_up_proj [E, 2I, d]."""
    return lambda tensor: tensor.chunk(2, dim=1)[which]


def _layer(index: int, module: str, rest: str):
    prefix = f"model.layers.{index}"
    if module in NORMS:
        return f"{prefix}.{NORMS[module]}.{rest}", None
    if module in RESIDUALS:
        return f"{prefix}.{RESIDUALS[module]}.{RESIDUAL_LEAVES[rest]}", None
    first, _, leaf = rest.partition(".")
    if module == "mixer":
        if first == "temperature":
            return f"{prefix}.self_attn.qk_norm.temp", None
        return f"{prefix}.self_attn.{MIXER_NAMES[first]}.{leaf}", None
    # the MoE
    if first == "router":
        part, _, leaf = leaf.partition(".")
        if part == "score_correction_bias":
            return f"{prefix}.mlp.gate.balancing_biases", None
        if part == "depth_scale":
            return f"{prefix}.mlp.gate.router_states_scale", None
        return f"{prefix}.mlp.gate.{ROUTER_NAMES[part]}.{leaf}", None
    if first == "experts":
        if leaf == "down_proj":
            return f"{prefix}.mlp.experts.down_proj", None
        return f"{prefix}.mlp.experts.gate_up_proj", _half({"gate_proj": 0, "up_proj": 1}[leaf])
    raise KeyError(f"{prefix}: no ZAYA1 checkpoint name for our {module}.{rest}")


def zaya(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping: NameMap = {}
    for ours in [*our_names, *router_bias_buffers(spec)]:  # the balancing biases load like parameters
        parts = ours.split(".")
        if parts[0] == "layers":
            mapping[ours] = _layer(int(parts[1]), parts[2], ".".join(parts[3:]))
        elif parts[0] == "final_norm":
            mapping[ours] = (f"model.norm.{parts[-1]}", None)
        elif parts[0] in ("embed_tokens", "input_scale", "input_bias"):
            mapping[ours] = ({"input_scale": "model.input_hidden_states_scale",
                              "input_bias": "model.input_hidden_states_bias"}.get(parts[0], f"model.{ours}"), None)
        else:
            mapping[ours] = (ours, None)  # lm_head.weight
    return mapping


NAME_MAPS = {"zaya": zaya}
