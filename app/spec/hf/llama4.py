"""Llama 4, text decoder (model_type llama4_text): dense and MoE layers interleaved, iRoPE
(NoPE every fourth layer, the others chunked local attention with RoPE), L2 QK-norm on the
rotary layers, experts scaled on their input."""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..mixers import Attention
from ..parts import Norm, QKNorm
from ..patterns import every_kth, interleaved
from .common import (
    FAMILIES,
    HIDDEN_ACTS,
    activation_from_hf,
    activation_to_hf,
    attention_of,
    moe_layers,
    read_base,
    read_heads,
    reject,
    the_one,
    write_base,
    write_heads,
)
from .reader import ConfigReader, rope_to_parameters


def llama4_text_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    d = base["d_model"]
    n = r.int("num_hidden_layers")
    heads, kv_heads, head_dim = read_heads(r, d, default_head_dim=128)
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
    sparse = moe_layers(spec)
    dense = [i for i in range(spec.num_layers) if i not in sparse]
    with_rope = [i for i, layer in enumerate(spec.layers) if attention_of(layer).rope is not None]
    without = [i for i in range(spec.num_layers) if i not in with_rope]
    head_dim = attention_of(spec.layers[0]).head_dim
    config = write_base(spec) | write_heads(spec) | {
        "rms_norm_eps": the_one(spec, "norm", lambda layer: layer.norm).eps,
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
        "no_rope_layers": [int(i in with_rope) for i in range(spec.num_layers)],
    } | _moe_placement(spec.num_layers, sparse)
    if with_rope:
        rope = the_one(spec, "rope", lambda l: l.mixer.rope, with_rope)
        if not rope.interleaved:
            reject(f"layers[{with_rope[0]}].mixer.rope.interleaved", "Llama 4 rotates interleaved pairs")
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
            reject(f"layers[{sparse[0]}].ffn.shared", "Llama 4's shared expert has the routed experts' width")
        config.update(num_local_experts=moe.num_experts, num_experts_per_tok=moe.top_k,
                      intermediate_size=moe.expert.intermediate_size)
    mlp = spec.layers[sparse[0]].ffn.expert if sparse else spec.layers[0].ffn
    config["hidden_act"] = activation_to_hf(mlp.activation)
    return config


def _moe_placement(num_layers: int, sparse: list[int]) -> dict:
    """Where the MoE layers are, as the published configs say it: the interleave step that
    places them (Maverick's 2, Scout's 1), or the explicit list where no step does (which
    transformers then reads instead of the step)."""
    flags = [i in sparse for i in range(num_layers)]
    for step in range(1, num_layers + 1):
        if sparse and interleaved(num_layers, step) == flags:
            return {"interleave_moe_layer_step": step}
    return {"moe_layers": sparse, "interleave_moe_layer_step": 1}


CONVERTERS = {"llama4_text": (llama4_text_to_spec, llama4_text_to_config)}
