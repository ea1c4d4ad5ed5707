"""Ling 2.5 / 2.6 and Ring 2.5 / 2.6 (inclusionAI; model_type bailing_hybrid, architecture
BailingMoeV2_5ForCausalLM, remote code modeling_bailing_moe_v2_5.py): lightning attention with
multi-head latent attention every `layer_group_size`-th layer, over the DeepSeek-style MoE
of Ling 2.0 (sigmoid scores, a selection-only expert bias, group-limited top-k, one shared
expert, dense first layers). transformers has no model of it.

Read from the published remote code (inclusionAI/Ring-V2.5 models/modeling_bailing_moe_v2_5.py):
- layer i is MLA when (i + 1) % layer_group_size == 0, or past the last whole group;
- lightning layers: q, k, v from one projection with num_attention_heads heads each (the
  config's num_key_value_heads is not read by them), no activation (linear_silu is not read
  either), per-head RMSNorm of q and k (use_qk_norm), partial RoPE in halves
  (partial_rotary_factor of head_dim, rope_theta), fla's simple_gla with its default scale
  head_dim ** -0.5 and log-decay -slope_h * (1 - (i - 1) / (L - 1) + 1e-5), a group RMSNorm
  of group_norm_size groups, a sigmoid gate (g_proj), the output projection (dense);
- MLA layers: DeepSeek's, the rope pairs interleaved (rope_interleave), rotated at the
  angles of that same partial rope (so qk_rope_head_dim must be head_dim *
  partial_rotary_factor); use_qkv_bias on q_a, kv_a and the output projection;
- the MoE: the gate normalizes the top-k weights whenever top_k > 1 (norm_topk_prob is not
  read) and scales them by routed_scaling_factor; the shared expert is
  num_shared_experts x moe_intermediate_size wide.
"""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..mixers import LightningAttention, MultiHeadLatentAttention
from ..parts import Norm
from .common import MIXER_TYPES, layers_of, only_kinds, read_base, the_one, write_base
from .deepseek_moe import first_dense_count, moe_indices, spec_problem
from .reader import ConfigReader, rope_to_parameters

FAMILY = "Ling 2.5"
# Keys of Ling 3's bailing_hybrid (BailingMoeV3: Kimi Delta Attention layers), which this
# reader does not build.
LING_3_KEYS = ("short_conv_kernel_size", "kda_lower_bound", "kda_safe_gate", "no_kda_lora")


def mla_layer(index: int, num_layers: int, group: int) -> bool:
    return (index + 1) % group == 0 or index >= num_layers // group * group


def bailing_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    for key in LING_3_KEYS:
        if r.has(key):
            r.problem(key, "is Ling 3's (BailingMoeV3, Kimi Delta Attention layers), which this reader "
                           "does not build; it reads Ling 2.5 / 2.6 (BailingMoeV2_5: lightning attention)")
    base = read_base(r)
    n = r.int("num_hidden_layers")
    d, heads = base["d_model"], r.int("num_attention_heads")
    head_dim = r.int("head_dim", max(d // heads, 1))
    eps = r.float("rms_norm_eps", 1e-6, positive=True)
    norm = Norm("rmsnorm", eps)
    activation = r.str("hidden_act", "silu", ("silu",))
    if r.bool("linear_silu", False):
        r.problem("linear_silu", "true is not what the published code builds (it never reads the key and "
                                 "leaves q, k, v unactivated)")
    if r.bool("use_bias", False):
        r.problem("use_bias", "output-projection biases are not supported (every release sets false)")
    rope = r.rope(head_dim, default_theta=600000.0)
    lightning = LightningAttention(
        num_heads=heads, head_dim=head_dim, norm_eps=eps, norm_groups=r.int("group_norm_size", 1),
        qkv_activation="none", qk_norm=r.bool("use_qk_norm", False), rope=rope, scaled=True, decay="alibi")
    rope_dim = r.int("qk_rope_head_dim")
    if rope_dim != rope.rotary_dim:
        r.problem("qk_rope_head_dim", f"{rope_dim} differs from the rotated width head_dim x "
                                      f"partial_rotary_factor = {rope.rotary_dim}, at whose angles the published "
                                      "code turns MLA's rope channels")
    mla = MultiHeadLatentAttention(
        num_heads=heads, kv_lora_rank=r.int("kv_lora_rank"), qk_nope_head_dim=r.int("qk_nope_head_dim"),
        qk_rope_head_dim=rope_dim, v_head_dim=r.int("v_head_dim"),
        q_lora_rank=r.int("q_lora_rank", 0, minimum=0),  # null: queries are not compressed
        rope=replace(rope, rotary_dim=rope_dim, interleaved=r.bool("rope_interleave", True)),
        qkv_bias=r.bool("use_qkv_bias", False))
    expert_width = r.int("moe_intermediate_size")
    shared_count = r.int("num_shared_experts", 0, minimum=0)
    if r.has("moe_shared_expert_intermediate_size") and shared_count and \
            r.int("moe_shared_expert_intermediate_size") != shared_count * expert_width:
        r.problem("moe_shared_expert_intermediate_size", "differs from num_shared_experts x moe_intermediate_size, "
                  "the width the published code builds (it does not read this key)")
    top_k = r.int("num_experts_per_tok")
    scoring = r.str("score_function", "sigmoid", ("sigmoid",))
    router = Router(scoring=scoring, normalize_top_k=top_k > 1, num_groups=r.int("n_group", 1),
                    top_k_groups=r.int("topk_group", 1),
                    score_correction_bias=r.bool("moe_router_enable_expert_bias", True),
                    routed_scaling=r.float("routed_scaling_factor", 1.0, positive=True))
    moe = MoE(num_experts=r.int("num_experts"), top_k=top_k, expert=MLP(expert_width, activation), router=router,
              shared=MLP(shared_count * expert_width, activation) if shared_count else None)
    dense = MLP(r.int("intermediate_size"), activation)
    first_dense = r.int("first_k_dense_replace", 0, minimum=0)
    group = r.int("layer_group_size", 1)
    # ArchScope's own key, for stacks the group rule cannot place (explore's shortened ones):
    # no release publishes it
    types = r.str_list("layer_types", n, MIXER_TYPES)
    is_mla = [kind == "full_attention" for kind in types] if types is not None else \
        [mla_layer(i, n, group) for i in range(n)]
    layers = [Layer(mla if is_mla[i] else lightning, dense if i < first_dense else moe, norm) for i in range(n)]
    return ArchSpec(name=model_type, family=FAMILY, model_type=model_type, layers=tuple(layers), final_norm=norm,
                    mtp_layers=r.int("num_nextn_predict_layers", 0, minimum=0), **base)


def bailing_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (LightningAttention, MultiHeadLatentAttention), (MLP, MoE))
    dense_layers, moe_layers = moe_indices(spec)
    lightning_layers, mla_layers = layers_of(spec, LightningAttention), layers_of(spec, MultiHeadLatentAttention)
    if not lightning_layers or not mla_layers:
        raise spec_problem("layers", "bailing_hybrid mixes lightning attention and MLA; one of them is missing")
    group = mla_layers[0] + 1
    # MLA at every layer_group_size-th layer (and past the last whole group), else the list
    by_rule = mla_layers == [i for i in range(spec.num_layers) if mla_layer(i, spec.num_layers, group)]
    lightning = the_one(spec, "lightning attention", lambda layer: layer.mixer, lightning_layers)
    mla = the_one(spec, "MLA", lambda layer: layer.mixer, mla_layers)
    moe: MoE = the_one(spec, "MoE", lambda layer: layer.ffn, moe_layers)
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    rope = lightning.rope
    expected_lightning = LightningAttention(
        num_heads=mla.num_heads, head_dim=lightning.head_dim, norm_eps=norm.eps, norm_groups=lightning.norm_groups,
        qkv_activation="none", qk_norm=lightning.qk_norm, rope=rope, scaled=True, decay="alibi",
        block_size=lightning.block_size)
    if lightning != expected_lightning or rope is None:
        raise spec_problem(f"layers[{lightning_layers[0]}].mixer", "bailing_hybrid's lightning attention has MLA's "
                           "head count, unactivated q/k/v, rope, scaled q.k, ALiBi decay and the model's norm eps")
    if mla.rope is None or replace(mla.rope, interleaved=False) != replace(rope, rotary_dim=mla.qk_rope_head_dim) \
            or mla.qk_rope_head_dim != rope.rotary_dim or mla.indexer is not None or mla.latent_scale \
            or mla.query_position_scale:
        raise spec_problem(f"layers[{mla_layers[0]}].mixer", "bailing_hybrid's MLA turns its rope channels at the "
                           "lightning layers' rope (as wide as qk_rope_head_dim), with no indexer or scaling")
    router = moe.router
    if router != Router(scoring="sigmoid", normalize_top_k=moe.top_k > 1, num_groups=router.num_groups,
                        top_k_groups=router.top_k_groups, score_correction_bias=router.score_correction_bias,
                        routed_scaling=router.routed_scaling):
        raise spec_problem(f"layers[{moe_layers[0]}].ffn.router", "bailing_hybrid routes by sigmoid scores, "
                           "normalizing the top-k weights whenever top_k > 1")
    shared_count = 0
    if moe.shared is not None:
        shared_count, rest = divmod(moe.shared.intermediate_size, moe.expert.intermediate_size)
        if rest:
            raise spec_problem(f"layers[{moe_layers[0]}].ffn.shared", "bailing_hybrid's shared experts are copies "
                               "of a routed expert's width")
    dense = the_one(spec, "dense MLP", lambda layer: layer.ffn, dense_layers) if dense_layers else None
    if any(layer.norm != norm or layer.norm_placement != "pre" for layer in spec.layers) or spec.final_norm != norm \
            or norm != Norm("rmsnorm", norm.eps):
        raise spec_problem("layers[0].norm", "bailing_hybrid uses one pre-norm RMSNorm throughout")
    config = {} if by_rule else {"layer_types": [MIXER_TYPES[i in mla_layers] for i in range(spec.num_layers)]}
    return config | write_base(spec) | {
        "architectures": ["BailingMoeV2_5ForCausalLM"],
        "hidden_act": "silu",
        "num_attention_heads": mla.num_heads,
        "num_key_value_heads": mla.num_heads,
        "head_dim": lightning.head_dim,
        "use_qk_norm": lightning.qk_norm,
        "group_norm_size": lightning.norm_groups,
        "layer_group_size": group,
        "linear_silu": False,
        "rms_norm_eps": norm.eps,
        "use_bias": False,
        "use_qkv_bias": mla.qkv_bias,
        "q_lora_rank": mla.q_lora_rank or None,
        "kv_lora_rank": mla.kv_lora_rank,
        "qk_nope_head_dim": mla.qk_nope_head_dim,
        "qk_rope_head_dim": mla.qk_rope_head_dim,
        "v_head_dim": mla.v_head_dim,
        "rope_interleave": mla.rope.interleaved,
        "rope_parameters": rope_to_parameters(rope, lightning.head_dim),
        "intermediate_size": (dense or moe.expert).intermediate_size,
        "first_k_dense_replace": first_dense_count(spec),
        "num_experts": moe.num_experts,
        "num_experts_per_tok": moe.top_k,
        "num_shared_experts": shared_count,
        "moe_intermediate_size": moe.expert.intermediate_size,
        "moe_shared_expert_intermediate_size": moe.shared.intermediate_size if moe.shared is not None else 0,
        "n_group": router.num_groups,
        "topk_group": router.top_k_groups,
        "score_function": "sigmoid",
        "moe_router_enable_expert_bias": router.score_correction_bias,
        "routed_scaling_factor": router.routed_scaling,
        "num_nextn_predict_layers": spec.mtp_layers,
    }


# transformers builds no model of these (inclusionAI's remote code only): nothing to count on the meta device
NO_TRANSFORMERS_MODEL = ("bailing_hybrid",)

CONVERTERS = {"bailing_hybrid": (bailing_to_spec, bailing_to_config)}
