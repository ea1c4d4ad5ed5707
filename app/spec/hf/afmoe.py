"""AFMoE (Arcee's Trinity Nano, Mini and Large; model_type afmoe): GQA with per-head QK-norm
and a sigmoid output gate per channel from a projection of its own (gate_proj), on sliding-
window layers with RoPE and global layers without it (NoPE; every
`global_attn_every_n_layers`-th layer, or as `layer_types` lists them); a sandwich of RMSNorms
around both sublayers; dense SwiGLU MLPs on the first `num_dense_layers` layers, then a
sigmoid-routed MoE (a selection-only expert bias, the chosen scores normalized, times
`route_scale`) beside one shared MLP as wide as `num_shared_experts` experts; the embeddings
times sqrt(hidden_size) when `mup_enabled`.

Read as transformers' AfmoeConfig builds it (transformers >= 5.18): the published file's
DeepSeek-style routing keys (`score_func`, `route_norm`, `n_group`, `topk_group`,
`num_expert_groups`, `num_limited_groups`) are fixed there -- sigmoid scores, normalized, one
group -- so a config asking for anything else is refused, and they are written back as built.
"""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..mixers import Attention
from ..parts import Norm, QKNorm
from .common import (
    FAMILIES,
    HIDDEN_ACTS,
    LAYER_TYPES,
    activation_from_hf,
    activation_to_hf,
    attention_of,
    only_kinds,
    read_base,
    reject,
    the_one,
    write_base,
)
from .reader import ConfigReader, rope_to_parameters

# The published routing keys transformers' AFMoE does not read: the value it builds for each.
FIXED_ROUTING = {"score_func": "sigmoid", "route_norm": True, "n_group": 1, "topk_group": 1,
                 "num_expert_groups": 1, "num_limited_groups": 1}


def _fixed_routing(r: ConfigReader) -> None:
    for key, built in FIXED_ROUTING.items():
        value = r.config.get(key)
        if value is not None and value != built:
            r.problem(key, f"{value!r} is not built: transformers' AFMoE routes by {FIXED_ROUTING['score_func']} "
                      f"scores, normalized, in one group ({key} {built!r})")


def afmoe_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    n = r.int("num_hidden_layers")
    heads = r.int("num_attention_heads", 16)
    kv_heads = r.int("num_key_value_heads", heads)
    head_dim = r.int("head_dim", 128)  # AfmoeConfig's default, not hidden_size / heads
    every = r.int("global_attn_every_n_layers", 4)
    types = r.str_list("layer_types", n, LAYER_TYPES) or [
        "full_attention" if (i + 1) % every == 0 else "sliding_attention" for i in range(n)]
    window = r.int("sliding_window", 1024, minimum=0)
    if not window and "sliding_attention" in types:
        r.problem("sliding_window", "the layer pattern has sliding layers, so a window is required")
    rope = r.rope(head_dim)  # the sliding layers'; the global ones rotate nothing
    norm = Norm("rmsnorm", r.float("rms_norm_eps", 1e-5, positive=True))
    bias = r.bool("attention_bias", False)
    _fixed_routing(r)
    r.bool("use_grouped_mm", True)  # a kernel choice

    activation = activation_from_hf(r.str("hidden_act", "silu", HIDDEN_ACTS))
    expert_width = r.int("moe_intermediate_size", 1408)
    shared = r.int("num_shared_experts", 2, minimum=0)
    moe = MoE(num_experts=r.int("num_experts", 64), top_k=r.int("num_experts_per_tok", 6),
              expert=MLP(expert_width, activation),
              router=Router("sigmoid", normalize_top_k=True, score_correction_bias=True,
                            routed_scaling=r.float("route_scale", 1.0, positive=True)),
              shared=MLP(expert_width * shared, activation) if shared else None)
    dense = MLP(r.int("intermediate_size", 6144), activation)
    dense_layers = r.int("num_dense_layers", 1, minimum=0)
    if dense_layers > n:
        r.problem("num_dense_layers", f"{dense_layers} is more than the {n} layers")

    layers = []
    for index, kind in enumerate(types):
        sliding = kind == "sliding_attention"
        attention = Attention(num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
                              rope=rope if sliding else None, sliding_window=window if sliding else 0,
                              qkv_bias=bias, out_bias=bias, qk_norm=QKNorm("head", norm), sigmoid_gate="element")
        layers.append(Layer(attention, dense if index < dense_layers else moe, norm, norm_placement="sandwich"))
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=tuple(layers),
                    final_norm=norm, embedding_scale=r.bool("mup_enabled", False), **base)


def afmoe_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (Attention,), (MLP, MoE))
    n = spec.num_layers
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if (norm.kind != "rmsnorm" or spec.final_norm != norm
            or any(layer.norm_placement != "sandwich" for layer in spec.layers)):
        reject("layers[0].norm", "AFMoE sandwiches both sublayers between RMSNorms of one epsilon")
    types = [LAYER_TYPES[layer.mixer.is_local] for layer in spec.layers]
    sliding = [i for i, kind in enumerate(types) if kind == "sliding_attention"]
    for index, layer in enumerate(spec.layers):
        attention = attention_of(layer)
        rope_ok = (attention.rope is not None and not attention.rope.interleaved and not attention.rope.frequency_dim
                   if attention.is_local else attention.rope is None)
        if (not rope_ok or attention.chunk_size or attention.sinks or attention.output_gate
                or attention.softplus_gate or attention.sigmoid_gate != "element" or attention.logit_softcap
                or attention.value_head_dim or attention.qkv_bias != attention.out_bias
                or attention.qk_norm != QKNorm("head", norm) or attention.value_norm is not None
                or attention.shared_kv or attention.keys_as_values or attention.value_scale != 1.0
                or attention.query_pre_attn_scalar or attention.query_scale or attention.temperature_tuning):
            reject(f"layers[{index}].mixer", "an AFMoE layer is GQA with per-head RMS QK-norm and a sigmoid gate "
                   "per channel from its own projection, half-split RoPE on the sliding layers and none on the "
                   "global ones, one bias setting for q/k/v/o, and nothing else")
    head_dim = the_one(spec, "head_dim", lambda layer: layer.mixer.head_dim)
    moe_layers = [i for i, layer in enumerate(spec.layers) if isinstance(layer.ffn, MoE)]
    dense_count = moe_layers[0] if moe_layers else n
    if moe_layers != list(range(dense_count, n)):
        reject(f"layers[{dense_count}].ffn", "AFMoE's dense layers come first (num_dense_layers), then only MoE")
    every = next((step for step in range(1, n + 1)
                  if types == ["full_attention" if (i + 1) % step == 0 else "sliding_attention" for i in range(n)]),
                 None)
    config = write_base(spec) | {
        "num_attention_heads": the_one(spec, "num_heads", lambda layer: layer.mixer.num_heads),
        "num_key_value_heads": the_one(spec, "num_kv_heads", lambda layer: layer.mixer.num_kv_heads),
        "head_dim": head_dim,
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
        "rms_norm_eps": norm.eps,
        "layer_types": types,
        "sliding_window": the_one(spec, "sliding window", lambda layer: layer.mixer.sliding_window, sliding)
        if sliding else None,
        "num_dense_layers": dense_count,
        "mup_enabled": spec.embedding_scale,
    } | FIXED_ROUTING
    if every is not None:  # the published form, when the pattern has one (its layer_types says the same)
        config["global_attn_every_n_layers"] = every
    if sliding:
        config["rope_parameters"] = rope_to_parameters(
            the_one(spec, "sliding rope", lambda layer: layer.mixer.rope, sliding), head_dim)
    mlps = [spec.layers[i].ffn for i in range(dense_count)]
    if moe_layers:
        moe: MoE = the_one(spec, "MoE", lambda layer: layer.ffn, moe_layers)
        router = Router("sigmoid", normalize_top_k=True, score_correction_bias=True,
                        routed_scaling=moe.router.routed_scaling)
        shared = moe.shared
        if shared is not None and shared.intermediate_size % moe.expert.intermediate_size:
            reject(f"layers[{moe_layers[0]}].ffn.shared", "AFMoE's shared MLP is a whole number of experts wide "
                   f"(num_shared_experts x {moe.expert.intermediate_size}), found {shared.intermediate_size}")
        plain = MoE(num_experts=moe.num_experts, top_k=moe.top_k, expert=moe.expert, router=router, shared=shared)
        if moe != plain:
            reject(f"layers[{moe_layers[0]}].ffn", "AFMoE's MoE is sigmoid-routed with an expert bias and "
                   "normalized scores times route_scale, plus an ungated shared MLP")
        config.update(num_experts=moe.num_experts, num_experts_per_tok=moe.top_k,
                      moe_intermediate_size=moe.expert.intermediate_size, route_scale=router.routed_scaling,
                      num_shared_experts=shared.intermediate_size // moe.expert.intermediate_size if shared else 0)
        mlps += [moe.expert] + ([shared] if shared else [])
    dense = the_one(spec, "dense MLP", lambda layer: layer.ffn, range(dense_count)) if dense_count else None
    if dense is not None:
        config["intermediate_size"] = dense.intermediate_size
    if len({(mlp.activation, mlp.gated, mlp.bias) for mlp in mlps}) != 1 or not mlps[0].gated or mlps[0].bias:
        reject("layers[0].ffn", "AFMoE's MLPs (dense, experts, shared) are gated, bias-free and share one hidden_act")
    config["hidden_act"] = activation_to_hf(mlps[0].activation)
    return config


CONVERTERS = {"afmoe": (afmoe_to_spec, afmoe_to_config)}
