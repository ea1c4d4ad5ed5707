"""Dense decoder configs: GPT-2 and the Llama lineage written as its differences --
Qwen3 adds QK-norm, OLMo 2 moves the norms after the sublayers, Olmo 3 adds sliding
layers, Gemma 3 adds sandwich norms and (1 + w) scales, SmolLM3 drops RoPE every 4th."""

from __future__ import annotations

from dataclasses import dataclass

from ..arch import ArchSpec
from ..components import MLP, Attention, Layer, Norm, Rope
from ..patterns import every_kth
from .common import FAMILIES, HIDDEN_ACTS, activation_from_hf, activation_to_hf, attention_of, qk_norm, \
    read_base, the_one, write_base
from .reader import ConfigReader, rope_to_parameters


@dataclass(frozen=True)
class Traits:
    """What a Llama-lineage model_type changes relative to Llama."""

    qk_norm: str | None = None  # "head" or "all_heads"
    norm_placement: str = "pre"
    unit_offset_norm: bool = False
    layer_types: bool = False  # sliding/full per layer from `layer_types`
    uniform_window: bool = False  # one `sliding_window` for every layer (Mistral)
    nope_layers: bool = False  # SmolLM3's no_rope_layers
    gemma: bool = False  # embedding scale, query_pre_attn_scalar, softcaps, per-type rope
    mlp_bias_key: bool = False
    default_eps: float = 1e-6


TRAITS = {
    "llama": Traits(mlp_bias_key=True, default_eps=1e-6),
    "mistral": Traits(uniform_window=True),
    "qwen3": Traits(qk_norm="head"),
    "olmo2": Traits(qk_norm="all_heads", norm_placement="post", default_eps=1e-5),
    "olmo3": Traits(qk_norm="all_heads", norm_placement="post", layer_types=True, default_eps=1e-5),
    "gemma3_text": Traits(qk_norm="head", norm_placement="sandwich", unit_offset_norm=True, layer_types=True,
                          gemma=True),
    "smollm3": Traits(nope_layers=True, mlp_bias_key=True),
}
LAYER_TYPES = ("full_attention", "sliding_attention")


def llama_like_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    traits = TRAITS[model_type]
    base = read_base(r)
    d = base["d_model"]
    n = r.int("num_hidden_layers")
    heads = r.int("num_attention_heads")
    kv_heads = r.int("num_key_value_heads", heads)
    head_dim = r.int("head_dim", max(d // heads, 1))
    norm = Norm("rmsnorm", r.float("rms_norm_eps", traits.default_eps, positive=True), traits.unit_offset_norm)
    bias = r.bool("attention_bias", False)
    activation = r.str("hidden_activation" if traits.gemma else "hidden_act", "gelu_pytorch_tanh"
                       if traits.gemma else "silu", HIDDEN_ACTS)
    mlp = MLP(r.int("intermediate_size"), activation_from_hf(activation), gated=True,
              bias=r.bool("mlp_bias", False) if traits.mlp_bias_key else False)

    sliding = [False] * n
    window = 0
    if traits.layer_types:
        types = r.str_list("layer_types", n, LAYER_TYPES)
        if types is None and traits.gemma:  # published Gemma 3 configs give the period instead
            period = r.int("sliding_window_pattern", 6)
            types = ["full_attention" if (i + 1) % period == 0 else "sliding_attention" for i in range(n)]
        sliding = [t == "sliding_attention" for t in types] if types else sliding
        window = r.int("sliding_window", 4096) if any(sliding) else 0
    elif traits.uniform_window and r.has("sliding_window"):
        window = r.int("sliding_window")
        sliding = [True] * n
    nope = [False] * n
    if traits.nope_layers:
        flags = r.int_list("no_rope_layers", n)  # 1: uses rope, 0: NoPE
        nope = [f == 0 for f in flags] if flags is not None else every_kth(n, r.int("no_rope_layer_interval", 4))

    if traits.gemma:
        global_rope = r.rope(head_dim, "full_attention", default_theta=1_000_000.0)
        if isinstance(r.config.get("rope_parameters"), dict) and "sliding_attention" in r.config["rope_parameters"]:
            local_rope = r.rope(head_dim, "sliding_attention")
        else:
            local_rope = Rope(theta=r.float("rope_local_base_freq", 10000.0, positive=True), rotary_dim=head_dim)
    else:
        global_rope = local_rope = r.rope(head_dim)

    layers = []
    for i in range(n):
        attention = Attention(
            num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
            rope=None if nope[i] else (local_rope if sliding[i] else global_rope),
            sliding_window=window if sliding[i] else 0,
            qkv_bias=bias, out_bias=bias,
            qk_norm=qk_norm(traits.qk_norm, norm),
            logit_softcap=r.float("attn_logit_softcapping", 0.0) if traits.gemma else 0.0,
            query_pre_attn_scalar=r.float("query_pre_attn_scalar", head_dim) if traits.gemma else 0.0,
        )
        layers.append(Layer(attention, mlp, norm, traits.norm_placement))
    return ArchSpec(
        name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=tuple(layers),
        final_norm=norm, embedding_scale=traits.gemma,
        final_logit_softcap=r.float("final_logit_softcapping", 0.0) if traits.gemma else 0.0,
        **base,
    )


def llama_like_to_config(spec: ArchSpec) -> dict:
    traits = TRAITS[spec.model_type]
    first = attention_of(spec.layers[0])
    the_one(spec, "mixer", lambda layer: attention_of(layer).kind)
    mlp = the_one(spec, "feed-forward", lambda layer: layer.ffn)
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    config = write_base(spec) | {
        "num_attention_heads": the_one(spec, "num_heads", lambda layer: layer.mixer.num_heads),
        "num_key_value_heads": the_one(spec, "num_kv_heads", lambda layer: layer.mixer.num_kv_heads),
        "head_dim": the_one(spec, "head_dim", lambda layer: layer.mixer.head_dim),
        "intermediate_size": mlp.intermediate_size,
        "rms_norm_eps": norm.eps,
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
    }
    config["hidden_activation" if traits.gemma else "hidden_act"] = activation_to_hf(mlp.activation)
    if traits.mlp_bias_key:
        config["mlp_bias"] = mlp.bias
    sliding = [bool(layer.mixer.sliding_window) for layer in spec.layers]
    windows = [i for i, s in enumerate(sliding) if s]
    if traits.layer_types:
        config["layer_types"] = [LAYER_TYPES[s] for s in sliding]
        config["sliding_window"] = the_one(spec, "sliding window", lambda l: l.mixer.sliding_window, windows) \
            if windows else None
    elif traits.uniform_window:
        config["sliding_window"] = the_one(spec, "sliding window", lambda l: l.mixer.sliding_window) or None
    if traits.nope_layers:
        config["no_rope_layers"] = [int(layer.mixer.rope is not None) for layer in spec.layers]
    with_rope = [i for i, layer in enumerate(spec.layers) if layer.mixer.rope is not None]
    head_dim = first.head_dim
    if traits.gemma:
        full = [i for i, s in enumerate(sliding) if not s]
        config["rope_parameters"] = {
            "full_attention": rope_to_parameters(the_one(spec, "rope", lambda l: l.mixer.rope, full), head_dim),
            "sliding_attention": rope_to_parameters(the_one(spec, "rope", lambda l: l.mixer.rope, windows)
                                                    if windows else spec.layers[full[0]].mixer.rope, head_dim),
        }
        config["query_pre_attn_scalar"] = the_one(spec, "query_pre_attn_scalar",
                                                  lambda l: l.mixer.query_pre_attn_scalar)
        config["attn_logit_softcapping"] = the_one(spec, "logit softcap", lambda l: l.mixer.logit_softcap) or None
        config["final_logit_softcapping"] = spec.final_logit_softcap or None
    else:
        config["rope_parameters"] = rope_to_parameters(
            the_one(spec, "rope", lambda l: l.mixer.rope, with_rope), head_dim)
    return config


def gpt2_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    d = r.int("n_embd")
    heads = r.int("n_head")
    norm = Norm("layernorm", r.float("layer_norm_epsilon", 1e-5, positive=True), bias=True)
    activation = r.str("activation_function", "gelu_new", ("gelu_new", "gelu", "gelu_pytorch_tanh"))
    mlp = MLP(r.int("n_inner", 4 * d), activation_from_hf(activation), gated=False, bias=True)
    attention = Attention(num_heads=heads, num_kv_heads=heads, head_dim=max(d // heads, 1),
                          qkv_bias=True, out_bias=True)
    positions = r.int("n_positions", 1024)
    return ArchSpec(
        name=model_type, family=FAMILIES[model_type], model_type=model_type, vocab_size=r.int("vocab_size"),
        d_model=d, layers=tuple(Layer(attention, mlp, norm) for _ in range(r.int("n_layer"))),
        final_norm=norm, tie_embeddings=r.bool("tie_word_embeddings", True), learned_positions=positions,
        max_context=positions,
    )


def gpt2_to_config(spec: ArchSpec) -> dict:
    mlp = the_one(spec, "feed-forward", lambda layer: layer.ffn)
    return {
        "model_type": "gpt2",
        "vocab_size": spec.vocab_size,
        "n_embd": spec.d_model,
        "n_layer": spec.num_layers,
        "n_head": the_one(spec, "num_heads", lambda layer: attention_of(layer).num_heads),
        "n_inner": mlp.intermediate_size,
        "n_positions": spec.learned_positions,
        "activation_function": {"gelu_tanh": "gelu_new"}.get(mlp.activation, mlp.activation),
        "layer_norm_epsilon": spec.final_norm.eps,
        "tie_word_embeddings": spec.tie_embeddings,
    }


CONVERTERS = {model_type: (llama_like_to_spec, llama_like_to_config) for model_type in TRAITS}
CONVERTERS["gpt2"] = (gpt2_to_spec, gpt2_to_config)
