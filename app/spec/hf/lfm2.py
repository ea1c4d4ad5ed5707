"""LFM2 / LFM2.5 (model_type lfm2) and their mixture of experts (lfm2_moe): gated short
convolutions and GQA attention with per-head QK-norm, in the order `layer_types` spells,
each followed by a SwiGLU -- dense in lfm2, dense for the first num_dense_layers and then
sigmoid-routed experts in lfm2_moe.

Every default below is transformers' own (Lfm2Config, Lfm2MoeConfig), so a key a config
leaves out builds what transformers builds. Older LFM2 configs spell two keys their way:
block_ff_dim (the MLP width before its adjustment) and tie_embedding; as in transformers,
those win over intermediate_size and tie_word_embeddings.
"""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..mixers import Attention, GatedShortConv
from ..parts import Norm, QKNorm, Rope
from .common import FAMILIES, index_list, key_of, layers_of, only_kinds, read_base, reject, the_one, write_base
from .reader import ConfigReader, rope_to_parameters

LAYER_TYPES = ("conv", "full_attention")
# transformers' Lfm2MoeSparseMoeBlock divides the chosen weights by their sum plus this
ROUTER_EPSILON = 1e-6


def attention_layers(r: ConfigReader, model_type: str, n: int) -> list[bool]:
    """Which layers attend: layer_types, else (lfm2) full_attn_idxs, else every layer --
    transformers' Lfm2Config default; its Lfm2MoeConfig has none and needs the list."""
    if r.has("layer_types"):
        types = r.str_list("layer_types", n, LAYER_TYPES)
        return [t == "full_attention" for t in types] if types else [False] * n
    if model_type == "lfm2_moe":
        r.problem("layer_types", "missing; lfm2_moe configs list each layer's type (conv or full_attention)")
        return [False] * n
    if r.has("full_attn_idxs"):
        chosen = set(index_list(r, "full_attn_idxs", n))
        return [i in chosen for i in range(n)]
    return [True] * n


def adjusted_mlp_width(r: ConfigReader) -> int:
    """The dense lfm2 MLP's width: with block_auto_adjust_ff_dim, Llama's rule -- two
    thirds of the stated width, times block_ffn_dim_multiplier (none when it is null),
    rounded up to block_multiple_of (LFM2-1.2B: 12288 -> 8192)."""
    width = r.int(key_of(r, "block_ff_dim", "intermediate_size"), 12288)
    if not r.bool("block_auto_adjust_ff_dim", True):
        return width
    width = int(2 * width / 3)
    if "block_ffn_dim_multiplier" in r.config and r.config["block_ffn_dim_multiplier"] is None:
        return max(width, 1)
    width = int(r.float("block_ffn_dim_multiplier", 1.0, positive=True) * width)
    multiple = r.int("block_multiple_of", 256)
    return max(multiple * -(-width // multiple), 1)


def lfm2_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    base["tie_embeddings"] = r.bool(key_of(r, "tie_embedding", "tie_word_embeddings"), True)
    d = base["d_model"]
    n = r.int("num_hidden_layers", 32)
    norm = Norm("rmsnorm", r.float("norm_eps", 1e-5, positive=True))
    heads = r.int("num_attention_heads", 32)
    head_dim = r.int("head_dim", max(d // heads, 1))
    rope = r.rope(head_dim, default_theta=1_000_000.0)
    if rope.rotary_dim != head_dim:
        r.problem("partial_rotary_factor", "lfm2 rotates every channel of a head")
        rope = Rope(rope.theta, head_dim, rope.scaling)
    attention = Attention(num_heads=heads, num_kv_heads=r.int("num_key_value_heads", 8), head_dim=head_dim,
                          rope=rope, qk_norm=QKNorm("head", norm))
    if r.has("conv_dim") and r.int("conv_dim") != d:
        r.problem("conv_dim", f"{r.config['conv_dim']} differs from hidden_size {d}; transformers' lfm2 "
                              "convolves hidden_size channels")
    conv = GatedShortConv(channels=d, kernel=r.int("conv_L_cache", 3), bias=r.bool("conv_bias", False))
    attends = attention_layers(r, model_type, n)
    if model_type == "lfm2":
        ffns = [MLP(adjusted_mlp_width(r), "silu")] * n
    else:
        dense = MLP(r.int("intermediate_size", 7168), "silu")
        moe = MoE(num_experts=r.int("num_experts", 32), top_k=r.int("num_experts_per_tok", 4),
                  expert=MLP(r.int("moe_intermediate_size", 1792), "silu"),
                  router=Router("sigmoid", normalize_top_k=r.bool("norm_topk_prob", True),
                                score_correction_bias=r.bool("use_expert_bias", True),  # its expert_bias buffer
                                routed_scaling=r.float("routed_scaling_factor", 1.0, positive=True),
                                normalize_epsilon=ROUTER_EPSILON))
        first_sparse = r.int("num_dense_layers", 2, minimum=0)
        ffns = [dense if i < first_sparse else moe for i in range(n)]
    layers = tuple(Layer(attention if attends[i] else conv, ffns[i], norm) for i in range(n))
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=layers,
                    final_norm=norm, **base)


def lfm2_to_config(spec: ArchSpec) -> dict:
    moe_type = spec.model_type == "lfm2_moe"
    only_kinds(spec, (GatedShortConv, Attention), (MLP, MoE) if moe_type else (MLP,))
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if norm != Norm("rmsnorm", norm.eps):
        reject("layers[0].norm", f"{spec.model_type} normalizes with a plain RMSNorm, found {norm}")
    if spec.final_norm != norm:
        reject("final_norm", f"{spec.model_type} uses one RMSNorm (norm_eps) everywhere, the final one included")
    if the_one(spec, "norm placement", lambda layer: layer.norm_placement) != "pre":
        reject("layers", f"{spec.model_type} normalizes each sublayer's input (pre-norm)")
    attends = layers_of(spec, Attention)
    config = write_base(spec) | {
        "layer_types": ["full_attention" if i in attends else "conv" for i in range(spec.num_layers)],
        "norm_eps": norm.eps,
        "tie_embedding": spec.tie_embeddings,  # the published configs' older name of tie_word_embeddings
    }
    if attends:
        attention = the_one(spec, "attention", lambda layer: layer.mixer, attends)
        plain = Attention(attention.num_heads, attention.num_kv_heads, attention.head_dim,
                          rope=Rope(attention.rope.theta, attention.head_dim, attention.rope.scaling)
                          if attention.rope is not None else None, qk_norm=QKNorm("head", norm))
        if attention != plain or attention.rope is None:
            reject(f"layers[{attends[0]}].mixer", f"{spec.model_type} attention is GQA with RoPE on whole heads "
                   "and per-head QK-norm, without bias, windows or gates")
        config.update(num_attention_heads=attention.num_heads, num_key_value_heads=attention.num_kv_heads,
                      head_dim=attention.head_dim,
                      rope_parameters=rope_to_parameters(attention.rope, attention.head_dim))
    convs = layers_of(spec, GatedShortConv)
    if convs:
        conv = the_one(spec, "gated short conv", lambda layer: layer.mixer, convs)
        if conv.channels != spec.d_model:
            reject(f"layers[{convs[0]}].mixer.channels", f"{conv.channels} differs from d_model {spec.d_model}; "
                   f"{spec.model_type} convolves the model's own width")
        config.update(conv_L_cache=conv.kernel, conv_bias=conv.bias, conv_dim=conv.channels)
    config.update(_feed_forwards(spec) if moe_type else _dense_mlp(spec))
    return config


def _plain_mlp(mlp: MLP, where: str) -> MLP:
    if mlp != MLP(mlp.intermediate_size, "silu"):
        reject(where, "LFM2's feed-forwards are SwiGLU (silu, gated) without bias")
    return mlp


def _dense_mlp(spec: ArchSpec) -> dict:
    mlp = _plain_mlp(the_one(spec, "MLP", lambda layer: layer.ffn), "layers[0].ffn")
    # The width as built; transformers would otherwise shrink it again by its 2/3 rule.
    return {"intermediate_size": mlp.intermediate_size, "block_auto_adjust_ff_dim": False}


def _feed_forwards(spec: ArchSpec) -> dict:
    dense = layers_of(spec, MLP, "ffn")
    if dense != list(range(len(dense))):
        reject(f"layers[{dense[-1]}].ffn", "lfm2_moe keeps its dense layers first (num_dense_layers)")
    config: dict = {"num_dense_layers": len(dense)}
    if dense:
        config["intermediate_size"] = _plain_mlp(the_one(spec, "dense MLP", lambda l: l.ffn, dense),
                                                 f"layers[{dense[0]}].ffn").intermediate_size
    sparse = layers_of(spec, MoE, "ffn")
    if sparse:
        moe = the_one(spec, "MoE", lambda layer: layer.ffn, sparse)
        router = moe.router
        expected = Router("sigmoid", router.normalize_top_k, score_correction_bias=router.score_correction_bias,
                          routed_scaling=router.routed_scaling, normalize_epsilon=ROUTER_EPSILON)
        if router != expected or moe.shared is not None or moe.shared_gate or moe.output_scale != 1.0:
            reject(f"layers[{sparse[0]}].ffn", "lfm2_moe routes by sigmoid scores over ungrouped experts (an "
                   "expert bias steering the choice), with no shared expert")
        _plain_mlp(moe.expert, f"layers[{sparse[0]}].ffn.expert")
        config.update(num_experts=moe.num_experts, num_experts_per_tok=moe.top_k,
                      moe_intermediate_size=moe.expert.intermediate_size, norm_topk_prob=router.normalize_top_k,
                      use_expert_bias=router.score_correction_bias, routed_scaling_factor=router.routed_scaling)
    return config


CONVERTERS = {"lfm2": (lfm2_to_spec, lfm2_to_config), "lfm2_moe": (lfm2_to_spec, lfm2_to_config)}
