"""Mellum (JetBrains' Mellum2; model_type mellum): Qwen3 MoE's attention (GQA, per-head
QK-norm, no gate) on a per-layer pattern of sliding-window and full layers (`layer_types`),
RoPE keyed by layer type (YaRN-scaled on the full layers in the published release), and
Qwen3 MoE's softmax top-k experts, no shared expert, on the layers `mlp_layer_types` marks
sparse (the others a dense SwiGLU MLP).

Read as transformers' MellumConfig builds it (transformers >= 5.18):
- the window applies to the layers `layer_types` calls sliding, whatever
  `use_sliding_window` and `max_window_layers` say (Qwen3 MoE's switches, which MellumConfig
  drops; the published config still carries them, so they are read and ignored);
- `rope_parameters` holds one dict per layer type (`full_attention`, `sliding_attention`).
"""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..mixers import Attention
from ..parts import Norm, QKNorm, Rope
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
    ropes_by_layer_type,
    the_one,
    write_base,
)
from .reader import ConfigReader, rope_to_parameters

MLP_LAYER_TYPES = ("dense", "sparse")
DEFAULT_DENSE_WIDTH = 7168  # MellumConfig's intermediate_size


def mellum_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    n = r.int("num_hidden_layers")
    heads = r.int("num_attention_heads", 32)
    kv_heads = r.int("num_key_value_heads", 4)
    head_dim = r.int("head_dim", 128)  # MellumConfig's default, not hidden_size / heads
    types = r.str_list("layer_types", n, LAYER_TYPES) or ["full_attention"] * n
    window = r.int("sliding_window", 1024, minimum=0)
    if not window and "sliding_attention" in types:
        r.problem("sliding_window", "the layer pattern has sliding layers, so a window is required")
    # MellumConfig's defaults when the config has none
    ropes = ropes_by_layer_type(r, head_dim, types, {
        "full_attention": Rope(theta=500_000.0, rotary_dim=head_dim),
        "sliding_attention": Rope(theta=10_000.0, rotary_dim=head_dim)})
    for kind, rope in ropes.items():
        if rope.rotary_dim != head_dim:
            r.problem("rope_parameters", f"{kind}: partial_rotary_factor {rope.rotary_dim / head_dim:g} is not "
                      "built: transformers' Mellum rotates every channel of a head")
    norm = Norm("rmsnorm", r.float("rms_norm_eps", 1e-6, positive=True))
    bias = r.bool("attention_bias", False)
    r.bool("use_sliding_window", False)  # Qwen3 MoE's switch, which MellumConfig ignores
    r.int("max_window_layers", 0, minimum=0)

    activation = activation_from_hf(r.str("hidden_act", "silu", HIDDEN_ACTS))
    experts = r.int("num_local_experts" if r.has("num_local_experts") else "num_experts", 64)
    moe = MoE(num_experts=experts, top_k=r.int("num_experts_per_tok", 8),
              expert=MLP(r.int("moe_intermediate_size", 896), activation),
              router=Router("softmax", normalize_top_k=r.bool("norm_topk_prob", True)))
    dense = MLP(r.int("intermediate_size", DEFAULT_DENSE_WIDTH), activation)
    mlp_types = r.str_list("mlp_layer_types", n, MLP_LAYER_TYPES) or ["sparse"] * n

    layers = []
    for kind, mlp_kind in zip(types, mlp_types):
        attention = Attention(num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim, rope=ropes[kind],
                              sliding_window=window if kind == "sliding_attention" else 0, qkv_bias=bias,
                              out_bias=bias, qk_norm=QKNorm("head", norm))
        layers.append(Layer(attention, moe if mlp_kind == "sparse" else dense, norm))
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=tuple(layers),
                    final_norm=norm, **base)


def mellum_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (Attention,), (MLP, MoE))
    n = spec.num_layers
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if norm.kind != "rmsnorm" or spec.final_norm != norm or any(l.norm_placement != "pre" for l in spec.layers):
        reject("layers[0].norm", "Mellum uses one pre-norm RMSNorm throughout")
    for index, layer in enumerate(spec.layers):
        attention = attention_of(layer)
        if (attention.rope is None or attention.rope.interleaved or attention.rope.frequency_dim
                or attention.rope.rotary_dim != attention.head_dim
                or attention.chunk_size or attention.sinks or attention.gates_output or attention.logit_softcap
                or attention.value_head_dim or attention.qkv_bias != attention.out_bias
                or attention.qk_norm != QKNorm("head", norm) or attention.value_norm is not None
                or attention.shared_kv or attention.keys_as_values or attention.value_scale != 1.0
                or attention.query_pre_attn_scalar or attention.query_scale or attention.temperature_tuning):
            reject(f"layers[{index}].mixer", "a Mellum layer is GQA with half-split RoPE over the whole head, per-head RMS QK-norm, "
                   "one bias setting for q/k/v/o and nothing else")
    types = [LAYER_TYPES[layer.mixer.is_local] for layer in spec.layers]
    sliding = [i for i, kind in enumerate(types) if kind == "sliding_attention"]
    head_dim = the_one(spec, "head_dim", lambda layer: layer.mixer.head_dim)
    ropes = {kind: the_one(spec, f"{kind} rope", lambda layer: layer.mixer.rope,
                           [i for i, t in enumerate(types) if t == kind]) for kind in sorted(set(types))}
    moe_layers = [i for i, layer in enumerate(spec.layers) if isinstance(layer.ffn, MoE)]
    dense_layers = [i for i in range(n) if i not in moe_layers]
    config = write_base(spec) | {
        "num_attention_heads": the_one(spec, "num_heads", lambda layer: layer.mixer.num_heads),
        "num_key_value_heads": the_one(spec, "num_kv_heads", lambda layer: layer.mixer.num_kv_heads),
        "head_dim": head_dim,
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
        "rms_norm_eps": norm.eps,
        "layer_types": types,
        "sliding_window": the_one(spec, "sliding window", lambda layer: layer.mixer.sliding_window, sliding)
        if sliding else None,
        "rope_parameters": {kind: rope_to_parameters(rope, head_dim) for kind, rope in ropes.items()},
        "mlp_layer_types": [MLP_LAYER_TYPES[i in moe_layers] for i in range(n)],
        # Qwen3 MoE's switches, as the published file writes them (MellumConfig ignores both)
        "use_sliding_window": bool(sliding),
        "max_window_layers": 0,
    }
    mlps = [spec.layers[i].ffn for i in dense_layers]
    if moe_layers:
        moe: MoE = the_one(spec, "MoE", lambda layer: layer.ffn, moe_layers)
        plain = MoE(num_experts=moe.num_experts, top_k=moe.top_k, expert=moe.expert,
                    router=Router("softmax", normalize_top_k=moe.router.normalize_top_k))
        if moe != plain:
            reject(f"layers[{moe_layers[0]}].ffn", "Mellum's MoE is Qwen3 MoE's: softmax-routed top-k experts, "
                   "no shared expert")
        config.update(num_experts=moe.num_experts, num_experts_per_tok=moe.top_k,
                      moe_intermediate_size=moe.expert.intermediate_size,
                      norm_topk_prob=moe.router.normalize_top_k)
        mlps.append(moe.expert)
    dense = the_one(spec, "dense MLP", lambda layer: layer.ffn, dense_layers) if dense_layers else None
    # a model with no dense layer builds none: MellumConfig's default width stands for it
    config["intermediate_size"] = dense.intermediate_size if dense else DEFAULT_DENSE_WIDTH
    if len({(mlp.activation, mlp.gated, mlp.bias) for mlp in mlps}) != 1 or not mlps[0].gated or mlps[0].bias:
        reject("layers[0].ffn", "Mellum's MLPs (dense and experts) are gated, bias-free and share one hidden_act")
    config["hidden_act"] = activation_to_hf(mlps[0].activation)
    return config


CONVERTERS = {"mellum": (mellum_to_spec, mellum_to_config)}
