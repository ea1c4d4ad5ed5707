"""Mixture-of-experts configs outside the DeepSeek line: Qwen3 MoE, gpt-oss, Llama 4
(text decoder) and MiniMax-M2, each read into per-layer specs and written back.

The module layouts that decide the exact parameter counts are those of transformers'
modeling files for each model_type; the comments name the config keys they come from.
"""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import MLP, Attention, Layer, MoE, Norm, QKNorm, Router
from ..errors import Problem, SpecError
from ..patterns import every_kth, interleaved
from .common import FAMILIES, HIDDEN_ACTS, activation_from_hf, activation_to_hf, attention_of, read_base, \
    the_one, write_base
from .reader import ConfigReader, rope_to_parameters

LAYER_TYPES = ("full_attention", "sliding_attention")


def _heads(r: ConfigReader, d: int, default_head_dim: int | None = None) -> tuple[int, int, int]:
    heads = r.int("num_attention_heads")
    kv_heads = r.int("num_key_value_heads", heads)
    head_dim = r.int("head_dim", default_head_dim or max(d // heads, 1))
    return heads, kv_heads, head_dim


def _write_heads(spec: ArchSpec) -> dict:
    return {
        "num_attention_heads": the_one(spec, "num_heads", lambda layer: attention_of(layer).num_heads),
        "num_key_value_heads": the_one(spec, "num_kv_heads", lambda layer: attention_of(layer).num_kv_heads),
        "head_dim": the_one(spec, "head_dim", lambda layer: attention_of(layer).head_dim),
    }


def _moe_layers(spec: ArchSpec) -> list[int]:
    return [i for i, layer in enumerate(spec.layers) if isinstance(layer.ffn, MoE)]


def _reject(what: str, message: str) -> None:
    raise SpecError([Problem(what, message)])


# --- Qwen3 MoE: Qwen3 (per-head QK-norm) with softmax top-k experts -------------------


def qwen3_moe_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    d = base["d_model"]
    n = r.int("num_hidden_layers")
    heads, kv_heads, head_dim = _heads(r, d)
    norm = Norm("rmsnorm", r.float("rms_norm_eps", 1e-6, positive=True))
    bias = r.bool("attention_bias", False)
    # transformers applies `sliding_window` only when `use_sliding_window` is set, to every layer
    window = r.int("sliding_window", 4096) if r.bool("use_sliding_window", False) else 0
    attention = Attention(num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim, rope=r.rope(head_dim),
                          sliding_window=window, qkv_bias=bias, out_bias=bias, qk_norm=QKNorm("head", norm))
    activation = activation_from_hf(r.str("hidden_act", "silu", HIDDEN_ACTS))
    # transformers' default width when a config has no dense layer to say it
    dense = MLP(r.int("intermediate_size", 6144), activation)
    # transformers 5 writes num_local_experts; the published configs say num_experts
    experts = r.int("num_local_experts" if r.has("num_local_experts") else "num_experts", 128, minimum=0)
    moe = MoE(num_experts=max(experts, 1), top_k=r.int("num_experts_per_tok", 8),
              expert=MLP(r.int("moe_intermediate_size", 768), activation),
              router=Router("softmax", normalize_top_k=r.bool("norm_topk_prob", False)))
    # A layer is sparse unless listed in mlp_only_layers, every decoder_sparse_step-th layer.
    step = r.int("decoder_sparse_step", 1)
    dense_only = set(r.config.get("mlp_only_layers") or [])
    sparse = [experts > 0 and i not in dense_only and (i + 1) % step == 0 for i in range(n)]
    layers = tuple(Layer(attention, moe if sparse[i] else dense, norm) for i in range(n))
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=layers,
                    final_norm=norm, **base)


def qwen3_moe_to_config(spec: ArchSpec) -> dict:
    sparse = _moe_layers(spec)
    dense = [i for i in range(spec.num_layers) if i not in sparse]
    attention = attention_of(spec.layers[0])
    window = the_one(spec, "sliding window", lambda layer: attention_of(layer).sliding_window)
    config = write_base(spec) | _write_heads(spec) | {
        "rms_norm_eps": the_one(spec, "norm", lambda layer: layer.norm).eps,
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
        "rope_parameters": rope_to_parameters(the_one(spec, "rope", lambda l: l.mixer.rope), attention.head_dim),
        "use_sliding_window": bool(window),
        "sliding_window": window or None,
        # Written as an explicit list, so any placement of dense layers round-trips.
        "decoder_sparse_step": 1,
        "mlp_only_layers": dense,
    }
    if dense:
        config["intermediate_size"] = the_one(spec, "dense MLP", lambda l: l.ffn, dense).intermediate_size
    if sparse:
        moe = the_one(spec, "MoE", lambda layer: layer.ffn, sparse)
        config.update(num_experts=moe.num_experts, num_experts_per_tok=moe.top_k,
                      moe_intermediate_size=moe.expert.intermediate_size,
                      norm_topk_prob=moe.router.normalize_top_k)
        mlp = moe.expert
    else:
        config["num_experts"] = 0
        mlp = spec.layers[0].ffn
    config["hidden_act"] = activation_to_hf(mlp.activation)
    return config


# --- gpt-oss: sinks, biases, 1:1 sliding(128):full, clamped SwiGLU experts ------------


def gpt_oss_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    d = base["d_model"]
    n = r.int("num_hidden_layers")
    heads, kv_heads, head_dim = _heads(r, d, default_head_dim=64)
    norm = Norm("rmsnorm", r.float("rms_norm_eps", 1e-5, positive=True))
    bias = r.bool("attention_bias", True)
    types = r.str_list("layer_types", n, LAYER_TYPES)
    # transformers' default when a config omits layer_types: sliding first, then full, repeated
    sliding = [t == "sliding_attention" for t in types] if types else [i % 2 == 0 for i in range(n)]
    window = r.int("sliding_window", 128)
    rope = r.rope(head_dim, default_theta=150000.0)
    if r.float("swiglu_limit", 7.0) != 7.0:  # transformers hard-codes the clamp at 7 (and alpha 1.702)
        r.problem("swiglu_limit", f"only 7.0 is supported, found {r.config['swiglu_limit']}")
    # Experts: fused gate_up (interleaved gate/up columns) and down, both with biases.
    moe = MoE(num_experts=r.int("num_local_experts", 128), top_k=r.int("num_experts_per_tok", 4),
              expert=MLP(r.int("intermediate_size"), "swiglu_oss", gated=True, bias=True),
              router=Router("softmax", normalize_top_k=True, bias=True))
    layers = []
    for i in range(n):
        attention = Attention(num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim, rope=rope,
                              sliding_window=window if sliding[i] else 0, qkv_bias=bias, out_bias=bias, sinks=True)
        layers.append(Layer(attention, moe, norm))
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=tuple(layers),
                    final_norm=norm, **base)


def gpt_oss_to_config(spec: ArchSpec) -> dict:
    attention = attention_of(spec.layers[0])
    if not the_one(spec, "attention sinks", lambda layer: attention_of(layer).sinks):
        _reject("layers[0].mixer.sinks", "gpt_oss attention always has sinks")
    moe = the_one(spec, "feed-forward", lambda layer: layer.ffn)
    if not isinstance(moe, MoE) or moe.expert.activation != "swiglu_oss" or not moe.expert.bias:
        _reject("layers[0].ffn", "gpt_oss layers are MoE with biased swiglu_oss experts")
    sliding = [bool(attention_of(layer).sliding_window) for layer in spec.layers]
    windows = [i for i, s in enumerate(sliding) if s]
    return write_base(spec) | _write_heads(spec) | {
        "rms_norm_eps": the_one(spec, "norm", lambda layer: layer.norm).eps,
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
        "layer_types": [LAYER_TYPES[s] for s in sliding],
        "sliding_window": the_one(spec, "sliding window", lambda l: l.mixer.sliding_window, windows)
        if windows else 128,
        "rope_parameters": rope_to_parameters(the_one(spec, "rope", lambda l: l.mixer.rope), attention.head_dim),
        "num_local_experts": moe.num_experts,
        "num_experts_per_tok": moe.top_k,
        "intermediate_size": moe.expert.intermediate_size,
        "swiglu_limit": 7.0,
    }


# --- Llama 4 (text): dense/MoE interleave, iRoPE (NoPE every 4th), chunked attention --


def llama4_text_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    d = base["d_model"]
    n = r.int("num_hidden_layers")
    heads, kv_heads, head_dim = _heads(r, d, default_head_dim=128)
    eps = r.float("rms_norm_eps", 1e-5, positive=True)
    norm = Norm("rmsnorm", eps)
    bias = r.bool("attention_bias", False)
    flags = r.int_list("no_rope_layers", n)  # 1: RoPE, 0: NoPE
    nope = [f == 0 for f in flags] if flags else every_kth(n, r.int("no_rope_layer_interval", 4))
    moe_list = r.config.get("moe_layers")
    sparse = [i in moe_list for i in range(n)] if isinstance(moe_list, list) else \
        interleaved(n, r.int("interleave_moe_layer_step", 1))
    chunk = r.int("attention_chunk_size", 8192, minimum=0)
    # Maverick's config writes the flag as the integer 4; transformers only tests its truth.
    tuning = r.config.get("attn_temperature_tuning", True)
    if not isinstance(tuning, (bool, int)):
        r.problem("attn_temperature_tuning", f"expected true or false, found {tuning!r:.60}")
    floor, scale = r.int("floor_scale", 8192), r.float("attn_scale", 0.1)
    # RoPE layers: interleaved (complex-pair) rotation, chunked attention and, with
    # use_qk_norm, a weightless L2 norm of each head; NoPE layers: global, temperature tuned.
    rope_layer = Attention(num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
                           rope=replace(r.rope(head_dim, default_theta=500000.0), interleaved=True),
                           chunk_size=chunk, qkv_bias=bias, out_bias=bias,
                           qk_norm=QKNorm("head", Norm("l2", eps)) if r.bool("use_qk_norm", True) else None)
    nope_layer = Attention(num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim, qkv_bias=bias, out_bias=bias,
                           temperature_tuning=bool(tuning), temperature_floor=floor, temperature_scale=scale)
    activation = activation_from_hf(r.str("hidden_act", "silu", HIDDEN_ACTS))
    expert_width = r.int("intermediate_size", 8192)
    # The shared expert has the experts' width; dense layers have their own.
    moe = MoE(num_experts=r.int("num_local_experts", 16), top_k=r.int("num_experts_per_tok", 1),
              expert=MLP(expert_width, activation), shared=MLP(expert_width, activation),
              router=Router("sigmoid", normalize_top_k=False, weight_inputs=True))
    dense = MLP(r.int("intermediate_size_mlp", 16384), activation)
    layers = tuple(Layer(nope_layer if nope[i] else rope_layer, moe if sparse[i] else dense, norm) for i in range(n))
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=layers,
                    final_norm=norm, **base)


def llama4_text_to_config(spec: ArchSpec) -> dict:
    sparse = _moe_layers(spec)
    dense = [i for i in range(spec.num_layers) if i not in sparse]
    with_rope = [i for i, layer in enumerate(spec.layers) if attention_of(layer).rope is not None]
    without = [i for i in range(spec.num_layers) if i not in with_rope]
    head_dim = attention_of(spec.layers[0]).head_dim
    config = write_base(spec) | _write_heads(spec) | {
        "rms_norm_eps": the_one(spec, "norm", lambda layer: layer.norm).eps,
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
        "no_rope_layers": [int(i in with_rope) for i in range(spec.num_layers)],
        "moe_layers": sparse,
        "interleave_moe_layer_step": 1,  # moe_layers, written above, takes precedence
    }
    if with_rope:
        rope = the_one(spec, "rope", lambda l: l.mixer.rope, with_rope)
        if not rope.interleaved:
            _reject(f"layers[{with_rope[0]}].mixer.rope.interleaved", "Llama 4 rotates interleaved pairs")
        config["rope_parameters"] = rope_to_parameters(rope, head_dim)
        config["attention_chunk_size"] = the_one(spec, "chunk size", lambda l: l.mixer.chunk_size, with_rope) or None
        config["use_qk_norm"] = the_one(spec, "QK-norm", lambda l: l.mixer.qk_norm is not None, with_rope)
    if without:
        config["attn_temperature_tuning"] = the_one(spec, "temperature tuning",
                                                    lambda l: l.mixer.temperature_tuning, without)
        config["floor_scale"] = the_one(spec, "temperature floor", lambda l: l.mixer.temperature_floor, without)
        config["attn_scale"] = the_one(spec, "temperature scale", lambda l: l.mixer.temperature_scale, without)
    if dense:
        config["intermediate_size_mlp"] = the_one(spec, "dense MLP", lambda l: l.ffn, dense).intermediate_size
    if sparse:
        moe = the_one(spec, "MoE", lambda layer: layer.ffn, sparse)
        if moe.shared is None or moe.shared.intermediate_size != moe.expert.intermediate_size:
            _reject(f"layers[{sparse[0]}].ffn.shared", "Llama 4's shared expert has the routed experts' width")
        config.update(num_local_experts=moe.num_experts, num_experts_per_tok=moe.top_k,
                      intermediate_size=moe.expert.intermediate_size)
    mlp = spec.layers[sparse[0]].ffn.expert if sparse else spec.layers[0].ffn
    config["hidden_act"] = activation_to_hf(mlp.activation)
    return config


# --- MiniMax-M2: QK-norm over all heads, partial RoPE, sigmoid router with bias ---------


def minimax_m2_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    d = base["d_model"]
    n = r.int("num_hidden_layers")
    heads, kv_heads, head_dim = _heads(r, d, default_head_dim=128)
    norm = Norm("rmsnorm", r.float("rms_norm_eps", 1e-6, positive=True))
    rope = r.rope(head_dim, default_theta=5_000_000.0)
    if r.has("rotary_dim") and not r.has("partial_rotary_factor"):  # the released configs' legacy key
        rope = replace(rope, rotary_dim=r.int("rotary_dim"))
    # transformers always builds q_norm/k_norm over the whole projection ("per_layer").
    if not r.bool("use_qk_norm", True):
        r.problem("use_qk_norm", "minimax_m2 models always normalize queries and keys")
    r.str("qk_norm_type", "per_layer", ("per_layer",))
    r.str("scoring_func", "sigmoid", ("sigmoid",))
    if r.int("shared_intermediate_size", 0, minimum=0):
        r.problem("shared_intermediate_size", "a shared expert is not part of minimax_m2; expected 0")
    attention_kinds = r.config.get("attn_type_list")
    if isinstance(attention_kinds, list) and any(kind != 1 for kind in attention_kinds):
        r.problem("attn_type_list", "minimax_m2 layers are all softmax attention (1); lightning is MiniMax-M1")
    attention = Attention(num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim, rope=rope,
                          qk_norm=QKNorm("all_heads", norm))
    activation = activation_from_hf(r.str("hidden_act", "silu", HIDDEN_ACTS))
    moe = MoE(num_experts=r.int("num_local_experts", 256), top_k=r.int("num_experts_per_tok", 8),
              expert=MLP(r.int("intermediate_size"), activation),
              router=Router("sigmoid", normalize_top_k=True,
                            score_correction_bias=r.bool("use_routing_bias", True)))
    # MTP modules are in the released checkpoint and config, but transformers does not build them.
    mtp = r.int("num_mtp_modules", 0, minimum=0) if r.bool("use_mtp", False) else 0
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type,
                    layers=tuple(Layer(attention, moe, norm) for _ in range(n)), final_norm=norm,
                    mtp_layers=mtp, **base)


def minimax_m2_to_config(spec: ArchSpec) -> dict:
    attention = attention_of(spec.layers[0])
    qk = the_one(spec, "QK-norm", lambda layer: attention_of(layer).qk_norm)
    if qk is None or qk.scope != "all_heads":
        _reject("layers[0].mixer.qk_norm", "minimax_m2 normalizes queries and keys over all heads")
    moe = the_one(spec, "feed-forward", lambda layer: layer.ffn)
    if not isinstance(moe, MoE) or moe.shared is not None:
        _reject("layers[0].ffn", "minimax_m2 layers are MoE without a shared expert")
    rope = the_one(spec, "rope", lambda layer: attention_of(layer).rope)
    return write_base(spec) | _write_heads(spec) | {
        "rms_norm_eps": the_one(spec, "norm", lambda layer: layer.norm).eps,
        "rope_parameters": rope_to_parameters(rope, attention.head_dim),
        "qk_norm_type": "per_layer",
        "use_qk_norm": True,
        "scoring_func": "sigmoid",
        "use_routing_bias": moe.router.score_correction_bias,
        "num_local_experts": moe.num_experts,
        "num_experts_per_tok": moe.top_k,
        "intermediate_size": moe.expert.intermediate_size,
        "hidden_act": activation_to_hf(moe.expert.activation),
        "use_mtp": bool(spec.mtp_layers),
        "num_mtp_modules": spec.mtp_layers,
    }


CONVERTERS = {
    "qwen3_moe": (qwen3_moe_to_spec, qwen3_moe_to_config),
    "gpt_oss": (gpt_oss_to_spec, gpt_oss_to_config),
    "llama4_text": (llama4_text_to_spec, llama4_text_to_config),
    "minimax_m2": (minimax_m2_to_spec, minimax_m2_to_config),
}
