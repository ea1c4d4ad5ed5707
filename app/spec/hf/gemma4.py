"""Gemma 4 text configs (`gemma4_text`, and `gemma4_unified_text` of the 12B release, the
same decoder without per-layer embeddings): Gemma 3n's sandwich-normed local:global
attention with plain RMSNorm scales, QK-norm, value norms and unit query scaling, minus
AltUp and LAuReL, plus

- global layers of their own shape: a wider head (global_head_dim) and, where keys double
  as values (attention_k_eq_v), fewer key/value heads (num_global_key_value_heads);
- proportional RoPE on the global layers (a quarter of the pairs turn, spaced over the
  whole head);
- a learned scalar on every block's output (layer_scalar);
- on E2B/E4B, per-layer embeddings into the one residual stream and KV sharing in the
  last layers, whose MLPs are twice as wide on E2B (use_double_wide_mlp);
- on the 26B-A4B (enable_moe_block), a mixture of experts in every layer beside its dense
  MLP: num_experts experts moe_intermediate_size wide, top_k_experts of them per token, by
  softmax scores renormalized over the chosen and scaled per expert; the router reads its
  own norm of the layer's un-normed input, and each branch has norms of its own (the
  spec's MoE with the dense MLP as its shared MLP and `branch_norm`).
"""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..errors import Problem, SpecError
from ..ffn import MLP, MoE, Router
from ..mixers import Attention
from ..on_device import PerLayerEmbedding
from ..parts import Norm, QKNorm, Rope
from .common import HIDDEN_ACTS, LAYER_TYPES, activation_from_hf, activation_to_hf, attention_of, read_base, \
    the_one, write_base
from .reader import ConfigReader, rope_to_parameters

FAMILY = "Gemma 4"

# Gemma4TextConfig's defaults, for keys a published config leaves out.
DEFAULTS = {
    "vocab_size": 262_144, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 30,
    "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "global_head_dim": 512,
    "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 131_072, "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True, "sliding_window": 512, "vocab_size_per_layer_input": 262_144,
    "hidden_size_per_layer_input": 256, "num_kv_shared_layers": 0,
}
# gemma4_unified_text (the 12B) changes these defaults and has no per-layer embeddings.
UNIFIED_DEFAULTS = DEFAULTS | {"max_position_embeddings": 262_144, "sliding_window": 1024,
                               "hidden_size_per_layer_input": 0}
DEFAULT_ROPE = {
    "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
    "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1_000_000.0},
}
LOCAL_PERIOD = 6  # transformers' default pattern: five sliding layers, then one global


def _layer_types(r: ConfigReader, n: int) -> list[bool]:
    """Which layers slide. Gemma 4 always ends on a global layer (transformers forces it)."""
    types = r.str_list("layer_types", n, LAYER_TYPES)
    sliding = [t == "sliding_attention" for t in types] if types else [(i + 1) % LOCAL_PERIOD != 0 for i in range(n)]
    if sliding:
        sliding[-1] = False
    return sliding


def _head_shapes(r: ConfigReader, sliding: list[bool], heads: int) -> list[tuple[int, int]]:
    """(head_dim, kv heads) of every layer. A published config states the global layers'
    as global_head_dim and num_global_key_value_heads (the latter only where keys double as
    values); transformers' save_pretrained writes them out per layer instead, as
    per_layer_config {"layer index": {"head_dim", "num_key_value_heads"}}."""
    head_dim, kv_heads = r.int("head_dim"), r.int("num_key_value_heads", heads)
    overrides = r.config.get("per_layer_config")
    if overrides is None:
        global_kv = r.int("num_global_key_value_heads", kv_heads) if r.bool("attention_k_eq_v", False) else kv_heads
        global_shape = (r.int("global_head_dim"), global_kv)
        return [(head_dim, kv_heads) if local else global_shape for local in sliding]
    if not isinstance(overrides, dict):
        r.problem("per_layer_config", "expected an object of layer index -> overrides")
        return [(head_dim, kv_heads)] * len(sliding)
    shapes = []
    for index in range(len(sliding)):
        layer = overrides.get(str(index), overrides.get(index)) or {}
        sub = ConfigReader(layer if isinstance(layer, dict) else {}, prefix=f"per_layer_config.{index}.")
        sub.problems = r.problems
        shapes.append((sub.int("head_dim", head_dim), sub.int("num_key_value_heads", kv_heads)))
    return shapes


def _ropes(r: ConfigReader, head_dim: int) -> tuple[Rope, Rope]:
    """(the global layers' rope, the sliding layers' rope) for heads of head_dim."""
    params = r.config.get("rope_parameters")
    if not isinstance(params, dict) or not any(isinstance(value, dict) for value in params.values()):
        r.config = r.config | {"rope_parameters": DEFAULT_ROPE}
    return r.rope(head_dim, "full_attention"), r.rope(head_dim, "sliding_attention")


def _gemma4_router(norm: Norm) -> Router:
    """Gemma4TextRouter: softmax over every expert, the top_k renormalized to sum to one and
    scaled per expert; its input is normed (with a learned scale) and times 1/sqrt(d)."""
    return Router("softmax", normalize_top_k=True, input_norm=norm, per_expert_scale=True)


def _experts(r: ConfigReader, norm: Norm, activation) -> dict:
    """The MoE fields of an enable_moe_block config but its shared (dense) MLP."""
    num_experts, top_k = r.int("num_experts"), r.int("top_k_experts")
    if top_k > num_experts:
        r.problem("top_k_experts", f"{top_k} exceeds num_experts {num_experts}")
        top_k = num_experts
    return dict(num_experts=num_experts, top_k=top_k,
                expert=MLP(r.int("moe_intermediate_size"), activation, gated=True),
                router=_gemma4_router(norm), branch_norm=norm)


def gemma4_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    unified = model_type == "gemma4_unified_text"
    r.config = (UNIFIED_DEFAULTS if unified else DEFAULTS) | r.config
    moe = r.bool("enable_moe_block", False)
    if moe and unified:
        r.problem("enable_moe_block", "gemma4_unified_text has no mixture of experts")
        moe = False
    if r.config.get("use_bidirectional_attention") == "all":
        r.problem("use_bidirectional_attention", "only causal text attention is supported (None or 'vision')")
    base = read_base(r)
    n = r.int("num_hidden_layers")
    heads = r.int("num_attention_heads")
    keys_as_values = r.bool("attention_k_eq_v", False)
    norm = Norm("rmsnorm", r.float("rms_norm_eps", positive=True))
    activation = activation_from_hf(r.str("hidden_activation", choices=HIDDEN_ACTS))
    bias = r.bool("attention_bias", False)
    sliding = _layer_types(r, n)
    window = r.int("sliding_window")
    shapes = _head_shapes(r, sliding, heads)
    local_dims = [shape[0] for shape, local in zip(shapes, sliding) if local] or [r.int("head_dim")]
    global_dims = [shape[0] for shape, local in zip(shapes, sliding) if not local] or [r.int("global_head_dim")]
    ropes = {dim: _ropes(r, dim) for dim in {*local_dims, *global_dims}}
    first_shared = n - r.int("num_kv_shared_layers", minimum=0)
    width = r.int("intermediate_size")
    double_wide = r.bool("use_double_wide_mlp", False)
    ple_width = 0 if unified else (r.int("hidden_size_per_layer_input", 0, minimum=0) or 0)
    experts = _experts(r, norm, activation) if moe else None

    layers = []
    for i in range(n):
        shared = i >= first_shared > 0
        local = sliding[i]
        head_dim, kv_heads = shapes[i]
        global_rope, local_rope = ropes[head_dim]
        attention = Attention(
            num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
            rope=local_rope if local else global_rope, sliding_window=window if local else 0,
            qkv_bias=bias, out_bias=bias, qk_norm=QKNorm("head", norm), query_pre_attn_scalar=1.0,
            value_norm=Norm("l2", norm.eps), shared_kv=shared, keys_as_values=keys_as_values and not local,
        )
        # E2B: the KV-sharing layers, which skip their key/value projections, get twice the MLP
        mlp = MLP(width * (2 if double_wide and shared else 1), activation, gated=True)
        ffn = mlp if experts is None else MoE(**experts, shared=mlp)
        layers.append(Layer(attention, ffn, norm, "sandwich", scaled_output=True))
    ple = PerLayerEmbedding(ple_width, r.int("vocab_size_per_layer_input"), activation) if ple_width else None
    return ArchSpec(
        name=model_type, family=FAMILY, model_type=model_type, layers=tuple(layers), final_norm=norm,
        embedding_scale=True, final_logit_softcap=r.float("final_logit_softcapping", 0.0) or 0.0,
        per_layer_embedding=ple, **base,
    )


def _refuse(path: str, message: str) -> None:
    raise SpecError([Problem(path, message)])


def _write_layers(spec: ArchSpec) -> dict:
    """The keys that describe the attention of both layer kinds."""
    sliding = [bool(attention_of(layer).sliding_window) for layer in spec.layers]
    local = [i for i, s in enumerate(sliding) if s]
    glob = [i for i, s in enumerate(sliding) if not s]
    if not glob or sliding[-1]:
        _refuse(f"layers[{spec.num_layers - 1}].mixer.sliding_window", "Gemma 4 configs end on a global layer")
    heads = the_one(spec, "num_heads", lambda layer: layer.mixer.num_heads)
    keys_as_values = the_one(spec, "keys_as_values", lambda layer: layer.mixer.keys_as_values, glob)
    if any(spec.layers[i].mixer.keys_as_values for i in local):
        _refuse(f"layers[{local[0]}].mixer.keys_as_values", "Gemma 4's keys double as values on global layers only")
    global_kv = the_one(spec, "global num_kv_heads", lambda layer: layer.mixer.num_kv_heads, glob)
    kv_heads = the_one(spec, "num_kv_heads", lambda layer: layer.mixer.num_kv_heads, local) if local else global_kv
    if not keys_as_values and global_kv != kv_heads:
        _refuse(f"layers[{glob[0]}].mixer.num_kv_heads", "global layers have their own kv heads only where keys "
                "double as values")
    global_head_dim = the_one(spec, "global head_dim", lambda layer: layer.mixer.head_dim, glob)
    head_dim = the_one(spec, "head_dim", lambda layer: layer.mixer.head_dim, local) if local else 256
    ropes = {"full_attention": rope_to_parameters(the_one(spec, "global rope", lambda l: l.mixer.rope, glob),
                                                  global_head_dim)}
    local_rope = the_one(spec, "sliding rope", lambda l: l.mixer.rope, local) if local else Rope(10_000.0, head_dim)
    ropes["sliding_attention"] = rope_to_parameters(local_rope, head_dim)
    config = {
        "num_attention_heads": heads, "num_key_value_heads": kv_heads, "head_dim": head_dim,
        "global_head_dim": global_head_dim, "attention_k_eq_v": keys_as_values,
        "layer_types": [LAYER_TYPES[s] for s in sliding],
        "sliding_window": the_one(spec, "sliding window", lambda l: l.mixer.sliding_window, local) if local else 512,
        "rope_parameters": ropes,
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
    }
    if keys_as_values:
        config["num_global_key_value_heads"] = global_kv
    return config


def _dense_mlp(ffn):
    """A layer's dense MLP: the feed-forward itself, or the one beside the experts."""
    return ffn.shared if isinstance(ffn, MoE) else ffn


def gemma4_to_config(spec: ArchSpec) -> dict:
    unified = spec.model_type == "gemma4_unified_text"
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    moe = _write_experts(spec, norm)
    dense = [_dense_mlp(layer.ffn) for layer in spec.layers]
    for index, mlp in enumerate(dense):
        if not isinstance(mlp, MLP) or not mlp.gated or mlp.bias or mlp.activation_sparsity:
            where = f"layers[{index}].ffn" + (".shared" if moe else "")
            _refuse(where, f"{spec.model_type} layers have a gated MLP without bias")
    if spec.altup is not None:
        _refuse("altup", "Gemma 4 has no AltUp streams")
    if unified and spec.per_layer_embedding is not None:
        _refuse("per_layer_embedding", "gemma4_unified_text configs have no per-layer embeddings")
    shared = [layer.mixer.shared_kv for layer in spec.layers]
    first_shared = shared.index(True) if any(shared) else spec.num_layers
    if not all(shared[first_shared:]):
        _refuse(f"layers[{shared.index(False, first_shared)}].mixer.shared_kv",
                "Gemma 4 configs share keys and values in a run of last layers only")
    own = [mlp.intermediate_size for mlp in dense[:first_shared]]
    width = own[0] if own else dense[0].intermediate_size
    sharing_widths = {mlp.intermediate_size for mlp in dense[first_shared:]}
    double_wide = bool(sharing_widths) and sharing_widths == {2 * width} and width != 0
    for index, mlp in enumerate(dense):
        expected = 2 * width if double_wide and index >= first_shared else width
        if mlp.intermediate_size != expected:
            where = f"layers[{index}].ffn" + (".shared" if moe else "") + ".intermediate_size"
            _refuse(where, f"{mlp.intermediate_size} differs from {expected}; Gemma 4 configs hold one MLP width "
                    "(doubled on KV-sharing layers)")
    activation = the_one(spec, "activation", lambda layer: _dense_mlp(layer.ffn).activation)
    if moe and moe["activation"] != activation:
        _refuse("layers[0].ffn.expert.activation", f"{moe['activation']} differs from the dense MLP's {activation}; "
                "Gemma 4 configs hold one hidden_activation")
    config = write_base(spec) | _write_layers(spec) | {
        "intermediate_size": width,
        "hidden_activation": activation_to_hf(activation),
        "rms_norm_eps": norm.eps,
        "final_logit_softcapping": spec.final_logit_softcap or None,
        "num_kv_shared_layers": spec.num_layers - first_shared,
        "use_double_wide_mlp": double_wide,
        # Token ids belong to the tokenizer; a default pad id could fall outside a tiny vocabulary.
        "pad_token_id": None,
    }
    if not unified:
        ple = spec.per_layer_embedding
        config |= {"enable_moe_block": moe is not None, "hidden_size_per_layer_input": ple.width if ple else 0,
                   "vocab_size_per_layer_input": ple.vocab_size if ple else spec.vocab_size}
        if moe is not None:
            config |= {key: moe[key] for key in ("num_experts", "top_k_experts", "moe_intermediate_size")}
    return config


def _write_experts(spec: ArchSpec, norm: Norm) -> dict | None:
    """The MoE keys of the layers' mixture of experts (and the experts' activation), or None
    for a dense spec. enable_moe_block puts the one MoE form in every layer."""
    moes = [isinstance(layer.ffn, MoE) for layer in spec.layers]
    if not any(moes):
        return None
    if spec.model_type == "gemma4_unified_text":
        _refuse(f"layers[{moes.index(True)}].ffn", "gemma4_unified_text has no mixture of experts")
    if not all(moes):
        _refuse(f"layers[{moes.index(False)}].ffn", "enable_moe_block puts a mixture of experts in every layer")
    for index, layer in enumerate(spec.layers):
        moe, where = layer.ffn, f"layers[{index}].ffn"
        if moe.router != _gemma4_router(norm):
            _refuse(f"{where}.router", "Gemma 4 routes by softmax, renormalized and scaled per expert, from a "
                    "norm of its input like the layer's")
        if moe.branch_norm != norm:
            _refuse(f"{where}.branch_norm", "Gemma 4's dense MLP and experts are normed apart, as the layer is")
        if moe.shared is None or moe.shared_gate or moe.output_scale != 1.0:
            _refuse(f"{where}.shared", "Gemma 4's dense MLP runs beside the experts, ungated and unscaled")
        if not moe.expert.gated or moe.expert.bias or moe.expert.activation_sparsity:
            _refuse(f"{where}.expert", "Gemma 4's experts are gated MLPs without bias")
    return {"num_experts": the_one(spec, "num_experts", lambda layer: layer.ffn.num_experts),
            "top_k_experts": the_one(spec, "top_k", lambda layer: layer.ffn.top_k),
            "moe_intermediate_size": the_one(spec, "expert width", lambda layer: layer.ffn.expert.intermediate_size),
            "activation": the_one(spec, "expert activation", lambda layer: layer.ffn.expert.activation)}


CONVERTERS = {"gemma4_text": (gemma4_to_spec, gemma4_to_config),
              "gemma4_unified_text": (gemma4_to_spec, gemma4_to_config)}
