"""Cohere2 MoE (model_type cohere2_moe: Command A+, North Mini Code): Cohere2's parallel
block -- attention and the feed-forward both read one norm of the layer's input and both
join the residual in one sum -- with a mixture of experts as the feed-forward.

As transformers' Cohere2MoeForCausalLM builds it:
- the router takes the top_k of its logits and weighs them by a softmax over those k
  (the same as a softmax over all, renormalised over the chosen), or by their sigmoids,
  divided by their sum when norm_topk_prob;
- num_shared_experts shared experts are one SwiGLU MLP of num_shared_experts x
  intermediate_size; "average" halves the sum of the routed and the shared outputs,
  "sum" leaves it;
- the first first_k_dense_replace layers (or those mlp_layer_types calls "dense") have a
  dense SwiGLU MLP of prefix_dense_intermediate_size instead; their own attention pattern
  is every prefix_dense_sliding_window_pattern-th layer global, and where that pattern is
  1 (all global) their global layers keep RoPE;
- otherwise sliding layers (interleaved "GPT-J" RoPE) and global layers without positions
  follow layer_types or every sliding_window_pattern-th layer global, as in Cohere2;
- the norm is a LayerNorm without bias, or an RMSNorm where rms_norm_eps is set;
- head_dim is read from the config (transformers' default 128), not derived.
"""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import Layer
from ..errors import Problem, SpecError
from ..ffn import MLP, MoE, Router
from ..mixers import Attention
from ..parts import Norm
from ..patterns import kth_interval
from .common import (
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

FAMILY = "Cohere2 MoE"
# transformers' Cohere2MoeConfig defaults for the keys a config may leave out
DEFAULTS = {"layer_norm_eps": 1e-5, "logit_scale": 0.0625, "sliding_window": 4096, "tie_word_embeddings": True,
            "intermediate_size": 22528, "head_dim": 128, "num_experts": 8, "num_experts_per_tok": 2}
ACTIVATIONS = ("silu", "gelu", "gelu_pytorch_tanh", "gelu_new")
MLP_TYPES = ("dense", "sparse")
STRATEGIES = ("average", "sum")


def _pattern(count: int, every: int) -> list[bool]:
    """Sliding flags of `count` layers whose every `every`-th is global."""
    return [(i + 1) % every != 0 for i in range(count)]


def cohere2_moe_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    r.config = DEFAULTS | {key: value for key, value in r.config.items() if value is not None or key == "rms_norm_eps"}
    base = read_base(r)
    n = r.int("num_hidden_layers")
    heads = r.int("num_attention_heads")
    kv_heads = r.int("num_key_value_heads", heads)
    head_dim = r.int("head_dim")
    if r.config.get("rms_norm_eps") is not None:
        norm = Norm("rmsnorm", r.float("rms_norm_eps", positive=True))
    else:
        norm = Norm("layernorm", r.float("layer_norm_eps", positive=True), bias=False)
    activation = activation_from_hf(r.str("hidden_act", "silu", ACTIVATIONS))
    width = r.int("intermediate_size")

    first_dense = r.int("first_k_dense_replace", 0, minimum=0)
    kinds = r.str_list("mlp_layer_types", n, MLP_TYPES)
    dense = [kind == "dense" for kind in kinds] if kinds is not None else [i < first_dense for i in range(n)]
    prefix_pattern = r.int("prefix_dense_sliding_window_pattern", 1)
    types = r.str_list("layer_types", n, LAYER_TYPES)
    if types is not None:
        sliding = [kind == "sliding_attention" for kind in types]
    else:  # the dense prefix under its own pattern, then the rest under sliding_window_pattern
        sliding = _pattern(first_dense, prefix_pattern) + _pattern(n - first_dense, r.int("sliding_window_pattern", 4))
    window = r.int("sliding_window", 0, minimum=0)
    if not window and any(sliding):
        r.problem("sliding_window", "the layer pattern has sliding layers, so a window is required")

    selection = r.str("expert_selection_fn", "softmax", ("softmax", "sigmoid"))
    # the softmax runs over the chosen k logits alone: renormalised whatever norm_topk_prob says
    normalize = r.bool("norm_topk_prob", True) if selection == "sigmoid" else True
    shared_count = r.int("num_shared_experts", 0, minimum=0)
    strategy = r.str("shared_expert_combination_strategy", "average", STRATEGIES)
    moe = MoE(num_experts=r.int("num_experts"), top_k=r.int("num_experts_per_tok"),
              expert=MLP(width, activation, gated=True), router=Router(selection, normalize_top_k=normalize),
              shared=MLP(width * shared_count, activation, gated=True) if shared_count else None,
              output_scale=0.5 if shared_count and strategy == "average" else 1.0)
    prefix_width = r.config.get("prefix_dense_intermediate_size")
    dense_mlp = MLP(r.int("prefix_dense_intermediate_size") if prefix_width is not None else width, activation,
                    gated=True)

    rope = replace(r.rope(head_dim), interleaved=True)
    bias = r.bool("attention_bias", False)
    layers = []
    for is_sliding, is_dense in zip(sliding, dense):
        positions = is_sliding or (is_dense and prefix_pattern == 1)
        attention = Attention(num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
                              rope=rope if positions else None, sliding_window=window if is_sliding else 0,
                              qkv_bias=bias, out_bias=bias)
        layers.append(Layer(attention, dense_mlp if is_dense else moe, norm, "pre", parallel=True))
    return ArchSpec(name=model_type, family=FAMILY, model_type=model_type, layers=tuple(layers), final_norm=norm,
                    output_logit_scale=r.float("logit_scale", positive=True), **base)


def _refuse(index: int, reasons: list[str]) -> None:
    raise SpecError([Problem(f"layers[{index}]", "a Cohere2 MoE layer is " + "; ".join(reasons))])


def cohere2_moe_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (Attention,), (MLP, MoE))
    dense = [isinstance(layer.ffn, MLP) for layer in spec.layers]
    sparse = [i for i, is_dense in enumerate(dense) if not is_dense]
    # a dense layer's global attention keeps RoPE exactly where the prefix pattern is 1
    dense_global = [attention_of(layer).rope is not None for layer, is_dense in zip(spec.layers, dense)
                    if is_dense and not attention_of(layer).is_local]
    prefix_pattern = 1 if all(dense_global) else 2
    for index, (layer, is_dense) in enumerate(zip(spec.layers, dense)):
        attention = layer.mixer
        reasons = []
        if not layer.parallel:
            reasons.append("a parallel block")
        positions = attention.is_local or (is_dense and prefix_pattern == 1)
        if (attention.rope is not None) != positions or attention.chunk_size:
            reasons.append("RoPE on sliding layers (and a dense layer's global ones, all or none), "
                           "global layers otherwise without positions")
        rope = attention.rope
        if rope is not None and (not rope.interleaved or rope.rotary_dim != attention.head_dim):
            reasons.append("interleaved RoPE over the whole head")
        if reasons:
            _refuse(index, reasons)
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if spec.final_norm != norm or norm.kind not in ("layernorm", "rmsnorm") or norm.bias:
        raise SpecError([Problem("layers[0].norm", "Cohere2 MoE uses one LayerNorm without bias, or one RMSNorm, "
                                 "throughout")])
    if not sparse:
        raise SpecError([Problem("layers", "a Cohere2 MoE model has at least one mixture-of-experts layer")])
    moe = the_one(spec, "MoE", lambda layer: layer.ffn, sparse)
    expert = moe.expert
    router = moe.router
    plain = Router(router.scoring, normalize_top_k=router.normalize_top_k, normalize_epsilon=router.normalize_epsilon)
    if (router != plain or router.scoring not in ("softmax", "sigmoid")
            or (router.scoring == "softmax" and not router.normalize_top_k)):
        raise SpecError([Problem("layers[0].ffn.router", "Cohere2 MoE routes by the top-k logits' softmax, or "
                                 "their sigmoids (renormalised or not)")])
    shared_count = 0
    if moe.shared is not None:
        shared_count, rest = divmod(moe.shared.intermediate_size, expert.intermediate_size)
        if rest or moe.shared.activation != expert.activation:
            raise SpecError([Problem("layers[0].ffn.shared", "Cohere2 MoE's shared experts are a whole number of "
                                     "routed experts' width")])
    if moe.output_scale not in ((0.5, 1.0) if shared_count else (1.0,)) or moe.shared_gate or moe.latent_size \
            or moe.zero_experts or moe.skip_experts or moe.branch_norm is not None or moe.shortcut:
        raise SpecError([Problem("layers[0].ffn", "Cohere2 MoE adds the shared output to the routed one, halving "
                                 "the sum or not, and nothing else")])
    mlps = [expert, *([moe.shared] if moe.shared else []), *(l.ffn for l, d in zip(spec.layers, dense) if d)]
    if any(not mlp.gated or mlp.bias or mlp.activation != expert.activation for mlp in mlps):
        raise SpecError([Problem("layers[0].ffn", "Cohere2 MoE's MLPs are gated, without bias, one activation")])
    sliding = [attention_of(layer).is_local for layer in spec.layers]
    windows = [i for i, s in enumerate(sliding) if s]
    with_rope = [i for i, layer in enumerate(spec.layers) if layer.mixer.rope is not None]
    head_dim = the_one(spec, "head_dim", lambda layer: layer.mixer.head_dim)
    rope = the_one(spec, "rope", lambda layer: layer.mixer.rope, with_rope) if with_rope else None
    config = write_base(spec)
    pattern = kth_interval([not s for s in sliding])
    if pattern and not any(dense):
        config["sliding_window_pattern"] = pattern
    first_dense = dense.index(False)
    config |= {
        "num_attention_heads": the_one(spec, "num_heads", lambda layer: layer.mixer.num_heads),
        "num_key_value_heads": the_one(spec, "num_kv_heads", lambda layer: layer.mixer.num_kv_heads),
        "head_dim": head_dim,
        "intermediate_size": expert.intermediate_size,
        "hidden_act": activation_to_hf(expert.activation),
        "attention_bias": the_one(spec, "attention bias", lambda layer: layer.mixer.qkv_bias),
        "logit_scale": spec.output_logit_scale,
        "layer_types": [LAYER_TYPES[s] for s in sliding],
        "mlp_layer_types": ["dense" if d else "sparse" for d in dense],
        "first_k_dense_replace": first_dense if not any(dense[first_dense:]) else 0,
        "prefix_dense_sliding_window_pattern": prefix_pattern,
        "sliding_window": the_one(spec, "sliding window", lambda l: l.mixer.sliding_window, windows)
        if windows else None,
        # a model with no rotating layer: any theta stands
        "rope_parameters": rope_to_parameters(replace(rope, interleaved=False), head_dim) if rope is not None
        else {"rope_type": "default", "rope_theta": 10_000.0},
        "num_experts": moe.num_experts,
        "num_experts_per_tok": moe.top_k,
        "num_shared_experts": shared_count,
        # without shared experts the strategy changes nothing: transformers' default stands
        "shared_expert_combination_strategy": "sum" if shared_count and moe.output_scale == 1.0 else "average",
        "expert_selection_fn": router.scoring,
        "norm_topk_prob": router.normalize_top_k,
    }
    if any(dense):
        config["prefix_dense_intermediate_size"] = the_one(
            spec, "dense MLP", lambda layer: layer.ffn, [i for i, d in enumerate(dense) if d]).intermediate_size
    # rms_norm_eps null (as Command A+ publishes it) picks the LayerNorm
    config |= {"rms_norm_eps": norm.eps} if norm.kind == "rmsnorm" else {"layer_norm_eps": norm.eps,
                                                                         "rms_norm_eps": None}
    return config


CONVERTERS = {"cohere2_moe": (cohere2_moe_to_spec, cohere2_moe_to_config)}
