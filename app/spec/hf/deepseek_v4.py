"""DeepSeek V4-Flash and V4-Pro (model_type deepseek_v4): CSA/HCA attention over a sliding
window (app/spec/mixers/compressed.py), manifold-constrained hyper-connections
(app/spec/hyper_connections.py) and an MoE whose first layers route by a fixed token-id
table (hash routing) and the rest by learned sqrt(softplus) scores.

Both config styles are read: DeepSeek's published one (`compress_ratios` per layer, 0 / 4 /
128, with an entry for the MTP module past the last layer; `num_hash_layers`; `rope_scaling`
for the compressed layers' YaRN) and transformers 5's (`layer_types`, `mlp_layer_types`,
`compress_rates`, `rope_parameters` keyed "main" / "compress"). What transformers' modeling
does regardless of a key is required of it: one key-value head, one shared expert as wide as
a routed one, normalized top-k weights, DeepSeek's aux-loss-free bias on the learned routers.
"""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..hyper_connections import HyperConnections
from ..mixers import CompressedAttention, CompressedIndexer
from ..parts import Norm, Rope
from .common import read_base, the_one, write_base
from .deepseek_moe import spec_problem
from .reader import ConfigReader

FAMILY = "DeepSeek V4"
WINDOW, CSA, HCA = "sliding_attention", "compressed_sparse_attention", "heavily_compressed_attention"
LAYER_TYPES = (WINDOW, CSA, HCA)
RATIO_TYPES = {0: WINDOW, 4: CSA, 128: HCA}  # the published compress_ratios' values
MLP_TYPES = ("hash_moe", "moe")
SCORINGS = ("sqrtsoftplus", "softmax", "sigmoid")
ROPE_KEYS = ("main", "compress")


def _layer_types(r: ConfigReader, n: int) -> list[str]:
    types = r.str_list("layer_types", n, LAYER_TYPES)
    if types is not None:
        return types
    ratios = r.config.get("compress_ratios")
    if ratios is not None:
        if not isinstance(ratios, list) or len(ratios) < n or any(v not in RATIO_TYPES for v in ratios[:n]):
            r.problem("compress_ratios", f"expected at least {n} entries (one per layer), each 0, 4 or 128")
            return [WINDOW] * n
        return [RATIO_TYPES[v] for v in ratios[:n]]  # entries past the last layer are the MTP module's
    # transformers' default: two HCA layers, then CSA and HCA in turn
    return [HCA] * min(n, 2) + [CSA if i % 2 else HCA for i in range(max(n - 2, 0))]


def _compress_rates(r: ConfigReader) -> dict[str, int]:
    rates = {CSA: 4, HCA: 128}
    given = r.config.get("compress_rates")
    if given is not None:
        sub = r.sub("compress_rates")
        rates = {CSA: sub.int(CSA, 4), HCA: sub.int(HCA, 128)}
    rates[CSA] = r.int("compress_rate_csa", rates[CSA])
    rates[HCA] = r.int("compress_rate_hca", rates[HCA])
    return rates


def _hash_layers(r: ConfigReader, n: int) -> list[bool]:
    types = r.str_list("mlp_layer_types", n, MLP_TYPES)
    if types is not None:
        return [kind == "hash_moe" for kind in types]
    count = r.int("num_hash_layers", 3, minimum=0)
    return [i < count for i in range(n)]


def _ropes(r: ConfigReader, head_dim: int) -> dict[str, Rope]:
    """The window-only layers' rope ("main") and the compressed layers' ("compress")."""
    params = r.config.get("rope_parameters")
    if isinstance(params, dict) and all(isinstance(params.get(key), dict) for key in ROPE_KEYS):
        return {key: replace(r.rope(head_dim, key), interleaved=True) for key in ROPE_KEYS}
    rotary = r.int("qk_rope_head_dim", 0, minimum=0)
    factor = rotary / head_dim if rotary else r.float("partial_rotary_factor", 64 / 512, positive=True)
    rotary_dim = int(head_dim * factor)
    main = Rope(theta=r.float("rope_theta", 10_000.0, positive=True), rotary_dim=rotary_dim, interleaved=True)
    scaled = r.rope(head_dim)  # rope_scaling (or a flat rope_parameters) belongs to the compressed layers
    scaling = scaled.scaling
    if scaling is not None and scaling.type == "yarn" and not scaling.attention_factor:
        # transformers sets it: DeepSeek's reference does not scale cos / sin by YaRN's mscale
        scaling = replace(scaling, attention_factor=1.0)
    compress = Rope(theta=r.float("compress_rope_theta", 160_000.0, positive=True), rotary_dim=rotary_dim,
                    scaling=scaling, interleaved=True)
    return {"main": main, "compress": compress}


def _require(r: ConfigReader, key: str, expected, found, why: str) -> None:
    if found != expected:
        r.problem(key, f"must be {expected!r}, found {found!r}: {why}")


def deepseek_v4_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    n = r.int("num_hidden_layers")
    heads, head_dim = r.int("num_attention_heads"), r.int("head_dim", 512)
    _require(r, "num_key_value_heads", 1, r.int("num_key_value_heads", 1), "V4's one key-value head is also "
             "its value")
    for key in ("attention_bias", "mlp_bias"):
        _require(r, key, False, r.bool(key, False), "transformers' deepseek_v4 has no biases")
    _require(r, "hidden_act", "silu", r.str("hidden_act", "silu"), "transformers' deepseek_v4 experts are SwiGLU")
    _require(r, "norm_topk_prob", True, r.bool("norm_topk_prob", True), "transformers always normalizes the top-k")
    _require(r, "topk_method", "noaux_tc", r.str("topk_method", "noaux_tc"), "the learned routers always carry "
             "the selection-only correction bias")
    _require(r, "n_shared_experts", 1, r.int("n_shared_experts", 1), "transformers builds one shared expert, "
             "moe_intermediate_size wide")
    eps = r.float("rms_norm_eps", 1e-6, positive=True)
    ropes = _ropes(r, head_dim)
    rates = _compress_rates(r)
    indexer = CompressedIndexer(r.int("index_n_heads", 64), r.int("index_head_dim", 128), r.int("index_topk", 512))
    base = dict(num_heads=heads, head_dim=head_dim, q_lora_rank=r.int("q_lora_rank", 1024),
                o_groups=r.int("o_groups", 8), o_lora_rank=r.int("o_lora_rank", 1024),
                sliding_window=r.int("sliding_window", 128), norm_eps=eps)
    mixers = {
        WINDOW: CompressedAttention(rope=ropes["main"], **base),
        CSA: CompressedAttention(rope=ropes["compress"], compress_rate=rates[CSA], overlap=True, indexer=indexer,
                                 **base),
        HCA: CompressedAttention(rope=ropes["compress"], compress_rate=rates[HCA], **base),
    }
    limit = r.float("swiglu_limit", 10.0, positive=True)
    expert = MLP(r.int("moe_intermediate_size", 2048), "silu", swiglu_limit=limit)
    router = Router(scoring=r.str("scoring_func", "sqrtsoftplus", SCORINGS), normalize_top_k=True,
                    routed_scaling=r.float("routed_scaling_factor", 1.5, positive=True))
    moe = MoE(num_experts=r.int("n_routed_experts", 256), top_k=r.int("num_experts_per_tok", 6), expert=expert,
              router=replace(router, score_correction_bias=True), shared=expert)
    hashed = replace(moe, router=replace(router, hash_routed=True))
    norm = Norm("rmsnorm", eps)
    layers = [Layer(mixers[kind], hashed if is_hash else moe, norm)
              for kind, is_hash in zip(_layer_types(r, n), _hash_layers(r, n))]
    streams = HyperConnections(r.int("hc_mult", 4), r.int("hc_sinkhorn_iters", 20),
                               r.float("hc_eps", 1e-6, positive=True))
    return ArchSpec(name=model_type, family=FAMILY, model_type=model_type, layers=tuple(layers), final_norm=norm,
                    mtp_layers=r.int("num_nextn_predict_layers", 1, minimum=0), hyper_connections=streams,
                    **read_base(r))


def _layer_type(mixer: CompressedAttention) -> str:
    if not mixer.compress_rate:
        return WINDOW
    return CSA if mixer.indexer is not None else HCA


def deepseek_v4_to_config(spec: ArchSpec) -> dict:
    for i, layer in enumerate(spec.layers):
        if not isinstance(layer.mixer, CompressedAttention) or not isinstance(layer.ffn, MoE):
            raise spec_problem(f"layers[{i}]", f"{layer.mixer_kind} + {layer.ffn_kind}: deepseek_v4 layers are "
                               "CSA/HCA attention with an MoE")
    if spec.hyper_connections is None:
        raise spec_problem("hyper_connections", "deepseek_v4 always mixes its residual streams (hc_mult)")
    mixers = [layer.mixer for layer in spec.layers]
    window_layers = [i for i, m in enumerate(mixers) if not m.compress_rate]
    compressed = [i for i, m in enumerate(mixers) if m.compress_rate]
    core = the_one(spec, "attention core", lambda layer: (
        layer.mixer.num_heads, layer.mixer.head_dim, layer.mixer.q_lora_rank, layer.mixer.o_groups,
        layer.mixer.o_lora_rank, layer.mixer.sliding_window, layer.mixer.norm_eps, layer.mixer.rope.rotary_dim))
    heads, head_dim, q_lora, o_groups, o_lora, window, eps, rotary = core
    rates: dict[str, int] = {CSA: 4, HCA: 128}
    types = []
    for i, mixer in enumerate(mixers):
        kind = _layer_type(mixer)
        if kind == CSA and not mixer.overlap:
            raise spec_problem(f"layers[{i}].mixer.overlap", "a layer with an indexer is CSA: overlapping windows")
        if kind == HCA and mixer.overlap:
            raise spec_problem(f"layers[{i}].mixer.overlap", "deepseek_v4 overlaps windows only with an indexer (CSA)")
        if kind != WINDOW:
            rates[kind] = mixer.compress_rate
        types.append(kind)
    for kind in (CSA, HCA):  # one rate per kind (compress_rates)
        if kind in types:
            the_one(spec, f"{kind} compress rate", lambda layer: layer.mixer.compress_rate,
                    [i for i, t in enumerate(types) if t == kind])
    csa = [i for i, t in enumerate(types) if t == CSA]
    indexer = the_one(spec, "indexer", lambda layer: layer.mixer.indexer, csa) if csa else \
        CompressedIndexer(64, 128, 512)
    main = the_one(spec, "window-only layers' rope", lambda layer: layer.mixer.rope, window_layers) \
        if window_layers else Rope(10_000.0, rotary, interleaved=True)
    compress = the_one(spec, "compressed layers' rope", lambda layer: layer.mixer.rope, compressed) \
        if compressed else Rope(160_000.0, rotary, interleaved=True)
    for path, rope in (("main", main), ("compress", compress)):
        if not rope.interleaved or rope.frequency_dim:
            raise spec_problem("layers[0].mixer.rope", f"deepseek_v4's {path} rope is interleaved, plain")
    if main.scaling is not None:
        raise spec_problem(f"layers[{window_layers[0]}].mixer.rope.scaling", "deepseek_v4 scales only the "
                           "compressed layers' rope")
    moe: MoE = spec.layers[0].ffn
    plain = the_one(spec, "MoE", lambda layer: replace(layer.ffn, router=replace(
        layer.ffn.router, hash_routed=False, score_correction_bias=False)))
    expert = plain.expert
    router = plain.router
    expected = MoE(plain.num_experts, plain.top_k, expert, Router(scoring=router.scoring, normalize_top_k=True,
                                                                  routed_scaling=router.routed_scaling),
                   shared=expert)
    if plain != expected or expert != MLP(expert.intermediate_size, "silu", swiglu_limit=expert.swiglu_limit) \
            or not expert.swiglu_limit:
        raise spec_problem("layers[0].ffn", "deepseek_v4's MoE: clamped SwiGLU experts, one shared expert as wide, "
                           "normalized top-k, no grouping")
    for i, layer in enumerate(spec.layers):
        r = layer.ffn.router
        if r.hash_routed == r.score_correction_bias:
            raise spec_problem(f"layers[{i}].ffn.router", "deepseek_v4 routers either hash (no correction bias) "
                               "or learn with the correction bias")
    hashed = [layer.ffn.router.hash_routed for layer in spec.layers]
    norm = the_one(spec, "norm", lambda layer: (layer.norm, layer.norm_placement, layer.parallel, layer.laurel_rank,
                                                layer.residual_from_norm, layer.mixer_residual, layer.ffn_residual,
                                                layer.scaled_output))
    if norm != (Norm("rmsnorm", eps), "pre", False, 0, False, None, None, False) or spec.final_norm != norm[0]:
        raise spec_problem("layers[0].norm", "deepseek_v4 uses one pre-norm RMSNorm throughout, rms_norm_eps as "
                           "its attention's norms")
    streams = spec.hyper_connections
    config = write_base(spec) | {
        "num_attention_heads": heads, "num_key_value_heads": 1, "head_dim": head_dim,
        "q_lora_rank": q_lora, "o_groups": o_groups, "o_lora_rank": o_lora, "sliding_window": window,
        "partial_rotary_factor": rotary / head_dim,
        "layer_types": types, "compress_rates": {CSA: rates[CSA], HCA: rates[HCA]},
        "index_n_heads": indexer.num_heads, "index_head_dim": indexer.head_dim, "index_topk": indexer.top_k,
        "qk_rope_head_dim": rotary, "rope_theta": main.theta, "compress_rope_theta": compress.theta,
        "topk_method": "noaux_tc", "attention_bias": False,
        "mlp_layer_types": ["hash_moe" if flag else "moe" for flag in hashed],
        "n_routed_experts": moe.num_experts, "num_experts_per_tok": moe.top_k, "n_shared_experts": 1,
        "moe_intermediate_size": expert.intermediate_size, "swiglu_limit": expert.swiglu_limit,
        "scoring_func": router.scoring, "norm_topk_prob": True, "routed_scaling_factor": router.routed_scaling,
        "hidden_act": "silu", "rms_norm_eps": eps,
        "hc_mult": streams.streams, "hc_sinkhorn_iters": streams.sinkhorn_iters, "hc_eps": streams.eps,
        "num_nextn_predict_layers": spec.mtp_layers,
    }
    hash_count = sum(hashed)
    if hashed == [True] * hash_count + [False] * (len(hashed) - hash_count):
        config["num_hash_layers"] = hash_count  # DeepSeek's own key, beside transformers' list
    if rates == {CSA: 4, HCA: 128}:
        # DeepSeek's own per-layer key; its entries past the last layer are the MTP modules'
        # (0 in both releases), which the spec leaves out
        config["compress_ratios"] = [mixer.compress_rate for mixer in mixers] + [0] * spec.mtp_layers
    scaling = compress.scaling
    compress_rope = {"rope_type": "default", "rope_theta": compress.theta, "partial_rotary_factor": rotary / head_dim}
    if scaling is not None:
        if scaling.type != "yarn" or scaling.attention_factor not in (0.0, 1.0) or scaling.mscale != 1.0 \
                or scaling.mscale_all_dim or not scaling.truncate:
            raise spec_problem("layers[0].mixer.rope.scaling", "deepseek_v4 reads plain YaRN (cos / sin unscaled)")
        compress_rope |= {"rope_type": "yarn", "factor": scaling.factor, "beta_fast": scaling.beta_fast,
                          "beta_slow": scaling.beta_slow, "attention_factor": 1.0,
                          "original_max_position_embeddings": scaling.original_max_position}
    # transformers 5's own form: one rope per kind of layer, keyed "main" and "compress"
    config["rope_parameters"] = {
        "main": {"rope_type": "default", "rope_theta": main.theta, "partial_rotary_factor": rotary / head_dim},
        "compress": compress_rope,
    }
    return config


CONVERTERS = {
    "deepseek_v4": (deepseek_v4_to_spec, deepseek_v4_to_config),
}
