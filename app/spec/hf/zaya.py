"""ZAYA1 (model_type zaya: Zyphra's ZAYA1-8B): every layer a compressed convolutional
attention (CCA) then a top-1 mixture of experts, each on its own pre-norm, each residual
sum with learned scales and biases, the embedding with a learned bias and scale.

The MoE's router is ZAYA1's own: the token down to router_hidden_size, plus (from the
second layer on) the previous layer's router state times a learned vector, an RMSNorm, two
GELU layers and a projection to the 16 experts and one skip slot (a token that picks it
passes the feed-forward by). The chosen softmax score weighs the expert, unnormalized; a
balancing bias (a buffer) steers only the choice.

This reads transformers' own form of the config (ZayaConfig, the form Zyphra/ZAYA1-8B's
config.json now takes): 40 layers each holding the attention and the MoE. Zyphra's first,
Megatron-style config counted them as 80 layers (num_hidden_layers 80, ffn_hidden_size
4096 for the fused gate and up); that form is refused by its keys rather than misread.
Every default below is ZayaConfig's.
"""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..mixers import CompressedConvAttention
from ..parts import Norm, Rope
from .common import only_kinds, reject, ropes_by_layer_type, the_one
from .reader import ConfigReader, rope_to_parameters

LAYER_TYPES = ("hybrid", "hybrid_sliding")
# ZayaConfig's rope when the config has none: partial RoPE over half of each head
DEFAULT_THETAS = {"hybrid": 5_000_000.0, "hybrid_sliding": 10_000.0}
LEGACY_KEYS = ("cca", "ffn_hidden_size", "num_query_groups", "moe_router_topk", "zaya_mlp_expansion", "kv_channels")


def zaya_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    for key in LEGACY_KEYS:
        if r.has(key):
            r.problem(key, "a key of Zyphra's first, Megatron-style ZAYA1 config (80 layers counting attention "
                           "and MoE apart); expected transformers' form (ZayaConfig: 40 layers, each both)")
            break
    d = r.int("hidden_size", 2048)
    n = r.int("num_hidden_layers", 40)
    heads = r.int("num_attention_heads", 8)
    kv_heads = r.int("num_key_value_heads", 2)
    if heads % kv_heads:
        r.problem("num_attention_heads", f"{heads} is not a multiple of num_key_value_heads {kv_heads}")
    head_dim = r.int("head_dim", 128)
    types = r.str_list("layer_types", n, LAYER_TYPES) if r.has("layer_types") else None
    types = types or ["hybrid"] * n
    window = r.int("sliding_window", 0, minimum=0)
    if "hybrid_sliding" in types and not window:
        r.problem("sliding_window", "the layer pattern has sliding layers, so a window is required")
    ropes = ropes_by_layer_type(r, head_dim, types, {
        kind: Rope(theta=theta, rotary_dim=int(head_dim * 0.5)) for kind, theta in DEFAULT_THETAS.items()})
    eps = r.float("rms_norm_eps", 1e-5, positive=True)
    norm = Norm("rmsnorm", eps)
    bias = r.bool("attention_bias", False)
    if r.bool("lm_head_bias", False):
        r.problem("lm_head_bias", "true is not built: ArchScope's output head has no bias")
    r.str("hidden_act", "silu", ("silu",))
    top_k = r.int("num_experts_per_tok", 1)
    if top_k != 1:
        r.problem("num_experts_per_tok", f"{top_k}; transformers' ZAYA supports top-1 routing only")
    experts = r.int("num_experts", 16)
    router_width = r.int("router_hidden_size", 256)
    expert = MLP(r.int("moe_intermediate_size", 2048), "silu")

    def moe(first: bool) -> MoE:
        return MoE(num_experts=experts, top_k=1, expert=expert, skip_experts=1,
                   router=Router("softmax", normalize_top_k=False, score_correction_bias=True,
                                 mlp_width=router_width, mlp_norm_eps=eps, depth_state=not first))

    def mixer(kind: str) -> CompressedConvAttention:
        return CompressedConvAttention(
            num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim, rope=ropes[kind],
            sliding_window=window if kind == "hybrid_sliding" else 0, bias=bias,
            depthwise_kernel=r.int("cca_time0", 2), grouped_kernel=r.int("cca_time1", 2))

    mixers = {kind: mixer(kind) for kind in sorted(set(types))}
    layers = tuple(Layer(mixers[types[i]], moe(i == 0), norm, learned_residual=True) for i in range(n))
    return ArchSpec(name=model_type, family="ZAYA1", model_type=model_type, vocab_size=r.int("vocab_size", 262272),
                    d_model=d, layers=layers, final_norm=norm,
                    max_context=r.int("max_position_embeddings", 131072, minimum=0),
                    tie_embeddings=r.bool("tie_word_embeddings", True), embedding_affine=True)


def zaya_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (CompressedConvAttention,), (MoE,))
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if norm != Norm("rmsnorm", norm.eps) or spec.final_norm != norm:
        reject("final_norm", f"ZAYA1 uses one plain RMSNorm (rms_norm_eps) everywhere, found {norm} and "
                             f"{spec.final_norm}")
    if the_one(spec, "norm placement", lambda layer: layer.norm_placement) != "pre" or any(
            layer.parallel or layer.residual_from_norm or layer.laurel_rank or layer.scaled_output
            or layer.mixer_residual or layer.ffn_residual or not layer.learned_residual for layer in spec.layers):
        reject("layers", "ZAYA1's layers are pre-norm blocks with learned residual scales and nothing else")
    if not spec.embedding_affine:
        reject("embedding_affine", "ZAYA1's embedding always has its learned bias and scale")
    def plain(mixer):  # the mixer without what a layer type decides
        return (mixer.num_heads, mixer.num_kv_heads, mixer.head_dim, mixer.bias, mixer.depthwise_kernel,
                mixer.grouped_kernel)
    heads, kv_heads, head_dim, bias, time0, time1 = the_one(spec, "CCA", lambda layer: plain(layer.mixer))
    window = the_one(spec, "sliding window", lambda layer: layer.mixer.sliding_window or None,
                     [i for i, layer in enumerate(spec.layers) if layer.mixer.sliding_window]) \
        if any(layer.mixer.sliding_window for layer in spec.layers) else None
    types = ["hybrid_sliding" if layer.mixer.sliding_window else "hybrid" for layer in spec.layers]
    ropes = {}
    for kind, layer in zip(types, spec.layers):
        if layer.mixer.rope is None:
            reject("layers", "ZAYA1's attention always rotates (partial RoPE); NoPE has no config form")
        ropes.setdefault(kind, set()).add(layer.mixer.rope)
    for kind, found in ropes.items():
        if len(found) > 1:
            reject("layers", f"{kind} layers with different RoPE; ZAYA1 holds one per layer type")

    def moe_of(layer, first: bool):
        moe = layer.ffn
        router = moe.router
        if (moe.top_k != 1 or moe.skip_experts != 1 or moe.zero_experts or moe.shared is not None
                or moe.shortcut or moe.latent_size or moe.branch_norm is not None or moe.shared_gate
                or moe.output_scale != 1.0 or moe.expert != MLP(moe.expert.intermediate_size, "silu")
                or router != Router("softmax", normalize_top_k=False, score_correction_bias=True,
                                    mlp_width=router.mlp_width, mlp_norm_eps=norm.eps, depth_state=not first)
                or not router.mlp_width):
            reject("layers", "ZAYA1's feed-forward is a top-1 MoE of SwiGLU experts and one skip slot, chosen by "
                             "its MLP router (the depth state from the second layer on)")
        return moe.num_experts, moe.expert.intermediate_size, router.mlp_width

    experts, width, router_width = the_one(spec, "MoE", lambda layer: moe_of(layer, layer is spec.layers[0]))
    config = {
        "model_type": spec.model_type, "vocab_size": spec.vocab_size, "hidden_size": spec.d_model,
        "num_hidden_layers": spec.num_layers, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
        "head_dim": head_dim, "attention_bias": bias, "cca_time0": time0, "cca_time1": time1,
        "layer_types": types, "sliding_window": window, "rms_norm_eps": norm.eps, "hidden_act": "silu",
        "num_experts": experts, "num_experts_per_tok": 1, "moe_intermediate_size": width,
        "router_hidden_size": router_width, "max_position_embeddings": spec.max_context,
        "tie_word_embeddings": spec.tie_embeddings, "lm_head_bias": False,
        # a layer type no layer uses keeps ZayaConfig's default, as the published config does
        "rope_parameters": {kind: rope_to_parameters(next(iter(ropes[kind])) if kind in ropes
                                                     else Rope(DEFAULT_THETAS[kind], int(head_dim * 0.5)), head_dim)
                            for kind in LAYER_TYPES},
    }
    return config


CONVERTERS = {"zaya": (zaya_to_spec, zaya_to_config)}
