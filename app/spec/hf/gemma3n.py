"""Gemma 3n text configs (`gemma3n_text`): Gemma 3's sandwich-normed, 4 local : 1 global
attention with plain (not 1 + w) RMSNorm scales, value norms and unit query scaling, plus
per-layer embeddings, AltUp, LAuReL, KV sharing in the last layers, Gaussian top-k
activation sparsity in the first ones, and per-layer FFN widths (MatFormer)."""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..errors import Problem, SpecError
from ..ffn import MLP
from ..mixers import Attention
from ..on_device import AltUp, MatFormer, PerLayerEmbedding
from ..parts import Norm, QKNorm
from .common import HIDDEN_ACTS, activation_from_hf, activation_to_hf, attention_of, read_base, the_one, write_base
from .dense import LAYER_TYPES, Traits, read_ropes, rope_to_config
from .reader import ConfigReader

FAMILY = "Gemma 3n"

# Gemma3nTextConfig's defaults (the E4B text model), for keys a published config leaves out.
DEFAULTS = {
    "vocab_size": 262_400, "hidden_size": 2048, "intermediate_size": 16_384, "num_hidden_layers": 35,
    "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh",
    "max_position_embeddings": 32_768, "rms_norm_eps": 1e-6, "tie_word_embeddings": True, "sliding_window": 512,
    "final_logit_softcapping": 30.0, "rope_theta": 1_000_000.0, "rope_local_base_freq": 10_000.0,
    "vocab_size_per_layer_input": 262_144, "hidden_size_per_layer_input": 256, "altup_active_idx": 0,
    "altup_correct_scale": True, "altup_num_inputs": 4, "num_kv_shared_layers": 15, "laurel_rank": 64,
}
_ROPE_TRAITS = Traits(rope_per_layer_type=True, gemma=True)
SPARSE_LAYERS_BY_DEFAULT = 10  # transformers: the first 10 layers at 0.95 when there are more than 10
DEFAULT_SPARSITY = 0.95


def _widths(r: ConfigReader, n: int) -> list[int]:
    value = r.config.get("intermediate_size")
    if isinstance(value, list):
        widths = r.int_list("intermediate_size", n)
        return widths if widths is not None else [1] * n
    return [r.int("intermediate_size")] * n


def _sparsity(r: ConfigReader, n: int) -> list[float]:
    value = r.config.get("activation_sparsity_pattern")
    if value is None:
        sparse = SPARSE_LAYERS_BY_DEFAULT if n > SPARSE_LAYERS_BY_DEFAULT else 0
        return [DEFAULT_SPARSITY] * sparse + [0.0] * (n - sparse)
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        r.problem("activation_sparsity_pattern", "expected a list of numbers, one per layer")
        return [0.0] * n
    if len(value) != n:
        r.problem("activation_sparsity_pattern", f"has {len(value)} entries, expected one per layer ({n})")
        return [0.0] * n
    return [float(v) for v in value]


def gemma3n_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    r.config = DEFAULTS | r.config
    base = read_base(r)
    n = r.int("num_hidden_layers")
    heads = r.int("num_attention_heads")
    kv_heads = r.int("num_key_value_heads", heads)
    head_dim = r.int("head_dim")
    norm = Norm("rmsnorm", r.float("rms_norm_eps", positive=True))
    activation = activation_from_hf(r.str("hidden_activation", choices=HIDDEN_ACTS))
    bias = r.bool("attention_bias", False)
    widths, sparsity = _widths(r, n), _sparsity(r, n)
    types = r.str_list("layer_types", n, LAYER_TYPES)
    sliding = [t == "sliding_attention" for t in types] if types else [(i + 1) % 5 != 0 for i in range(n)]
    window = r.int("sliding_window")
    global_rope, local_rope = read_ropes(r, _ROPE_TRAITS, head_dim)
    first_shared = n - r.int("num_kv_shared_layers", minimum=0)
    if r.int("altup_active_idx", minimum=0) != 0:
        r.problem("altup_active_idx", "only 0 is supported (the layers compute on the first stream)")
    laurel_rank = r.int("laurel_rank", minimum=0)

    layers = []
    for i in range(n):
        attention = Attention(
            num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
            rope=local_rope if sliding[i] else global_rope, sliding_window=window if sliding[i] else 0,
            qkv_bias=bias, out_bias=bias, qk_norm=QKNorm("head", norm), query_pre_attn_scalar=1.0,
            value_norm=Norm("l2", norm.eps), shared_kv=i >= first_shared > 0,
        )
        mlp = MLP(widths[i], activation, gated=True, activation_sparsity=sparsity[i])
        layers.append(Layer(attention, mlp, norm, "sandwich", laurel_rank=laurel_rank))
    return ArchSpec(
        name=model_type, family=FAMILY, model_type=model_type, layers=tuple(layers), final_norm=norm,
        embedding_scale=True, final_logit_softcap=r.float("final_logit_softcapping", 0.0),
        per_layer_embedding=PerLayerEmbedding(r.int("hidden_size_per_layer_input"),
                                              r.int("vocab_size_per_layer_input"), activation),
        altup=AltUp(r.int("altup_num_inputs"), r.bool("altup_correct_scale")),
        matformer=MatFormer(max(widths)),
        **base,
    )


def _refuse(path: str, message: str) -> None:
    raise SpecError([Problem(path, message)])


def gemma3n_to_config(spec: ArchSpec) -> dict:
    the_one(spec, "mixer", lambda layer: attention_of(layer).kind)
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if spec.altup is None or spec.per_layer_embedding is None:
        _refuse("altup" if spec.altup is None else "per_layer_embedding",
                "gemma3n_text models always have AltUp streams and per-layer embeddings")
    shared = [layer.mixer.shared_kv for layer in spec.layers]
    first_shared = shared.index(True) if any(shared) else spec.num_layers
    if not all(shared[first_shared:]):
        _refuse(f"layers[{shared.index(False, first_shared)}].mixer.shared_kv",
                "gemma3n_text configs share keys and values in a run of last layers only")
    for index, layer in enumerate(spec.layers):
        if not isinstance(layer.ffn, MLP) or not layer.ffn.gated:
            _refuse(f"layers[{index}].ffn", "gemma3n_text layers have a gated MLP")
    mlps = [layer.ffn for layer in spec.layers]
    activation = the_one(spec, "activation", lambda layer: layer.ffn.activation)
    sliding = [bool(layer.mixer.sliding_window) for layer in spec.layers]
    windows = [i for i, s in enumerate(sliding) if s]
    window = the_one(spec, "sliding window", lambda l: l.mixer.sliding_window, windows) if windows else 512
    config = write_base(spec) | {
        "num_attention_heads": the_one(spec, "num_heads", lambda layer: layer.mixer.num_heads),
        "num_key_value_heads": the_one(spec, "num_kv_heads", lambda layer: layer.mixer.num_kv_heads),
        "head_dim": the_one(spec, "head_dim", lambda layer: layer.mixer.head_dim),
        "intermediate_size": [mlp.intermediate_size for mlp in mlps],
        "activation_sparsity_pattern": [mlp.activation_sparsity for mlp in mlps],
        "hidden_activation": activation_to_hf(activation),
        "rms_norm_eps": norm.eps,
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
        "layer_types": [LAYER_TYPES[s] for s in sliding],
        "sliding_window": window,
        "final_logit_softcapping": spec.final_logit_softcap or None,
        "num_kv_shared_layers": spec.num_layers - first_shared,
        "laurel_rank": the_one(spec, "LAuReL rank", lambda layer: layer.laurel_rank),
        "altup_num_inputs": spec.altup.num_inputs,
        "altup_active_idx": 0,
        "altup_correct_scale": spec.altup.correct_scale,
        "hidden_size_per_layer_input": spec.per_layer_embedding.width,
        "vocab_size_per_layer_input": spec.per_layer_embedding.vocab_size,
        # Token ids belong to the tokenizer; a default pad id could fall outside a tiny vocabulary.
        "pad_token_id": None,
    }
    config.update(rope_to_config(spec, _ROPE_TRAITS, sliding))
    return config


CONVERTERS = {"gemma3n_text": (gemma3n_to_spec, gemma3n_to_config)}
