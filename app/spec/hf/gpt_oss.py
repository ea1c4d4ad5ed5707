"""gpt-oss (model_type gpt_oss): attention sinks and biases, sliding (128) and full layers
alternating 1:1, and clamped SwiGLU experts with (up + 1)."""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..mixers import Attention
from ..parts import Norm
from .common import (
    FAMILIES,
    LAYER_TYPES,
    attention_of,
    read_base,
    read_heads,
    reject,
    the_one,
    write_base,
    write_heads,
)
from .reader import ConfigReader, rope_to_parameters


def gpt_oss_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    d = base["d_model"]
    n = r.int("num_hidden_layers")
    heads, kv_heads, head_dim = read_heads(r, d, default_head_dim=64)
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
        reject("layers[0].mixer.sinks", "gpt_oss attention always has sinks")
    moe = the_one(spec, "feed-forward", lambda layer: layer.ffn)
    if not isinstance(moe, MoE) or moe.expert.activation != "swiglu_oss" or not moe.expert.bias:
        reject("layers[0].ffn", "gpt_oss layers are MoE with biased swiglu_oss experts")
    sliding = [bool(attention_of(layer).sliding_window) for layer in spec.layers]
    windows = [i for i, s in enumerate(sliding) if s]
    return write_base(spec) | write_heads(spec) | {
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
        # as published: transformers' gpt_oss ignores it (its experts' clamped GLU is fixed)
        "hidden_act": "silu",
    }


CONVERTERS = {"gpt_oss": (gpt_oss_to_spec, gpt_oss_to_config)}
