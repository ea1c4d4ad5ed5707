"""DeepSeek-lineage MoE configs, written as differences from DeepSeek V3: MLA attention,
sigmoid-scored experts with a selection-only correction bias, group-limited top-k,
shared experts and dense first layers.

- deepseek_v3 (also Kimi K2, whose config is this one with model_type "kimi_k2");
- deepseek_v32 adds the lightning indexer of DeepSeek sparse attention;
- glm4_moe (GLM-4.5) swaps MLA for GQA with qkv bias, partial RoPE and optional QK-norm;
- mimo_v2_flash swaps it for 5:1 sliding:global GQA (window 128, sinks and twice the
  kv heads on the sliding layers), value heads narrower than query/key heads, no
  shared expert.
"""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import MLP, Attention, Layer, MoE, MultiHeadLatentAttention, Norm, QKNorm, Rope, Router, \
    SparseIndexer
from ..errors import Problem, SpecError
from .common import FAMILIES, HIDDEN_ACTS, activation_from_hf, activation_to_hf, attention_of, read_base, the_one, \
    write_base
from .reader import ConfigReader, rope_to_parameters

MLP_LAYER_TYPES = ("dense", "sparse")
LAYER_TYPES = ("full_attention", "sliding_attention")

# --- reading: the parts every model type here shares ------------------------------------


def read_router(r: ConfigReader) -> Router:
    # DeepSeek's published configs name the scoring and the selection method; transformers'
    # own configs omit both and always build sigmoid scores with the correction bias.
    return Router(
        scoring=r.str("scoring_func", "sigmoid", ("sigmoid", "softmax")),
        normalize_top_k=r.bool("norm_topk_prob", True),
        num_groups=r.int("n_group", 1),
        top_k_groups=r.int("topk_group", 1),
        score_correction_bias=r.str("topk_method", "noaux_tc") == "noaux_tc",
        routed_scaling=r.float("routed_scaling_factor", 1.0, positive=True),  # MiMo publishes null
    )


def read_moe(r: ConfigReader, activation: str) -> MoE:
    shared_count = r.int("n_shared_experts", 0, minimum=0)  # MiMo publishes null: none
    expert_width = r.int("moe_intermediate_size")
    return MoE(
        num_experts=r.int("n_routed_experts"),
        top_k=r.int("num_experts_per_tok"),
        expert=MLP(expert_width, activation),
        router=read_router(r),
        # transformers builds the shared experts as one MLP n_shared_experts times as wide
        shared=MLP(shared_count * expert_width, activation) if shared_count else None,
    )


def read_moe_layers(r: ConfigReader, n: int, default_first_dense: int) -> list[bool]:
    """True where a layer's feed-forward is the MoE: `mlp_layer_types` (transformers),
    `moe_layer_freq` as a list (MiMo's published config), else the first k dense."""
    types = r.str_list("mlp_layer_types", n, MLP_LAYER_TYPES)
    if types is not None:
        return [kind == "sparse" for kind in types]
    if isinstance(r.config.get("moe_layer_freq"), list):
        flags = r.int_list("moe_layer_freq", n)
        if flags is not None:
            return [bool(flag) for flag in flags]
    first_dense = r.int("first_k_dense_replace", default_first_dense, minimum=0)
    return [i >= first_dense for i in range(n)]


def read_norm(r: ConfigReader, default_eps: float) -> Norm:
    # MiMo's published config calls it layernorm_epsilon; it is still an RMSNorm
    eps_key = "layernorm_epsilon" if r.has("layernorm_epsilon") and not r.has("rms_norm_eps") else "rms_norm_eps"
    return Norm("rmsnorm", r.float(eps_key, default_eps, positive=True))


def read_activation(r: ConfigReader) -> str:
    return activation_from_hf(r.str("hidden_act", "silu", HIDDEN_ACTS))


def build_spec(r: ConfigReader, model_type: str, layers: list[Layer], norm: Norm) -> ArchSpec:
    return ArchSpec(
        name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=tuple(layers),
        final_norm=norm, mtp_layers=r.int("num_nextn_predict_layers", 0, minimum=0), **read_base(r),
    )


# --- DeepSeek V3 / V3.2: MLA -------------------------------------------------------------


def read_mla(r: ConfigReader, model_type: str) -> MultiHeadLatentAttention:
    rope_dim = r.int("qk_rope_head_dim")
    # DeepSeek lays each rope pair out as (2i, 2i+1); V3.2's model always does.
    interleaved = True if model_type == "deepseek_v32" else r.bool("rope_interleave", True)
    indexer = None
    if model_type == "deepseek_v32":
        indexer = SparseIndexer(num_heads=r.int("index_n_heads", 64), head_dim=r.int("index_head_dim", 128),
                                top_k=r.int("index_topk", 2048))
    position_scale = r.sub("llama_4_scaling")  # Mistral Large 3's query scale by position
    return MultiHeadLatentAttention(
        num_heads=r.int("num_attention_heads"),
        kv_lora_rank=r.int("kv_lora_rank"),
        qk_nope_head_dim=r.int("qk_nope_head_dim"),
        qk_rope_head_dim=rope_dim,
        v_head_dim=r.int("v_head_dim"),
        q_lora_rank=r.int("q_lora_rank", 0, minimum=0),  # null: queries are not compressed
        rope=replace(r.rope(rope_dim), interleaved=interleaved),
        qkv_bias=r.bool("attention_bias", False),
        indexer=indexer,
        query_position_scale=position_scale.float("beta", 0.0),
        query_position_floor=position_scale.int("original_max_position_embeddings", 8192),
    )


def deepseek_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    n = r.int("num_hidden_layers")
    activation = read_activation(r)
    norm = read_norm(r, 1e-6)
    mla = read_mla(r, model_type)
    dense, moe = MLP(r.int("intermediate_size"), activation), read_moe(r, activation)
    layers = [Layer(mla, moe if is_moe else dense, norm) for is_moe in read_moe_layers(r, n, 3)]
    return build_spec(r, model_type, layers, norm)


# --- GLM-4.5: GQA with qkv bias, partial RoPE, optional QK-norm ------------------------------


def glm4_moe_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    n = r.int("num_hidden_layers")
    d = r.int("hidden_size")
    heads = r.int("num_attention_heads")
    head_dim = r.int("head_dim", max(d // heads, 1))
    activation = read_activation(r)
    norm = read_norm(r, 1e-5)
    rope = r.rope(head_dim)
    if not r.has("partial_rotary_factor") and "partial_rotary_factor" not in r.rope_parameters():
        rope = replace(rope, rotary_dim=head_dim // 2)  # transformers' default for GLM-4.5: half the head
    attention = Attention(
        num_heads=heads, num_kv_heads=r.int("num_key_value_heads", heads), head_dim=head_dim,
        rope=rope, qkv_bias=r.bool("attention_bias", False),
        qk_norm=QKNorm("head", norm) if r.bool("use_qk_norm", False) else None,
    )
    dense, moe = MLP(r.int("intermediate_size"), activation), read_moe(r, activation)
    layers = [Layer(attention, moe if is_moe else dense, norm) for is_moe in read_moe_layers(r, n, 1)]
    return build_spec(r, model_type, layers, norm)


# --- MiMo-V2-Flash: hybrid sliding-window GQA with sinks ---------------------------------------


def read_mimo_sliding(r: ConfigReader, n: int) -> list[bool]:
    """True for sliding-window layers: `layer_types` (transformers) or the published
    `hybrid_layer_pattern` (1: sliding); absent, transformers' rule (first and every
    sixth layer global)."""
    types = r.str_list("layer_types", n, LAYER_TYPES)
    if types is not None:
        return [kind == "sliding_attention" for kind in types]
    flags = r.int_list("hybrid_layer_pattern", n)
    if flags is not None:
        return [bool(flag) for flag in flags]
    return [not (i == 0 or (i + 1) % 6 == 0) for i in range(n)]


def read_mimo_ropes(r: ConfigReader, head_dim: int) -> tuple[Rope, Rope]:
    """(global, sliding) ropes, from per-layer-type rope_parameters or the published
    rope_theta / swa_rope_theta pair."""
    if isinstance(r.config.get("rope_parameters"), dict) and "sliding_attention" in r.config["rope_parameters"]:
        return r.rope(head_dim, "full_attention"), r.rope(head_dim, "sliding_attention")
    rotary_dim = int(head_dim * r.float("partial_rotary_factor", 0.334, positive=True))
    return (Rope(r.float("rope_theta", 5_000_000.0, positive=True), rotary_dim),
            Rope(r.float("swa_rope_theta", 10_000.0, positive=True), rotary_dim))


def mimo_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    n = r.int("num_hidden_layers")
    heads = r.int("num_attention_heads")
    head_dim = r.int("head_dim", 192)
    kv_heads = r.int("num_key_value_heads", heads)
    # The published config names the sliding layers' kv heads; transformers derives them as twice.
    sliding_kv_heads = r.int("swa_num_key_value_heads", 2 * kv_heads)
    window = r.int("sliding_window" if r.has("sliding_window") or not r.has("sliding_window_size")
                   else "sliding_window_size", 128)
    # transformers multiplies values by 0.707 when the key is absent, by 1 when it is null
    explicit_null = "attention_value_scale" in r.config and r.config["attention_value_scale"] is None
    value_scale = 1.0 if explicit_null else r.float("attention_value_scale", 0.707, positive=True)
    global_rope, sliding_rope = read_mimo_ropes(r, head_dim)
    base = Attention(num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
                     value_head_dim=r.int("v_head_dim", 128), rope=global_rope,
                     qkv_bias=r.bool("attention_bias", False),
                     value_scale=value_scale)
    sliding = replace(base, num_kv_heads=sliding_kv_heads, rope=sliding_rope, sliding_window=window, sinks=True)
    activation = read_activation(r)
    norm = read_norm(r, 1e-5)
    dense, moe = MLP(r.int("intermediate_size"), activation), read_moe(r, activation)
    layers = [Layer(sliding if is_sliding else base, moe if is_moe else dense, norm)
              for is_sliding, is_moe in zip(read_mimo_sliding(r, n), read_moe_layers(r, n, 1))]
    return build_spec(r, model_type, layers, norm)


# --- writing --------------------------------------------------------------------------------


def _problem(path: str, message: str) -> SpecError:
    return SpecError([Problem(path, message)])


def moe_indices(spec: ArchSpec) -> tuple[list[int], list[int]]:
    """(dense layers, MoE layers); each must hold one MoE and one dense MLP throughout."""
    moe = [i for i, layer in enumerate(spec.layers) if isinstance(layer.ffn, MoE)]
    dense = [i for i, layer in enumerate(spec.layers) if isinstance(layer.ffn, MLP)]
    if len(moe) + len(dense) != spec.num_layers:
        raise _problem("layers", "every layer needs a feed-forward network (dense MLP or MoE)")
    if not moe:
        raise _problem("layers", f"{spec.model_type} configs describe an MoE; no layer has one")
    return dense, moe


def write_ffn(spec: ArchSpec, allow_shared: bool = True) -> dict:
    """The MoE, dense-MLP and norm keys every model type here shares."""
    dense_layers, moe_layers = moe_indices(spec)
    moe: MoE = the_one(spec, "MoE", lambda layer: layer.ffn, moe_layers)
    dense = the_one(spec, "dense MLP", lambda layer: layer.ffn, dense_layers) if dense_layers else None
    at = f"layers[{moe_layers[0]}].ffn"
    shared_count = 0
    if moe.shared is not None:
        if not allow_shared:
            raise _problem(f"{at}.shared", f"{spec.model_type} has no shared expert")
        shared_count, rest = divmod(moe.shared.intermediate_size, moe.expert.intermediate_size)
        if rest or moe.shared != replace(moe.expert, intermediate_size=moe.shared.intermediate_size):
            raise _problem(f"{at}.shared", f"{spec.model_type} builds shared experts only as n_shared_experts "
                           f"copies of a routed expert ({moe.expert.intermediate_size} wide)")
    plain = MoE(moe.num_experts, moe.top_k, MLP(moe.expert.intermediate_size, moe.expert.activation),
                replace(Router(), scoring=moe.router.scoring, normalize_top_k=moe.router.normalize_top_k,
                        num_groups=moe.router.num_groups, top_k_groups=moe.router.top_k_groups,
                        score_correction_bias=moe.router.score_correction_bias,
                        routed_scaling=moe.router.routed_scaling), moe.shared)
    if moe != plain:
        raise _problem(at, f"{spec.model_type} experts are bias-free SwiGLU-style MLPs routed by DeepSeek's "
                       "router (no router bias, softcap, shared gate or output scale)")
    if dense is not None and replace(dense, intermediate_size=moe.expert.intermediate_size) != moe.expert:
        raise _problem(f"layers[{dense_layers[0]}].ffn", "dense and expert MLPs share one hidden_act, gated, "
                       "without bias")
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if norm != Norm("rmsnorm", norm.eps) or any(layer.norm_placement != "pre" for layer in spec.layers) \
            or spec.final_norm != norm:
        raise _problem("layers[0].norm", f"{spec.model_type} uses one pre-norm RMSNorm throughout")
    router = moe.router
    return {
        "hidden_act": activation_to_hf(moe.expert.activation),
        "intermediate_size": (dense or moe.expert).intermediate_size,
        "moe_intermediate_size": moe.expert.intermediate_size,
        "n_routed_experts": moe.num_experts,
        "num_experts_per_tok": moe.top_k,
        "n_shared_experts": shared_count,
        "n_group": router.num_groups,
        "topk_group": router.top_k_groups,
        "norm_topk_prob": router.normalize_top_k,
        "routed_scaling_factor": router.routed_scaling,
        "scoring_func": router.scoring,
        "topk_method": "noaux_tc" if router.score_correction_bias else "greedy",
        "rms_norm_eps": norm.eps,
        "num_nextn_predict_layers": spec.mtp_layers,
    }


def first_dense_count(spec: ArchSpec) -> int:
    """How many leading layers are dense, when the dense ones are exactly a prefix."""
    dense_layers, _ = moe_indices(spec)
    if dense_layers != list(range(len(dense_layers))):
        raise _problem("layers", f"{spec.model_type} configs hold dense layers only as a prefix "
                       "(first_k_dense_replace); found dense layers " + str(dense_layers))
    return len(dense_layers)


def mlp_layer_types(spec: ArchSpec) -> list[str]:
    return [MLP_LAYER_TYPES[isinstance(layer.ffn, MoE)] for layer in spec.layers]


def mla_of(layer) -> MultiHeadLatentAttention:
    if not isinstance(layer.mixer, MultiHeadLatentAttention):
        raise _problem("layers", f"expected multi-head latent attention, found {layer.mixer_kind}")
    return layer.mixer


def deepseek_to_config(spec: ArchSpec) -> dict:
    mla = the_one(spec, "attention", mla_of)
    if mla.rope is None:
        raise _problem("layers[0].mixer.rope", f"{spec.model_type} always rotates the rope channels")
    config = write_base(spec) | write_ffn(spec) | {
        "num_attention_heads": mla.num_heads,
        "num_key_value_heads": mla.num_heads,
        "q_lora_rank": mla.q_lora_rank or None,
        "kv_lora_rank": mla.kv_lora_rank,
        "qk_nope_head_dim": mla.qk_nope_head_dim,
        "qk_rope_head_dim": mla.qk_rope_head_dim,
        "v_head_dim": mla.v_head_dim,
        "attention_bias": mla.qkv_bias,
        "rope_parameters": rope_to_parameters(mla.rope, mla.qk_rope_head_dim),
    }
    if mla.query_position_scale:
        config["llama_4_scaling"] = {"beta": mla.query_position_scale,
                                     "original_max_position_embeddings": mla.query_position_floor}
    if spec.model_type == "deepseek_v32":
        if mla.indexer is None or not mla.q_lora_rank:
            raise _problem("layers[0].mixer", "deepseek_v32 needs the sparse indexer and a query latent "
                           "(q_lora_rank), which the indexer reads")
        if not mla.rope.interleaved:
            raise _problem("layers[0].mixer.rope.interleaved", "deepseek_v32 always interleaves rope pairs")
        config.update(mlp_layer_types=mlp_layer_types(spec), index_n_heads=mla.indexer.num_heads,
                      index_head_dim=mla.indexer.head_dim, index_topk=mla.indexer.top_k)
    else:
        if mla.indexer is not None:
            raise _problem("layers[0].mixer.indexer", "deepseek_v3 has no sparse indexer; use deepseek_v32")
        config.update(first_k_dense_replace=first_dense_count(spec), rope_interleave=mla.rope.interleaved)
    return config


def glm4_moe_to_config(spec: ArchSpec) -> dict:
    attention = the_one(spec, "attention", attention_of)
    if attention.rope is None or attention.rope.interleaved or attention.sliding_window or attention.sinks \
            or attention.out_bias or attention.value_head_dim or (attention.qk_norm is not None
                                                                  and attention.qk_norm.scope != "head"):
        raise _problem("layers[0].mixer", "glm4_moe attention is global GQA with half-split partial RoPE, "
                       "optional per-head QK-norm and bias on q/k/v only")
    rope = rope_to_parameters(attention.rope, attention.head_dim)
    return write_base(spec) | write_ffn(spec) | {
        "num_attention_heads": attention.num_heads,
        "num_key_value_heads": attention.num_kv_heads,
        "head_dim": attention.head_dim,
        "attention_bias": attention.qkv_bias,
        "use_qk_norm": attention.qk_norm is not None,
        "partial_rotary_factor": rope.get("partial_rotary_factor", 1.0),
        "rope_parameters": rope,
        "first_k_dense_replace": first_dense_count(spec),
    }


def mimo_to_config(spec: ArchSpec) -> dict:
    sliding = [i for i, layer in enumerate(spec.layers) if attention_of(layer).sliding_window]
    full = [i for i in range(spec.num_layers) if i not in sliding]
    if not full:
        raise _problem("layers", "mimo_v2_flash keeps at least one global-attention layer")
    shared = the_one(spec, "attention (kv heads, window, rope and sinks aside)",
                     lambda layer: replace(layer.mixer, num_kv_heads=1, sliding_window=0, rope=None, sinks=False))
    global_attention = the_one(spec, "global attention", lambda layer: layer.mixer, full)
    config = write_base(spec) | write_ffn(spec, allow_shared=False) | {
        "num_attention_heads": shared.num_heads,
        "num_key_value_heads": global_attention.num_kv_heads,
        "head_dim": shared.head_dim,
        "v_head_dim": shared.v_dim,
        "attention_bias": shared.qkv_bias,
        "attention_value_scale": shared.value_scale,
        "layer_types": [LAYER_TYPES[i in sliding] for i in range(spec.num_layers)],
        "mlp_layer_types": mlp_layer_types(spec),
    }
    if global_attention.sinks or global_attention.rope is None:
        raise _problem(f"layers[{full[0]}].mixer", "mimo_v2_flash global layers use RoPE and have no sinks")
    ropes = {"full_attention": rope_to_parameters(global_attention.rope, shared.head_dim)}
    if sliding:
        local = the_one(spec, "sliding attention", lambda layer: layer.mixer, sliding)
        if local.num_kv_heads != 2 * global_attention.num_kv_heads or not local.sinks or local.rope is None:
            raise _problem(f"layers[{sliding[0]}].mixer", "mimo_v2_flash sliding layers have sinks, RoPE and "
                           f"twice the global layers' kv heads ({2 * global_attention.num_kv_heads})")
        config["sliding_window"] = local.sliding_window
        ropes["sliding_attention"] = rope_to_parameters(local.rope, shared.head_dim)
    else:
        ropes["sliding_attention"] = ropes["full_attention"]
    for params in ropes.values():  # transformers' own default is 0.334, so say 1.0 when it is
        params.setdefault("partial_rotary_factor", 1.0)
    config["rope_parameters"] = ropes
    return config


CONVERTERS = {
    "deepseek_v3": (deepseek_to_spec, deepseek_to_config),
    "deepseek_v32": (deepseek_to_spec, deepseek_to_config),
    "glm4_moe": (glm4_moe_to_spec, glm4_moe_to_config),
    "mimo_v2_flash": (mimo_to_spec, mimo_to_config),
}
