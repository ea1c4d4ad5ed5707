"""Granite configs (IBM Granite 3.x and 4.1 dense): Llama's blocks with four published
multipliers -- the embeddings times `embedding_multiplier`, the softmax scale set to
`attention_multiplier` itself, each sublayer's output times `residual_multiplier` before it
joins the residual, and the logits divided by `logits_scaling`.

Each multiplier lands on the spec field that means the same thing: `embedding_multiplier`,
Attention.query_scale, both ResidualScale weights of the layer (alpha 1, beta the
multiplier) and `output_logit_scale` (the reciprocal of logits_scaling).
"""

from __future__ import annotations

import math

from ..arch import ArchSpec
from ..components import Layer, ResidualScale
from ..ffn import MLP
from ..mixers import Attention
from ..parts import Norm
from .common import (
    FAMILIES,
    HIDDEN_ACTS,
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

# transformers' GraniteConfig defaults for the keys a config may leave out
DEFAULTS = {"rms_norm_eps": 1e-6, "embedding_multiplier": 1.0, "attention_multiplier": 1.0,
            "residual_multiplier": 1.0, "logits_scaling": 1.0}
MULTIPLIERS = ("embedding_multiplier", "attention_multiplier", "residual_multiplier", "logits_scaling")


def granite_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    r.config = DEFAULTS | r.config
    base = read_base(r)
    d = base["d_model"]
    heads = r.int("num_attention_heads")
    kv_heads = r.int("num_key_value_heads", heads)
    head_dim = r.int("head_dim", max(d // heads, 1))  # transformers reads it when present
    multiplier = {key: r.float(key, positive=True) for key in MULTIPLIERS}
    logit_scale = 1.0 / multiplier["logits_scaling"]
    if not math.isfinite(logit_scale):  # a subnormal divisor: its reciprocal overflows
        r.problem("logits_scaling", f"{r.config['logits_scaling']!r} is too small to divide the logits by")
        logit_scale = 1.0
    norm = Norm("rmsnorm", r.float("rms_norm_eps", positive=True))
    bias = r.bool("attention_bias", False)  # q, k, v and o alike
    mlp = MLP(r.int("intermediate_size"), activation_from_hf(r.str("hidden_act", "silu", HIDDEN_ACTS)), gated=True,
              bias=r.bool("mlp_bias", False))
    attention = Attention(num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim, rope=r.rope(head_dim),
                          qkv_bias=bias, out_bias=bias, query_scale=multiplier["attention_multiplier"])
    residual = ResidualScale(1.0, multiplier["residual_multiplier"])
    layer = Layer(attention, mlp, norm, "pre", mixer_residual=residual, ffn_residual=residual)
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type,
                    layers=(layer,) * r.int("num_hidden_layers"), final_norm=norm,
                    embedding_multiplier=multiplier["embedding_multiplier"],
                    output_logit_scale=logit_scale, **base)


def granite_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (Attention,), (MLP,))
    if spec.embedding_scale or spec.final_logit_softcap:
        reject("embedding_scale" if spec.embedding_scale else "final_logit_softcap",
               "Granite configs hold a constant embedding multiplier and no logit softcap")
    for index, layer in enumerate(spec.layers):
        attention = attention_of(layer)
        reasons = []
        if layer.norm_placement != "pre" or layer.parallel or layer.residual_from_norm or layer.laurel_rank:
            reasons.append("a Pre-Norm sequential block")
        if attention.rope is None or attention.sliding_window or attention.chunk_size or attention.qk_norm:
            reasons.append("global attention with RoPE and no QK-norm")
        if attention.qkv_bias != attention.out_bias:
            reasons.append("one bias setting for q, k, v and o")
        if (layer.mixer_residual or ResidualScale()) != (layer.ffn_residual or ResidualScale()) \
                or (layer.mixer_residual or ResidualScale()).alpha != 1.0:
            reasons.append("one residual_multiplier on both sublayers' outputs (the residual itself unweighted)")
        if reasons:
            reject(f"layers[{index}]", "a Granite layer is " + "; ".join(reasons))
    mlp = the_one(spec, "feed-forward", lambda layer: layer.ffn)
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if norm.kind != "rmsnorm" or norm.unit_offset or spec.final_norm != norm:
        reject("layers[0].norm", "Granite uses one RMSNorm (weight w, not 1 + w) throughout")
    if not mlp.gated:
        reject("layers[0].ffn", "Granite's MLP is gated")
    head_dim = the_one(spec, "head_dim", lambda layer: layer.mixer.head_dim)
    residual = the_one(spec, "residual multiplier", lambda layer: layer.mixer_residual) or ResidualScale()
    scale = the_one(spec, "softmax scale", lambda layer: layer.mixer.query_scale
                    or (layer.mixer.query_pre_attn_scalar or head_dim) ** -0.5)
    return write_base(spec) | {
        "num_attention_heads": the_one(spec, "num_heads", lambda layer: layer.mixer.num_heads),
        "num_key_value_heads": the_one(spec, "num_kv_heads", lambda layer: layer.mixer.num_kv_heads),
        "head_dim": head_dim,
        "intermediate_size": mlp.intermediate_size,
        "hidden_act": activation_to_hf(mlp.activation),
        "mlp_bias": mlp.bias,
        "rms_norm_eps": norm.eps,
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
        "rope_parameters": rope_to_parameters(the_one(spec, "rope", lambda layer: layer.mixer.rope), head_dim),
        "embedding_multiplier": spec.embedding_multiplier,
        "attention_multiplier": scale,
        "residual_multiplier": residual.beta,
        "logits_scaling": 1.0 / spec.output_logit_scale,
        # Token ids belong to the tokenizer; a default one could fall outside a shrunken vocabulary.
        "pad_token_id": None,
        "bos_token_id": None,
        "eos_token_id": None,
    }


CONVERTERS = {"granite": (granite_to_spec, granite_to_config)}
