"""Qwen3 MoE (model_type qwen3_moe): Qwen3's attention with per-head QK-norm, softmax top-k
experts, and the layers mlp_only_layers and decoder_sparse_step leave dense."""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..mixers import Attention
from ..parts import Norm, QKNorm
from .common import (
    FAMILIES,
    HIDDEN_ACTS,
    activation_from_hf,
    activation_to_hf,
    attention_of,
    moe_layers,
    read_base,
    read_heads,
    the_one,
    write_base,
    write_heads,
)
from .reader import ConfigReader, rope_to_parameters


def qwen3_moe_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    d = base["d_model"]
    n = r.int("num_hidden_layers")
    heads, kv_heads, head_dim = read_heads(r, d)
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
    sparse = moe_layers(spec)
    dense = [i for i in range(spec.num_layers) if i not in sparse]
    attention = attention_of(spec.layers[0])
    window = the_one(spec, "sliding window", lambda layer: attention_of(layer).sliding_window)
    config = write_base(spec) | write_heads(spec) | {
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


CONVERTERS = {"qwen3_moe": (qwen3_moe_to_spec, qwen3_moe_to_config)}
