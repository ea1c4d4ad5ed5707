"""Tencent Hy3 (model_type hy_v3): GQA with per-head QK-norm and full RoPE over the DeepSeek
MoE (deepseek_moe.py): sigmoid-scored experts with a selection-only correction bias, the chosen
weights renormalised and scaled, one shared expert, a dense first layer."""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..mixers import Attention
from ..parts import QKNorm
from .common import attention_of, key_of, the_one, write_base
from .deepseek_moe import (
    build_spec,
    mlp_layer_types,
    read_activation,
    read_moe_layers,
    read_norm,
    spec_problem,
    write_ffn,
)
from .reader import ConfigReader, rope_to_parameters

# transformers' HYV3Config.default_theta: the RoPE base when a config names none
DEFAULT_THETA = 11_158_840.0


def hy_v3_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    n = r.int("num_hidden_layers")
    d = r.int("hidden_size")
    heads = r.int("num_attention_heads")
    head_dim = r.int("head_dim", max(d // heads, 1))
    activation = read_activation(r)
    norm = read_norm(r, 1e-5)
    if r.bool("mlp_bias", False):
        r.problem("mlp_bias", "hy_v3's MLPs and experts have no bias")
    bias = r.bool("attention_bias", False)  # transformers biases q, k, v and o alike
    attention = Attention(
        num_heads=heads, num_kv_heads=r.int("num_key_value_heads", heads), head_dim=head_dim,
        rope=r.rope(head_dim, default_theta=DEFAULT_THETA), qkv_bias=bias, out_bias=bias,
        # the published config says qk_norm; transformers' hy_v3 always norms each head's q and k
        qk_norm=QKNorm("head", norm) if r.bool("qk_norm", True) else None,
    )
    expert_width = r.int("moe_intermediate_size", 1536)
    shared = r.int("num_shared_experts", 1, minimum=0)
    moe = MoE(
        num_experts=r.int(key_of(r, "num_experts", "num_local_experts"), 192),
        top_k=r.int("num_experts_per_tok", 8),
        expert=MLP(expert_width, activation),
        # the published config names each of these; transformers' hy_v3 builds exactly them
        router=Router(scoring="sigmoid" if r.bool("moe_router_use_sigmoid", True) else "softmax",
                      normalize_top_k=r.bool("route_norm", True),
                      score_correction_bias=r.bool("moe_router_enable_expert_bias", True),
                      routed_scaling=r.float("router_scaling_factor", 2.826, positive=True)),
        shared=MLP(shared * expert_width, activation) if shared else None,
    )
    dense = MLP(r.int("intermediate_size", 13312), activation)
    layers = [Layer(attention, moe if is_moe else dense, norm) for is_moe in read_moe_layers(r, n, 1)]
    return build_spec(r, model_type, layers, norm)


def hy_v3_to_config(spec: ArchSpec) -> dict:
    attention = the_one(spec, "attention", attention_of)
    if attention.rope is None or attention.rope.interleaved or attention.sliding_window or attention.sinks \
            or attention.value_head_dim or attention.qkv_bias != attention.out_bias \
            or attention.qk_norm is None or attention.qk_norm.scope != "head":
        raise spec_problem("layers[0].mixer", "hy_v3 attention is global GQA with half-split RoPE, per-head "
                           "QK-norm, and one bias flag for q, k, v and o")
    ffn = write_ffn(spec)
    moe: MoE = the_one(spec, "MoE", lambda layer: layer.ffn,
                       [i for i, layer in enumerate(spec.layers) if isinstance(layer.ffn, MoE)])
    router = moe.router
    if router.scoring != "sigmoid" or not router.normalize_top_k or not router.score_correction_bias \
            or router.num_groups != 1 or router.top_k_groups != 1:
        raise spec_problem("layers[1].ffn.router", "hy_v3 routes by sigmoid scores with the correction bias, "
                           "renormalises the chosen weights and has no expert groups")
    dense_prefix = {}
    dense = [i for i, layer in enumerate(spec.layers) if not isinstance(layer.ffn, MoE)]
    if dense == list(range(len(dense))):  # Tencent's configs say first_k_dense_replace
        dense_prefix = {"first_k_dense_replace": len(dense)}
    return write_base(spec) | dense_prefix | {
        "hidden_act": ffn["hidden_act"],
        "intermediate_size": ffn["intermediate_size"],
        "moe_intermediate_size": ffn["moe_intermediate_size"],
        "num_experts": ffn["n_routed_experts"],
        "num_experts_per_tok": ffn["num_experts_per_tok"],
        "num_shared_experts": ffn["n_shared_experts"],
        "router_scaling_factor": ffn["routed_scaling_factor"],
        "rms_norm_eps": ffn["rms_norm_eps"],
        "num_nextn_predict_layers": ffn["num_nextn_predict_layers"],
        "mlp_layer_types": mlp_layer_types(spec),
        # the published config's own names for what transformers' hy_v3 always builds (it reads
        # mlp_layer_types and none of these), written back so the release's keys come back
        "qk_norm": True,
        "moe_router_use_sigmoid": True,
        "moe_router_enable_expert_bias": True,
        "route_norm": True,
        "expert_hidden_dim": ffn["moe_intermediate_size"],
        "num_attention_heads": attention.num_heads,
        "num_key_value_heads": attention.num_kv_heads,
        "head_dim": attention.head_dim,
        "attention_bias": attention.qkv_bias,
        "mlp_bias": False,
        "rope_parameters": rope_to_parameters(attention.rope, attention.head_dim),
    }


CONVERTERS = {
    "hy_v3": (hy_v3_to_spec, hy_v3_to_config),
}
