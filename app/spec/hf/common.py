"""Pieces shared by the converters: the keys every decoder config has, the check that a
spec is uniform where a config format can only hold one value, and the readers and
writers that more than one model_type's converter uses."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from ..arch import ArchSpec
from ..errors import Problem, SpecError
from ..mixers import Attention
from ..parts import Norm, QKNorm, Rope
from .reader import ConfigReader

T = TypeVar("T")

# The catalog family a model_type belongs to, for specs read from a bare config.
FAMILIES = {
    "gpt2": "GPT-2", "llama": "Llama", "mistral": "Mistral", "qwen2": "Qwen2", "qwen3": "Qwen3", "olmo2": "OLMo 2",
    "olmo3": "Olmo 3", "gemma3_text": "Gemma 3", "smollm3": "SmolLM3", "phi3": "Phi-3", "qwen3_moe": "Qwen3 MoE",
    "gpt_oss": "gpt-oss", "deepseek_v3": "DeepSeek V3", "deepseek_v32": "DeepSeek V3.2", "glm_moe_dsa": "GLM-5",
    "llama4_text": "Llama 4", "glm4_moe": "GLM-4.5", "minimax": "MiniMax-M1", "minimax_m2": "MiniMax-M2",
    "mimo_v2_flash": "MiMo-V2-Flash", "qwen3_next": "Qwen3-Next", "kimi_linear": "Kimi Linear",
    "qwen3_5_text": "Qwen3.5", "qwen3_5_moe_text": "Qwen3.5 MoE",
    "nemotron_h": "Nemotron 3", "lfm2": "LFM2", "lfm2_moe": "LFM2 MoE", "gemma3": "Gemma 3",
    "mllama": "Llama 3.2 Vision", "gemma4_text": "Gemma 4", "gemma4_unified_text": "Gemma 4", "cohere2": "Cohere2",
    "laguna": "Laguna", "granite": "Granite", "mellum": "Mellum", "afmoe": "Trinity", "step3p5": "Step 3.5", "mistral4": "Mistral Small 4",
    "hy_v3": "Hy3",
}


def the_one(spec: ArchSpec, what: str, get: Callable[[Any], T], layers=None) -> T:
    """The single value `get` gives on every (selected) layer; a format that stores one
    value cannot express a spec whose layers disagree."""
    indices = range(spec.num_layers) if layers is None else layers
    values = {}
    for index in indices:
        values.setdefault(get(spec.layers[index]), index)
    if not values:
        raise SpecError([Problem("layers", f"no layer has {what}")])
    if len(values) > 1:
        (first, _), (other, index) = list(values.items())[:2]
        raise SpecError([Problem(f"layers[{index}]", f"{what} {other!r} differs from {first!r}; "
                                 f"{spec.model_type} configs hold one value for every layer")])
    return next(iter(values))


def attention_of(layer) -> Attention:
    if not isinstance(layer.mixer, Attention):
        raise SpecError([Problem("layers", f"expected softmax attention, found {layer.mixer_kind}")])
    return layer.mixer


def read_base(r: ConfigReader) -> dict:
    """vocab, width, depth and the few model-level flags most configs share."""
    return dict(
        vocab_size=r.int("vocab_size"),
        d_model=r.int("hidden_size"),
        max_context=r.int("max_position_embeddings", 0, minimum=0),
        tie_embeddings=r.bool("tie_word_embeddings", False),
    )


def write_base(spec: ArchSpec) -> dict:
    return {
        "model_type": spec.model_type,
        "vocab_size": spec.vocab_size,
        "hidden_size": spec.d_model,
        "num_hidden_layers": spec.num_layers,
        "max_position_embeddings": spec.max_context,
        "tie_word_embeddings": spec.tie_embeddings,
    }


def qk_norm(scope: str | None, norm: Norm) -> QKNorm | None:
    return QKNorm(scope, norm) if scope else None


HIDDEN_ACTS = ("silu", "gelu", "gelu_pytorch_tanh", "gelu_new", "relu2")


def activation_from_hf(name: str) -> str:
    return {"gelu_pytorch_tanh": "gelu_tanh", "gelu_new": "gelu_tanh"}.get(name, name)


def activation_to_hf(name: str) -> str:
    return {"gelu_tanh": "gelu_pytorch_tanh"}.get(name, name)


# --- readers the hybrid converters share ------------------------------------------------

# the layer types of the linear-attention hybrids' layer_types lists
MIXER_TYPES = ("linear_attention", "full_attention")


def key_of(r: ConfigReader, *names: str) -> str:
    """The first of several names for one setting that the config uses (the published
    name or transformers' own); the first name when none is present."""
    return next((name for name in names if r.has(name)), names[0])


def index_list(r: ConfigReader, key: str, upper: int, base: int = 0) -> list[int]:
    """A list of layer numbers (0- or 1-based) such as mlp_only_layers or kda_layers."""
    value = r.config.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        r.problem(key, "expected a list of layer numbers")
        return []
    bad = [v for v in value if not base <= v < upper + base]
    if bad:
        r.problem(key, f"layer numbers {bad} outside {base}..{upper + base - 1}")
        return []
    return [v - base for v in value]


def layers_of(spec: ArchSpec, kind: type, part: str = "mixer") -> list[int]:
    return [i for i, layer in enumerate(spec.layers) if isinstance(getattr(layer, part), kind)]


def only_kinds(spec: ArchSpec, mixers: tuple, ffns: tuple) -> None:
    """A config format holds only the layer kinds its model_type builds."""
    for i, layer in enumerate(spec.layers):
        if type(layer.mixer) not in mixers or type(layer.ffn) not in ffns:
            raise SpecError([Problem(f"layers[{i}]", f"{layer.mixer_kind} + {layer.ffn_kind} is not a layer "
                                     f"{spec.model_type} configs can express")])


# --- readers and writers the MoE converters share ----------------------------------------

# the layer types of an attention-only model's layer_types list
LAYER_TYPES = ("full_attention", "sliding_attention")


def ropes_by_layer_type(r: ConfigReader, head_dim: int, types: list[str],
                        defaults: dict[str, Rope]) -> dict[str, Rope]:
    """The rope of each layer type the model uses, from a `rope_parameters` keyed by layer
    type (Laguna, Mellum); `defaults` (the configuration class's) when the config has none."""
    if r.config.get("rope_parameters") is None:
        return dict(defaults)
    params = r.config["rope_parameters"]
    ropes = {}
    for kind in sorted(set(types)):
        if not isinstance(params, dict) or not isinstance(params.get(kind), dict):
            r.problem("rope_parameters", f"needs an object for layer type {kind!r} ({r.config.get('model_type')} "
                      "keys its RoPE by layer type)")
            ropes[kind] = Rope(theta=10_000.0, rotary_dim=head_dim)
        else:
            ropes[kind] = r.rope(head_dim, kind)
    return ropes


def read_heads(r: ConfigReader, d: int, default_head_dim: int | None = None) -> tuple[int, int, int]:
    """(query heads, key/value heads, head dim), with the defaults transformers gives them."""
    heads = r.int("num_attention_heads")
    kv_heads = r.int("num_key_value_heads", heads)
    head_dim = r.int("head_dim", default_head_dim or max(d // heads, 1))
    return heads, kv_heads, head_dim


def write_heads(spec: ArchSpec) -> dict:
    """The head keys of a spec whose attention layers all agree."""
    return {
        "num_attention_heads": the_one(spec, "num_heads", lambda layer: attention_of(layer).num_heads),
        "num_key_value_heads": the_one(spec, "num_kv_heads", lambda layer: attention_of(layer).num_kv_heads),
        "head_dim": the_one(spec, "head_dim", lambda layer: attention_of(layer).head_dim),
    }


def moe_layers(spec: ArchSpec) -> list[int]:
    return [i for i, layer in enumerate(spec.layers) if layer.ffn_kind == "moe"]


def reject(what: str, message: str) -> None:
    """A spec the format cannot express: SpecError at `what`."""
    raise SpecError([Problem(what, message)])
