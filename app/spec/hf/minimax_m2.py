"""MiniMax-M2 (model_type minimax_m2): QK-norm over all heads at once, partial RoPE, and a
sigmoid router with a selection bias."""

from __future__ import annotations

from dataclasses import replace

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
    read_base,
    read_heads,
    reject,
    the_one,
    write_base,
    write_heads,
)
from .reader import ConfigReader, rope_to_parameters


def minimax_m2_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    d = base["d_model"]
    n = r.int("num_hidden_layers")
    heads, kv_heads, head_dim = read_heads(r, d, default_head_dim=128)
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
        reject("layers[0].mixer.qk_norm", "minimax_m2 normalizes queries and keys over all heads")
    moe = the_one(spec, "feed-forward", lambda layer: layer.ffn)
    if not isinstance(moe, MoE) or moe.shared is not None:
        reject("layers[0].ffn", "minimax_m2 layers are MoE without a shared expert")
    rope = the_one(spec, "rope", lambda layer: attention_of(layer).rope)
    return write_base(spec) | write_heads(spec) | {
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
        # as published: every layer softmax attention (1), no shared expert, one layer per MTP module
        "attn_type_list": [1] * spec.num_layers,
        "shared_intermediate_size": 0,
    } | ({"mtp_transformer_layers": 1} if spec.mtp_layers else {})


CONVERTERS = {"minimax_m2": (minimax_m2_to_spec, minimax_m2_to_config)}
