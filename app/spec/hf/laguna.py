"""Laguna (Poolside; model_type laguna): sliding-window and global GQA layers whose query-head
count is set layer by layer (`num_attention_heads_per_layer`; the key/value heads stay one
count), per-head QK-norm, a softplus output gate from a projection of its own, RoPE keyed by
layer type (partial and YaRN-scaled on global layers in the published release), and a
DeepSeek-style sigmoid router with a selection-only correction bias over routed experts plus
one shared expert, after dense leading layers (`mlp_layer_types`).

Read as transformers' LagunaConfig builds it (transformers >= 5.18):
- `gating` chooses the gate's granularity, never its presence: true or "per-head" gives one
  gate per head, anything else (false included) one per channel;
- the chosen experts' weights are always normalized to sum to one, so a config saying
  `norm_topk_prob: false` describes a model the reference does not build, and is refused;
- `moe_apply_router_weight_on_input: true` is refused, as transformers refuses it;
- `rope_parameters` holds one dict per layer type (`full_attention`, `sliding_attention`).
"""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..limits import brief
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
GATINGS = {"head": True, "element": "per-element"}  # our granularity -> the config's `gating`


def _gating(r: ConfigReader) -> str:
    value = r.config.get("gating", True)
    if value is True or value == "per-head":
        return "head"
    if value is False or value == "per-element":
        return "element"
    r.problem("gating", f"expected true, false, \"per-head\" or \"per-element\", found {brief(value)}")
    return "head"


def laguna_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    n = r.int("num_hidden_layers")
    heads = r.int("num_attention_heads", 48)
    kv_heads = r.int("num_key_value_heads", 8)
    head_dim = r.int("head_dim", 128)  # LagunaConfig's default, not hidden_size / heads
    per_layer_heads = r.int_list("num_attention_heads_per_layer", n) or [heads] * n
    for index, count in enumerate(per_layer_heads):
        if count < 1:
            r.problem("num_attention_heads_per_layer", f"entry {index} must be at least 1, found {count}")
            per_layer_heads = [heads] * n
            break
    types = r.str_list("layer_types", n, LAYER_TYPES) or ["full_attention"] * n
    window = r.int("sliding_window", 512, minimum=0)
    if not window and "sliding_attention" in types:
        r.problem("sliding_window", "the layer pattern has sliding layers, so a window is required")
    # LagunaConfig's defaults when the config has none
    ropes = ropes_by_layer_type(r, head_dim, types, {
        "full_attention": Rope(theta=500_000.0, rotary_dim=int(head_dim * 0.5)),
        "sliding_attention": Rope(theta=10_000.0, rotary_dim=head_dim)})
    norm = Norm("rmsnorm", r.float("rms_norm_eps", 1e-6, positive=True))
    bias = r.bool("attention_bias", False)
    gate = _gating(r)

    activation = activation_from_hf(r.str("hidden_act", "silu", HIDDEN_ACTS))
    if r.bool("moe_apply_router_weight_on_input", False):
        r.problem("moe_apply_router_weight_on_input", "true is not supported: transformers' Laguna refuses it "
                  "(it weighs the experts' outputs, never their inputs)")
    if not r.bool("norm_topk_prob", True):
        r.problem("norm_topk_prob", "false is not built: transformers' Laguna always normalizes the chosen "
                  "experts' weights")
    router = Router("sigmoid", normalize_top_k=True, score_correction_bias=True,
                    routed_scaling=r.float("moe_routed_scaling_factor", 1.0, positive=True),
                    logit_softcap=r.float("moe_router_logit_softcapping", 0.0))
    if router.logit_softcap < 0:
        r.problem("moe_router_logit_softcapping", f"must be 0 (none) or positive, found {router.logit_softcap}")
    moe = MoE(num_experts=r.int("num_experts", 256), top_k=r.int("num_experts_per_tok", 8),
              expert=MLP(r.int("moe_intermediate_size", 512), activation), router=router,
              shared=MLP(r.int("shared_expert_intermediate_size", 512), activation))
    dense = MLP(r.int("intermediate_size", 8192), activation)
    mlp_types = r.str_list("mlp_layer_types", n, MLP_LAYER_TYPES) or ["dense"] + ["sparse"] * (n - 1)

    layers = []
    for kind, count, mlp_kind in zip(types, per_layer_heads, mlp_types):
        sliding = kind == "sliding_attention"
        attention = Attention(num_heads=count, num_kv_heads=kv_heads, head_dim=head_dim, rope=ropes[kind],
                              sliding_window=window if sliding else 0, qkv_bias=bias, out_bias=bias,
                              qk_norm=QKNorm("head", norm), softplus_gate=gate)
        layers.append(Layer(attention, moe if mlp_kind == "sparse" else dense, norm))
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=tuple(layers),
                    final_norm=norm, **base)


def laguna_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (Attention,), (MLP, MoE))
    n = spec.num_layers
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if norm.kind != "rmsnorm" or spec.final_norm != norm or any(l.norm_placement != "pre" for l in spec.layers):
        reject("layers[0].norm", "Laguna uses one pre-norm RMSNorm throughout")
    for index, layer in enumerate(spec.layers):
        attention = attention_of(layer)
        if (attention.rope is None or attention.rope.interleaved or attention.rope.frequency_dim
                or attention.chunk_size or attention.sinks or attention.output_gate or attention.logit_softcap
                or attention.value_head_dim or attention.qkv_bias != attention.out_bias
                or attention.qk_norm != QKNorm("head", norm) or attention.value_norm is not None
                or attention.shared_kv or attention.keys_as_values or attention.value_scale != 1.0
                or attention.query_pre_attn_scalar or attention.temperature_tuning):
            reject(f"layers[{index}].mixer", "a Laguna layer is GQA with half-split RoPE, per-head RMS QK-norm, "
                   "one bias setting for q/k/v/o, a softplus output gate and nothing else")
    gate = the_one(spec, "softplus gate", lambda layer: layer.mixer.softplus_gate)
    if gate not in GATINGS:
        reject("layers[0].mixer.softplus_gate", "transformers' Laguna always gates its attention output "
               "(per head or per channel)")
    types = [LAYER_TYPES[layer.mixer.is_local] for layer in spec.layers]
    sliding = [i for i, kind in enumerate(types) if kind == "sliding_attention"]
    head_dim = the_one(spec, "head_dim", lambda layer: layer.mixer.head_dim)
    ropes = {kind: the_one(spec, f"{kind} rope", lambda layer: layer.mixer.rope,
                           [i for i, t in enumerate(types) if t == kind]) for kind in sorted(set(types))}

    moe_layers = [i for i, layer in enumerate(spec.layers) if isinstance(layer.ffn, MoE)]
    dense_layers = [i for i in range(n) if i not in moe_layers]
    config = write_base(spec) | {
        "num_attention_heads": spec.layers[0].mixer.num_heads,
        "num_attention_heads_per_layer": [layer.mixer.num_heads for layer in spec.layers],
        "num_key_value_heads": the_one(spec, "num_kv_heads", lambda layer: layer.mixer.num_kv_heads),
        "head_dim": head_dim,
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
        "rms_norm_eps": norm.eps,
        "gating": GATINGS[gate],
        "layer_types": types,
        "sliding_window": the_one(spec, "sliding window", lambda layer: layer.mixer.sliding_window, sliding)
        if sliding else None,
        "rope_parameters": {kind: rope_to_parameters(rope, head_dim) for kind, rope in ropes.items()},
        "mlp_layer_types": [MLP_LAYER_TYPES[i in moe_layers] for i in range(n)],
        "moe_apply_router_weight_on_input": False,
        "norm_topk_prob": True,
    }
    mlps = [spec.layers[i].ffn for i in dense_layers]
    if moe_layers:
        moe: MoE = the_one(spec, "MoE", lambda layer: layer.ffn, moe_layers)
        router = moe.router
        plain = Router("sigmoid", normalize_top_k=True, score_correction_bias=True,
                       routed_scaling=router.routed_scaling, logit_softcap=router.logit_softcap)
        if router != plain or moe.shared is None or moe.shared_gate or moe.output_scale != 1.0:
            reject(f"layers[{moe_layers[0]}].ffn", "Laguna's MoE is sigmoid-routed with a correction bias and "
                   "normalized weights, plus one ungated shared expert")
        config.update(num_experts=moe.num_experts, num_experts_per_tok=moe.top_k,
                      moe_intermediate_size=moe.expert.intermediate_size,
                      shared_expert_intermediate_size=moe.shared.intermediate_size,
                      moe_routed_scaling_factor=router.routed_scaling,
                      moe_router_logit_softcapping=router.logit_softcap)
        mlps += [moe.expert, moe.shared]
    dense = the_one(spec, "dense MLP", lambda layer: layer.ffn, dense_layers) if dense_layers else None
    # a model with no dense layer builds none: any width stands for it
    config["intermediate_size"] = (dense or mlps[0]).intermediate_size
    shapes = {replace(mlp, intermediate_size=0) for mlp in mlps}
    if len(shapes) != 1 or not mlps[0].gated or mlps[0].bias:
        reject("layers[0].ffn", "Laguna's MLPs (dense, experts, shared expert) are gated, bias-free and share "
               "one hidden_act")
    config["hidden_act"] = activation_to_hf(mlps[0].activation)
    return config


CONVERTERS = {"laguna": (laguna_to_spec, laguna_to_config)}
