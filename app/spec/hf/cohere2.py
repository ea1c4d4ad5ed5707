"""Cohere2 configs (Command R7B, Command A, Tiny Aya): parallel blocks -- attention and a
SwiGLU MLP on one LayerNorm (no bias) of the layer's input, both added to the residual --
with sliding-window layers under interleaved RoPE and global layers without positions
(NoPE) in a fixed pattern, logits scaled by `logit_scale`, and tied embeddings.

transformers derives head_dim as hidden_size / num_attention_heads whatever the config says,
so a config whose head_dim differs is refused rather than read at a width the reference
would not build.
"""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import Layer
from ..errors import Problem, SpecError
from ..ffn import MLP
from ..mixers import Attention
from ..parts import Norm
from ..patterns import kth_interval, local_global
from .common import (
    FAMILIES,
    LAYER_TYPES,
    activation_from_hf,
    activation_to_hf,
    attention_of,
    only_kinds,
    read_base,
    the_one,
    write_base,
)
from .reader import ConfigReader, rope_to_parameters

# transformers' Cohere2Config defaults for the keys a config may leave out
DEFAULTS = {"layer_norm_eps": 1e-5, "logit_scale": 0.0625, "sliding_window": 4096, "tie_word_embeddings": True}
ACTIVATIONS = ("silu", "gelu", "gelu_pytorch_tanh", "gelu_new")


def cohere2_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    r.config = DEFAULTS | r.config
    base = read_base(r)
    d = base["d_model"]
    n = r.int("num_hidden_layers")
    heads = r.int("num_attention_heads")
    kv_heads = r.int("num_key_value_heads", heads)
    head_dim = max(d // heads, 1)
    if r.has("head_dim") and r.int("head_dim") != head_dim:
        r.problem("head_dim", f"Cohere2 derives it as hidden_size / num_attention_heads = {head_dim}, found "
                  f"{r.config['head_dim']!r}")
    norm = Norm("layernorm", r.float("layer_norm_eps", positive=True), bias=False)
    mlp = MLP(r.int("intermediate_size"), activation_from_hf(r.str("hidden_act", "silu", ACTIVATIONS)), gated=True)
    types = r.str_list("layer_types", n, LAYER_TYPES)
    if types is not None:
        sliding = [kind == "sliding_attention" for kind in types]
    else:  # the older key: every `sliding_window_pattern`-th layer is global
        sliding = local_global(n, r.int("sliding_window_pattern", 4) - 1)
    window = r.int("sliding_window", 0, minimum=0)
    if not window and any(sliding):
        r.problem("sliding_window", "the layer pattern has sliding layers, so a window is required")
    rope = replace(r.rope(head_dim), interleaved=True)  # GPT-J style pairs, on sliding layers only
    bias = r.bool("attention_bias", False)
    layers = []
    for is_sliding in sliding:
        attention = Attention(num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
                              rope=rope if is_sliding else None, sliding_window=window if is_sliding else 0,
                              qkv_bias=bias, out_bias=bias)
        layers.append(Layer(attention, mlp, norm, "pre", parallel=True))
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=tuple(layers),
                    final_norm=norm, output_logit_scale=r.float("logit_scale", positive=True), **base)


def cohere2_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (Attention,), (MLP,))
    for index, layer in enumerate(spec.layers):
        attention = layer.mixer
        reasons = []
        if not layer.parallel:
            reasons.append("a parallel block")
        if attention.is_local != (attention.rope is not None) or attention.chunk_size:
            reasons.append("RoPE with a sliding window, or a global layer with no positions")
        rope = attention.rope
        if rope is not None and (not rope.interleaved or rope.rotary_dim != attention.head_dim):
            reasons.append("interleaved RoPE over the whole head")
        if attention.num_heads * attention.head_dim != spec.d_model:
            reasons.append("heads x head_dim equal to hidden_size")
        if reasons:
            raise SpecError([Problem(f"layers[{index}]", "a Cohere2 layer is " + "; ".join(reasons))])
    mlp = the_one(spec, "feed-forward", lambda layer: layer.ffn)
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if norm.kind != "layernorm" or norm.bias or spec.final_norm != norm:
        raise SpecError([Problem("layers[0].norm", "Cohere2 uses one LayerNorm without bias throughout")])
    if not mlp.gated or mlp.bias:
        raise SpecError([Problem("layers[0].ffn", "Cohere2's MLP is gated and has no bias")])
    sliding = [attention_of(layer).is_local for layer in spec.layers]
    windows = [i for i, s in enumerate(sliding) if s]
    with_rope = [i for i, layer in enumerate(spec.layers) if layer.mixer.rope is not None]
    head_dim = the_one(spec, "head_dim", lambda layer: layer.mixer.head_dim)
    rope = the_one(spec, "rope", lambda layer: layer.mixer.rope, with_rope) if with_rope else None
    # the older key the published configs also carry: every pattern-th layer is global
    pattern = kth_interval([not s for s in sliding])
    return write_base(spec) | ({"sliding_window_pattern": pattern} if pattern else {}) | {
        "num_attention_heads": the_one(spec, "num_heads", lambda layer: layer.mixer.num_heads),
        "num_key_value_heads": the_one(spec, "num_kv_heads", lambda layer: layer.mixer.num_kv_heads),
        "head_dim": head_dim,
        "intermediate_size": mlp.intermediate_size,
        "hidden_act": activation_to_hf(mlp.activation),
        "layer_norm_eps": norm.eps,
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
        "logit_scale": spec.output_logit_scale,
        "layer_types": [LAYER_TYPES[s] for s in sliding],
        "sliding_window": the_one(spec, "sliding window", lambda l: l.mixer.sliding_window, windows)
        if windows else None,
        # a model with no sliding layer has no rotation anywhere: any theta stands
        "rope_parameters": rope_to_parameters(replace(rope, interleaved=False), head_dim) if rope is not None
        else {"rope_type": "default", "rope_theta": 10_000.0},
        "pad_token_id": None,
    }


CONVERTERS = {"cohere2": (cohere2_to_spec, cohere2_to_config)}
