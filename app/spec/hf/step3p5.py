"""Step 3.5 (StepFun's Step 3.5 Flash, and the text decoder of Step 3.7 Flash; model_type
step3p5), in the form its published config.json writes it: GQA on global and sliding-window
layers with their own query-head counts (`num_attention_heads`, and
`attention_other_setting.num_attention_heads` for the sliding ones) over one key/value head
count (`num_attention_groups`), per-head QK-norm, a sigmoid output gate per head from a
projection of its own (g_proj), RoPE per layer (`rope_theta` and `partial_rotary_factors`
lists; `rope_scaling` on the `yarn_only_types` layers), zero-centered (1 + w) RMSNorms; dense
SwiGLU MLPs on the layers `moe_layers_enum` leaves out, the others a sigmoid-routed MoE (a
selection-only bias, normalized weights times `moe_router_scaling_factor`) beside one shared
expert.

Read as transformers' Step3p7TextConfig builds it (transformers >= 5.18, models/step3p7):
- the per-layer lists may carry `num_nextn_predict_layers` trailing entries for the MTP
  layers; they are cut off, and the MTP layers, like every catalog entry's, left out;
- the switches transformers fixes (`use_head_wise_attn_gate`, `use_qk_norm`,
  `zero_centered`, `norm_expert_weight`, `use_moe_router_bias`, sigmoid routing, GQA, no
  sinks) are refused when they say otherwise;
- SwiGLU clamps (`swiglu_limits`, `swiglu_limits_shared`) are not built: a nonzero limit is
  refused by name.
"""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..limits import brief
from ..mixers import Attention
from ..parts import Norm, QKNorm, Rope
from .common import (
    FAMILIES,
    LAYER_TYPES,
    attention_of,
    only_kinds,
    read_base,
    reject,
    the_one,
    write_base,
)
from .reader import ConfigReader, rope_to_parameters

# Switches transformers' Step 3.5 builds one way only: (key, the value it builds).
FIXED = (("use_head_wise_attn_gate", True), ("use_qk_norm", True), ("zero_centered", True),
         ("norm_expert_weight", True), ("use_moe_router_bias", True), ("moe_router_activation", "sigmoid"),
         ("att_impl_type", "GQA"), ("sink", False))


def _per_layer(r: ConfigReader, key: str, n: int, padded: int, default: float) -> list[float]:
    """A per-layer number list (rope_theta, partial_rotary_factors), or one number for all."""
    value = r.config.get(key)
    if value is None:
        return [default] * n
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [r.float(key, positive=True)] * n
    if (not isinstance(value, list) or len(value) not in (n, padded)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in value)):
        r.problem(key, f"expected a positive number or one per layer ({n}, or {padded} with the MTP layers), "
                  f"found {brief(value)}")
        return [default] * n
    return [float(v) for v in value[:n]]


def _moe_layers(r: ConfigReader, n: int) -> set[int]:
    value = r.config.get("moe_layers_enum")
    if value is None:
        return set(range(3, n))  # Step3p7TextConfig's default: layers 3 on are sparse
    items = value.split(",") if isinstance(value, str) else value
    try:
        layers = {int(item) for item in items if str(item).strip()}
    except (TypeError, ValueError):
        r.problem("moe_layers_enum", f"expected layer numbers separated by commas, found {brief(value)}")
        return set()
    if any(not 0 <= layer for layer in layers):
        r.problem("moe_layers_enum", f"layer numbers must be 0 or more, found {sorted(layers)}")
    return {layer for layer in layers if layer < n}  # numbers past the decoder are MTP layers


def step3p5_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    n = r.int("num_hidden_layers")
    padded = n + r.int("num_nextn_predict_layers", 0, minimum=0)
    heads = r.int("num_attention_heads", 64)
    kv_heads = r.int("num_attention_groups", 8)
    head_dim = r.int("head_dim", 128)
    other = r.sub("attention_other_setting")
    sliding_heads = other.int("num_attention_heads", heads)
    if other.int("num_attention_groups", kv_heads) != kv_heads or other.int("head_dim", head_dim) != head_dim:
        other.problem("num_attention_groups", "the sliding layers' key/value heads and head_dim must be the "
                      "global ones' (transformers' Step 3.5 changes only their query heads)")
    types = r.config.get("layer_types")
    if isinstance(types, list) and len(types) == padded and padded != n:
        types = types[:n]
    if types is None:
        types = ["full_attention" if i % 4 == 0 else "sliding_attention" for i in range(n)]
    elif (not isinstance(types, list) or len(types) != n or not all(t in LAYER_TYPES for t in types)):
        r.problem("layer_types", f"expected one of {', '.join(LAYER_TYPES)} per layer ({n}, or {padded} with the "
                  f"MTP layers), found {brief(types)}")
        types = ["full_attention"] * n
    window = r.int("sliding_window", 512, minimum=0)
    if not window and "sliding_attention" in types:
        r.problem("sliding_window", "the layer pattern has sliding layers, so a window is required")
    for key, built in FIXED:
        if key in r.config and r.config[key] != built:
            r.problem(key, f"{brief(r.config[key])} is not built: transformers' Step 3.5 builds {brief(built)}")
    for key in ("swiglu_limits", "swiglu_limits_shared"):
        limits = r.config.get(key) or []
        if not isinstance(limits, list) or any(limit not in (None, 0, 0.0) for limit in limits):
            r.problem(key, f"SwiGLU clamps are not built here; expected none or zeros, found {brief(limits)}")
    thetas = _per_layer(r, "rope_theta", n, padded, 10_000.0)
    factors = _per_layer(r, "partial_rotary_factors", n, padded, 1.0)
    scaled_types = r.config.get("yarn_only_types", ["full_attention"])
    if scaled_types not in (["full_attention"], None):
        r.problem("yarn_only_types", f"transformers' Step 3.5 scales the full layers' RoPE only; found "
                  f"{brief(scaled_types)}")
    scaling = None
    if isinstance(r.config.get("rope_scaling"), dict):
        # rope_scaling read on its own: the theta is per layer (rope_theta, above)
        alone = ConfigReader({"rope_scaling": r.config["rope_scaling"], "max_position_embeddings": base["max_context"]})
        alone.problems = r.problems
        scaling = alone.rope(head_dim).scaling
    eps = r.float("rms_norm_eps", 1e-5, positive=True)
    norm = Norm("rmsnorm", eps, unit_offset=True)

    activation = "silu"
    r.str("hidden_act", "silu")  # published as "swigluoai": the gate is SiLU either way (see module doc)
    moe = MoE(num_experts=r.int("moe_num_experts", 288), top_k=r.int("moe_top_k", 8),
              expert=MLP(r.int("moe_intermediate_size", 1280), activation),
              router=Router("sigmoid", normalize_top_k=True, score_correction_bias=True,
                            routed_scaling=r.float("moe_router_scaling_factor", 1.0, positive=True)),
              shared=MLP(r.int("share_expert_dims" if r.has("share_expert_dims") else "share_expert_dim", 1280),
                         activation))
    dense = MLP(r.int("intermediate_size", 11264), activation)
    sparse = _moe_layers(r, n) if r.bool("use_moe", True) else set()
    r.bool("need_fp32_gate", True)  # the router's logits in float32, as transformers always computes them

    layers = []
    for index, kind in enumerate(types):
        sliding = kind == "sliding_attention"
        rope = Rope(theta=thetas[index], rotary_dim=int(head_dim * factors[index]),
                    scaling=scaling if kind == "full_attention" else None)
        attention = Attention(num_heads=sliding_heads if sliding else heads, num_kv_heads=kv_heads,
                              head_dim=head_dim, rope=rope, sliding_window=window if sliding else 0,
                              qk_norm=QKNorm("head", norm), sigmoid_gate="head")
        layers.append(Layer(attention, moe if index in sparse else dense, norm))
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=tuple(layers),
                    final_norm=norm, **base)


def step3p5_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (Attention,), (MLP, MoE))
    n = spec.num_layers
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if (norm.kind != "rmsnorm" or not norm.unit_offset or spec.final_norm != norm
            or any(layer.norm_placement != "pre" for layer in spec.layers)):
        reject("layers[0].norm", "Step 3.5 uses one pre-norm zero-centered (1 + w) RMSNorm throughout")
    types = [LAYER_TYPES[layer.mixer.is_local] for layer in spec.layers]
    for index, layer in enumerate(spec.layers):
        attention = attention_of(layer)
        rope = attention.rope
        if (rope is None or rope.interleaved or rope.frequency_dim or attention.chunk_size or attention.sinks
                or attention.output_gate or attention.softplus_gate or attention.sigmoid_gate != "head"
                or attention.logit_softcap or attention.value_head_dim or attention.qkv_bias or attention.out_bias
                or attention.qk_norm != QKNorm("head", norm) or attention.value_norm is not None
                or attention.shared_kv or attention.keys_as_values or attention.value_scale != 1.0
                or attention.query_pre_attn_scalar or attention.query_scale or attention.temperature_tuning
                or (rope.scaling is not None and attention.is_local)):
            reject(f"layers[{index}].mixer", "a Step 3.5 layer is bias-free GQA with half-split RoPE (scaled on "
                   "the full layers only), per-head zero-centered RMS QK-norm, a sigmoid gate per head from its "
                   "own projection, and nothing else")
    sliding = [i for i, kind in enumerate(types) if kind == "sliding_attention"]
    full = [i for i, kind in enumerate(types) if kind == "full_attention"]
    head_dim = the_one(spec, "head_dim", lambda layer: layer.mixer.head_dim)
    kv_heads = the_one(spec, "num_kv_heads", lambda layer: layer.mixer.num_kv_heads)
    heads = the_one(spec, "full layers' num_heads", lambda layer: layer.mixer.num_heads, full) if full else \
        spec.layers[0].mixer.num_heads
    config = write_base(spec) | {
        "num_attention_heads": heads,
        "num_attention_groups": kv_heads,
        "head_dim": head_dim,
        "rms_norm_eps": norm.eps,
        "layer_types": types,
        "rope_theta": [layer.mixer.rope.theta for layer in spec.layers],
        "partial_rotary_factors": [layer.mixer.rope.rotary_dim / head_dim for layer in spec.layers],
        "hidden_act": "silu",
        "max_seq_len": spec.max_context,
        "yarn_only_types": ["full_attention"],
    } | dict(FIXED) | {"need_fp32_gate": True}  # the router's logits in float32, as transformers computes them
    if sliding:
        config["sliding_window"] = the_one(spec, "sliding window", lambda layer: layer.mixer.sliding_window, sliding)
        config["attention_other_setting"] = {
            "attention_type": "sliding_attention",
            "num_attention_heads": the_one(spec, "sliding layers' num_heads", lambda layer: layer.mixer.num_heads,
                                           sliding),
            "num_attention_groups": kv_heads, "head_dim": head_dim}
    scaling = the_one(spec, "full layers' rope scaling", lambda layer: layer.mixer.rope.scaling, full) \
        if full else None
    if scaling is not None:
        params = rope_to_parameters(Rope(theta=1.0, rotary_dim=head_dim, scaling=scaling), head_dim)
        config["rope_scaling"] = {key: value for key, value in params.items() if key != "rope_theta"}
    moe_layers = [i for i, layer in enumerate(spec.layers) if isinstance(layer.ffn, MoE)]
    dense_layers = [i for i in range(n) if i not in moe_layers]
    config["moe_layers_enum"] = ",".join(str(i) for i in moe_layers)
    config["use_moe"] = bool(moe_layers)
    mlps = [spec.layers[i].ffn for i in dense_layers]
    if moe_layers:
        moe: MoE = the_one(spec, "MoE", lambda layer: layer.ffn, moe_layers)
        router = Router("sigmoid", normalize_top_k=True, score_correction_bias=True,
                        routed_scaling=moe.router.routed_scaling)
        plain = MoE(num_experts=moe.num_experts, top_k=moe.top_k, expert=moe.expert, router=router,
                    shared=moe.shared)
        if moe != plain or moe.shared is None:
            reject(f"layers[{moe_layers[0]}].ffn", "Step 3.5's MoE is sigmoid-routed with a selection-only bias "
                   "and normalized weights times moe_router_scaling_factor, plus one ungated shared expert")
        config.update(moe_num_experts=moe.num_experts, moe_top_k=moe.top_k,
                      moe_intermediate_size=moe.expert.intermediate_size,
                      share_expert_dim=moe.shared.intermediate_size,
                      moe_router_scaling_factor=router.routed_scaling)
        mlps += [moe.expert, moe.shared]
    dense = the_one(spec, "dense MLP", lambda layer: layer.ffn, dense_layers) if dense_layers else None
    if dense is not None:
        config["intermediate_size"] = dense.intermediate_size
    if any(mlp.activation != "silu" or not mlp.gated or mlp.bias for mlp in mlps):
        reject("layers[0].ffn", "Step 3.5's MLPs (dense, experts, shared) are bias-free SwiGLU")
    return config


CONVERTERS = {"step3p5": (step3p5_to_spec, step3p5_to_config)}
