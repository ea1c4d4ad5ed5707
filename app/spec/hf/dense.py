"""Dense decoder configs: GPT-2 and the Llama lineage written as its differences --
Qwen2 adds q/k/v biases, Qwen3 QK-norm instead, OLMo 2 moves the norms after the
sublayers, Olmo 3 adds sliding layers, Gemma 3 adds sandwich norms and (1 + w) scales,
SmolLM3 drops RoPE every 4th, Phi-3 fuses the projections (the same weights) and keeps
Mistral's one window for every layer."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..arch import ArchSpec
from ..components import Layer
from ..errors import Problem, SpecError
from ..ffn import MLP
from ..mixers import Attention
from ..parts import Norm, Rope
from ..patterns import every_kth, kth_interval, local_global
from .common import (
    FAMILIES,
    HIDDEN_ACTS,
    activation_from_hf,
    activation_to_hf,
    attention_of,
    qk_norm,
    read_base,
    the_one,
    write_base,
)
from .reader import ConfigReader, rope_to_parameters


@dataclass(frozen=True)
class Traits:
    """What a Llama-lineage model_type changes relative to Llama."""

    qk_norm: str | None = None  # "head" or "all_heads"
    norm_placement: str = "pre"
    unit_offset_norm: bool = False
    # Which layers slide: "none"; "uniform" (Mistral: one `sliding_window` for every layer);
    # "layer_types" (a per-layer list, or the model's own rule when the list is absent).
    windows: str = "none"
    sliding_switch: bool = False  # Qwen3, SmolLM3: windows apply only with use_sliding_window
    # Olmo 3, Gemma 3: rope scaling (YaRN, linear) applies to the full-attention layers only;
    # sliding layers keep plain RoPE, at their own theta in Gemma 3.
    rope_per_layer_type: bool = False
    nope_layers: bool = False  # SmolLM3's no_rope_layers
    gemma: bool = False  # embedding scale, query_pre_attn_scalar, softcaps, hidden_activation
    attention_bias_key: bool = True  # Mistral's projections never have a bias
    qkv_bias_always: bool = False  # Qwen2: q/k/v always have biases, the output never (no config key)
    mlp_bias_key: bool = False
    # transformers' config defaults for keys a published config.json may leave out (the
    # Gemma 3 multimodal configs omit every text key equal to Gemma3TextConfig's default).
    defaults: dict = field(default_factory=dict)


TRAITS = {
    "llama": Traits(mlp_bias_key=True, defaults={"rms_norm_eps": 1e-6}),
    "mistral": Traits(windows="uniform", attention_bias_key=False,
                      defaults={"rms_norm_eps": 1e-6, "sliding_window": 4096}),
    "qwen2": Traits(windows="layer_types", sliding_switch=True, attention_bias_key=False, qkv_bias_always=True,
                    defaults={"rms_norm_eps": 1e-6, "max_window_layers": 28}),
    "qwen3": Traits(qk_norm="head", windows="layer_types", sliding_switch=True,
                    defaults={"rms_norm_eps": 1e-6, "head_dim": 128, "max_window_layers": 28}),
    "olmo2": Traits(qk_norm="all_heads", norm_placement="post", defaults={"rms_norm_eps": 1e-5}),
    "olmo3": Traits(qk_norm="all_heads", norm_placement="post", windows="layer_types", rope_per_layer_type=True,
                    defaults={"rms_norm_eps": 1e-5, "rope_theta": 500_000.0, "sliding_window": 4096}),
    "gemma3_text": Traits(qk_norm="head", norm_placement="sandwich", unit_offset_norm=True, windows="layer_types",
                          rope_per_layer_type=True, gemma=True, defaults={
                              "vocab_size": 262_208, "num_attention_heads": 8, "num_key_value_heads": 4,
                              "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh",
                              "max_position_embeddings": 131_072, "rms_norm_eps": 1e-6, "tie_word_embeddings": True,
                              "query_pre_attn_scalar": 256, "sliding_window": 4096, "sliding_window_pattern": 6,
                              "rope_theta": 1_000_000.0, "rope_local_base_freq": 10_000.0}),
    # Phi-3 / Phi-4: Llama's blocks with q/k/v and gate/up each stored as one fused matrix
    # (the same parameters), no biases, and one optional window for every layer.
    "phi3": Traits(windows="uniform", attention_bias_key=False, defaults={"rms_norm_eps": 1e-5}),
    "smollm3": Traits(windows="layer_types", sliding_switch=True, nope_layers=True, mlp_bias_key=True,
                      defaults={"rms_norm_eps": 1e-6, "rope_theta": 2_000_000.0, "tie_word_embeddings": True,
                                "no_rope_layer_interval": 4}),
}
LAYER_TYPES = ("full_attention", "sliding_attention")


def default_sliding_layers(r: ConfigReader, model_type: str, n: int, nope: list[bool]) -> list[bool]:
    """Each model's own rule for which layers slide when the config has no `layer_types`."""
    if model_type == "olmo3":  # three sliding layers, then one full
        return local_global(n, 3)
    if model_type == "gemma3_text":  # published configs give the period (6: five local, one global)
        return local_global(n, r.int("sliding_window_pattern") - 1)
    if model_type in ("qwen2", "qwen3"):  # the layers from max_window_layers on
        first = r.int("max_window_layers", minimum=0)
        return [i >= first for i in range(n)]
    return list(nope)  # SmolLM3's rule: its NoPE layers are the sliding ones


def read_sliding(r: ConfigReader, traits: Traits, model_type: str, n: int, nope: list[bool]) -> tuple[list[bool], int]:
    """(which layers slide, their window)."""
    if traits.windows == "none":
        return [False] * n, 0
    window = r.int("sliding_window", 0, minimum=0)  # null: no window
    if traits.windows == "uniform":
        return [window > 0] * n, window
    types = r.str_list("layer_types", n, LAYER_TYPES)
    sliding = [t == "sliding_attention" for t in types] if types else default_sliding_layers(r, model_type, n, nope)
    if traits.sliding_switch and not r.bool("use_sliding_window", False):
        window = 0
    if not window:
        return [False] * n, 0
    return sliding, window


def read_ropes(r: ConfigReader, traits: Traits, head_dim: int) -> tuple[Rope, Rope]:
    """(the rope of full-attention layers, the rope of sliding layers)."""
    if not traits.rope_per_layer_type:
        rope = r.rope(head_dim)
        return rope, rope
    params = r.config.get("rope_parameters")
    if isinstance(params, dict) and any(isinstance(value, dict) for value in params.values()):
        return r.rope(head_dim, "full_attention"), r.rope(head_dim, "sliding_attention")
    # Published style: rope_theta and rope_scaling describe the full-attention layers.
    full = r.rope(head_dim)
    local_theta = r.float("rope_local_base_freq", positive=True) if traits.gemma else full.theta
    return full, Rope(theta=local_theta, rotary_dim=full.rotary_dim)


def llama_like_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    traits = TRAITS[model_type]
    r.config = traits.defaults | r.config  # keys the config leaves out take transformers' default
    base = read_base(r)
    d = base["d_model"]
    n = r.int("num_hidden_layers")
    heads = r.int("num_attention_heads")
    kv_heads = r.int("num_key_value_heads", heads)
    head_dim = r.int("head_dim", max(d // heads, 1))
    norm = Norm("rmsnorm", r.float("rms_norm_eps", positive=True), traits.unit_offset_norm)
    bias = r.bool("attention_bias", False) if traits.attention_bias_key else False
    activation = r.str("hidden_activation" if traits.gemma else "hidden_act", "silu", HIDDEN_ACTS)
    mlp = MLP(r.int("intermediate_size"), activation_from_hf(activation), gated=True,
              bias=r.bool("mlp_bias", False) if traits.mlp_bias_key else False)

    nope = [False] * n
    if traits.nope_layers:
        flags = r.int_list("no_rope_layers", n)  # 1: uses rope, 0: NoPE
        nope = [f == 0 for f in flags] if flags is not None else every_kth(n, r.int("no_rope_layer_interval"))
    sliding, window = read_sliding(r, traits, model_type, n, nope)
    global_rope, local_rope = read_ropes(r, traits, head_dim)

    layers = []
    for i in range(n):
        attention = Attention(
            num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
            rope=None if nope[i] else (local_rope if sliding[i] else global_rope),
            sliding_window=window if sliding[i] else 0,
            qkv_bias=bias or traits.qkv_bias_always, out_bias=bias,
            qk_norm=qk_norm(traits.qk_norm, norm),
            logit_softcap=r.float("attn_logit_softcapping", 0.0) if traits.gemma else 0.0,
            query_pre_attn_scalar=r.float("query_pre_attn_scalar") if traits.gemma else 0.0,
        )
        layers.append(Layer(attention, mlp, norm, traits.norm_placement))
    return ArchSpec(
        name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=tuple(layers),
        final_norm=norm, embedding_scale=traits.gemma,
        final_logit_softcap=r.float("final_logit_softcapping", 0.0) if traits.gemma else 0.0,
        **base,
    )


def sliding_to_config(spec: ArchSpec, traits: Traits, sliding: list[bool]) -> dict:
    windows = [i for i, s in enumerate(sliding) if s]
    window = the_one(spec, "sliding window", lambda l: l.mixer.sliding_window, windows) if windows else None
    if traits.windows == "uniform":
        if windows and len(windows) != spec.num_layers:
            the_one(spec, "sliding window", lambda l: l.mixer.sliding_window)  # raises: some layers differ
        return {"sliding_window": window}
    config = {"layer_types": [LAYER_TYPES[s] for s in sliding], "sliding_window": window}
    if traits.sliding_switch:
        config["use_sliding_window"] = bool(windows)
    # The older keys the published configs also carry, where the layers follow their rule
    # (layer_types, written above, is what transformers reads first).
    if spec.model_type == "gemma3_text" and (period := kth_interval([not s for s in sliding])):
        config["sliding_window_pattern"] = period
    first = windows[0] if windows else spec.num_layers
    if spec.model_type in ("qwen2", "qwen3") and sliding == [i >= first for i in range(spec.num_layers)]:
        config["max_window_layers"] = first
    return config


def rope_to_config(spec: ArchSpec, traits: Traits, sliding: list[bool]) -> dict:
    head_dim = attention_of(spec.layers[0]).head_dim
    with_rope = [i for i, layer in enumerate(spec.layers) if layer.mixer.rope is not None]
    if not traits.rope_per_layer_type:
        return {"rope_parameters": rope_to_parameters(the_one(spec, "rope", lambda l: l.mixer.rope, with_rope),
                                                      head_dim)}
    ropes = {}
    for kind, is_sliding in (("full_attention", False), ("sliding_attention", True)):
        indices = [i for i in with_rope if sliding[i] == is_sliding]
        if indices:
            ropes[kind] = the_one(spec, f"{kind} rope", lambda l: l.mixer.rope, indices)
    if not ropes:
        the_one(spec, "rope", lambda l: l.mixer.rope, [])  # raises: no layer has rope
    # a layer type with no layers still needs an entry: it borrows the other's, unscaled
    other = next(iter(ropes.values()))
    for kind in LAYER_TYPES:
        ropes.setdefault(kind, replace(other, scaling=None))
    return {"rope_parameters": {kind: rope_to_parameters(rope, head_dim) for kind, rope in ropes.items()}}


def llama_like_to_config(spec: ArchSpec) -> dict:
    traits = TRAITS[spec.model_type]
    the_one(spec, "mixer", lambda layer: attention_of(layer).kind)
    mlp = the_one(spec, "feed-forward", lambda layer: layer.ffn)
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    config = write_base(spec) | {
        "num_attention_heads": the_one(spec, "num_heads", lambda layer: layer.mixer.num_heads),
        "num_key_value_heads": the_one(spec, "num_kv_heads", lambda layer: layer.mixer.num_kv_heads),
        "head_dim": the_one(spec, "head_dim", lambda layer: layer.mixer.head_dim),
        "intermediate_size": mlp.intermediate_size,
        "rms_norm_eps": norm.eps,
        # Token ids belong to the tokenizer, and a default pad id (SmolLM3's 128004) would
        # fall outside a shrunken vocabulary.
        "pad_token_id": None,
    }
    if traits.attention_bias_key:
        config["attention_bias"] = the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias)
    if traits.qkv_bias_always:
        for index, layer in enumerate(spec.layers):
            if not layer.mixer.qkv_bias or layer.mixer.out_bias:
                raise SpecError([Problem(f"layers[{index}].mixer", f"{spec.model_type} configs always have "
                                         "q/k/v biases and no output bias")])
    config["hidden_activation" if traits.gemma else "hidden_act"] = activation_to_hf(mlp.activation)
    if traits.mlp_bias_key:
        config["mlp_bias"] = mlp.bias
    sliding = [bool(layer.mixer.sliding_window) for layer in spec.layers]
    if traits.windows != "none":
        config.update(sliding_to_config(spec, traits, sliding))
    if traits.nope_layers:
        nope = [layer.mixer.rope is None for layer in spec.layers]
        config["no_rope_layers"] = [int(not flag) for flag in nope]
        if interval := kth_interval(nope):
            config["no_rope_layer_interval"] = interval
    if spec.model_type == "phi3":
        # Phi-3's long-context RoPE starts from this length; with no scaling it is the context
        config["original_max_position_embeddings"] = spec.max_context
        config["attention_bias"] = False
    config.update(rope_to_config(spec, traits, sliding))
    if traits.gemma:
        scalar = the_one(spec, "query_pre_attn_scalar", lambda l: l.mixer.query_pre_attn_scalar)
        config["query_pre_attn_scalar"] = int(scalar) if float(scalar).is_integer() else scalar  # an int field
        config["attn_logit_softcapping"] = the_one(spec, "logit softcap", lambda l: l.mixer.logit_softcap) or None
        config["final_logit_softcapping"] = spec.final_logit_softcap or None
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
