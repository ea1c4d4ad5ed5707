"""LongCat-Flash (model_type longcat_flash, in transformers) and LongCat-Flash-Lite
(longcat_flash_ngram, Meituan's remote code only): MLA with scaled latents, and the
shortcut-connected MoE with zero experts.

One published layer (num_layers counts these) is two ArchScope layers: MLA then a dense MLP,
twice, and an MoE that reads the first MLP's normed input but joins after the second. The
first layer holds the MoE with the first MLP as its shared expert (shortcut=True); the second
holds the second MLP. Transformers' cache layers (2i, 2i+1) are the same two.
"""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import Layer
from ..errors import Problem, SpecError
from ..ffn import MLP, MoE, Router
from ..mixers import MultiHeadLatentAttention
from ..ngram_embedding import NgramEmbedding
from .common import activation_to_hf, the_one
from .deepseek_moe import read_activation, read_norm
from .reader import ConfigReader, rope_to_parameters


def _problem(path: str, message: str) -> SpecError:
    return SpecError([Problem(path, message)])


def longcat_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    blocks = r.int("num_layers")
    if r.has("num_hidden_layers") and r.config["num_hidden_layers"] != 2 * blocks:
        # transformers derives it (two attention sublayers per layer); a config that says
        # otherwise disagrees with itself
        r.problem("num_hidden_layers", f"{r.config['num_hidden_layers']!r} is not 2 x num_layers ({2 * blocks})")
    heads, nope, rope_dim = r.int("num_attention_heads"), r.int("qk_nope_head_dim"), r.int("qk_rope_head_dim")
    if r.has("num_key_value_heads") and r.config["num_key_value_heads"] != heads:
        r.problem("num_key_value_heads", "MLA gives every head keys and values of its own: expected "
                  f"num_attention_heads {heads}, found {r.config['num_key_value_heads']!r}")
    if r.has("qk_head_dim") and r.config["qk_head_dim"] != nope + rope_dim:
        r.problem("qk_head_dim", f"expected qk_nope_head_dim + qk_rope_head_dim = {nope + rope_dim}, found "
                  f"{r.config['qk_head_dim']!r}")
    if r.has("head_dim") and r.config["head_dim"] != rope_dim:
        # transformers sizes its rotary table by head_dim: any other width rotates another model
        r.problem("head_dim", f"LongCat rotates the qk_rope_head_dim ({rope_dim}) channels of each head; "
                  f"found head_dim {r.config['head_dim']!r}")
    scale_q, scale_kv = r.bool("mla_scale_q_lora", True), r.bool("mla_scale_kv_lora", True)
    if scale_q != scale_kv:
        r.problem("mla_scale_kv_lora", "scales the KV latent without the query latent, or the other way: "
                  "ArchScope scales both or neither")
    r.str("attention_method", "MLA", ("MLA",))
    r.str("zero_expert_type", "identity", ("identity",))
    mla = MultiHeadLatentAttention(
        num_heads=heads, kv_lora_rank=r.int("kv_lora_rank"), qk_nope_head_dim=nope, qk_rope_head_dim=rope_dim,
        v_head_dim=r.int("v_head_dim"), q_lora_rank=r.int("q_lora_rank"),
        # LongCat keeps DeepSeek's interleaved rope pairs (apply_rotary_pos_emb_interleave)
        rope=replace(r.rope(rope_dim, default_theta=10_000_000.0), interleaved=True),
        qkv_bias=r.bool("attention_bias", False), latent_scale=scale_q,
    )
    if r.bool("router_bias", False):
        # Meituan's router and transformers' both make the logits from the classifier's weight
        # alone (F.linear without its bias): a bias would be stored and never read
        r.problem("router_bias", "LongCat's router ignores a classifier bias (its logits use the weight "
                  "alone); ArchScope reads only configs without one")
    activation = read_activation(r)
    norm = read_norm(r, 1e-5)
    dense = MLP(r.int("ffn_hidden_size"), activation)
    moe = MoE(
        num_experts=r.int("n_routed_experts"), top_k=r.int("moe_topk"),
        expert=MLP(r.int("expert_ffn_hidden_size"), activation),
        # softmax over real and zero experts alike, weights not renormalized, times the scale
        router=Router(scoring="softmax", normalize_top_k=False, score_correction_bias=True,
                      routed_scaling=r.float("routed_scaling_factor", 1.0, positive=True),
                      bias=False),
        shared=dense, zero_experts=r.int("zero_expert_num", 0, minimum=0), shortcut=True,
    )
    ngram = None
    if model_type == "longcat_flash_ngram":
        eos = r.config.get("eos_token_id", 2)
        if not isinstance(eos, int) or isinstance(eos, bool):
            r.problem("eos_token_id", f"the n-grams restart at one end-of-sequence id; found {eos!r}")
            eos = 0
        ngram = NgramEmbedding(orders=r.int("emb_neighbor_num"), splits=r.int("emb_split_num"),
                               table_ratio=r.int("ngram_vocab_size_ratio"), boundary_token=eos)
    layers = [Layer(mla, moe, norm), Layer(mla, dense, norm)] * blocks
    return ArchSpec(
        name=model_type, family="LongCat-Flash", model_type=model_type, layers=tuple(layers), final_norm=norm,
        vocab_size=r.int("vocab_size"), d_model=r.int("hidden_size"),
        max_context=r.int("max_position_embeddings", 0, minimum=0),
        tie_embeddings=r.bool("tie_word_embeddings", False), ngram_embedding=ngram,
    )


def _longcat_pair(spec: ArchSpec) -> tuple[Layer, Layer]:
    """The two layers every published layer is made of, or SpecError naming the first
    layer that breaks the pattern."""
    if spec.num_layers % 2 or not spec.layers:
        raise _problem("layers", f"{spec.model_type} pairs its layers (MLA + MLP with the shortcut MoE, MLA + "
                       f"MLP); found {spec.num_layers}")
    first, second = spec.layers[0], spec.layers[1]
    for index, layer in enumerate(spec.layers):
        if layer != (first if index % 2 == 0 else second):
            raise _problem(f"layers[{index}]", f"{spec.model_type} repeats one pair of layers; this one differs")
    if not isinstance(first.mixer, MultiHeadLatentAttention) or not isinstance(second.mixer, MultiHeadLatentAttention):
        raise _problem("layers[0].mixer", f"{spec.model_type} attends with MLA in both sublayers")
    if not isinstance(first.ffn, MoE) or not first.ffn.shortcut or first.ffn.shared is None:
        raise _problem("layers[0].ffn", f"{spec.model_type}'s first sublayer holds the shortcut MoE with the "
                       "dense MLP as its shared expert")
    if first.ffn.shared != second.ffn or first.mixer != second.mixer:
        raise _problem("layers[1]", f"{spec.model_type}'s two sublayers share one MLA and MLP shape")
    return first, second


def longcat_to_config(spec: ArchSpec) -> dict:
    first, _ = _longcat_pair(spec)
    mla, moe = first.mixer, first.ffn
    the_one(spec, "norm", lambda layer: layer.norm)
    if mla.rope is None or not mla.rope.interleaved:
        raise _problem("layers[0].mixer.rope", f"{spec.model_type} rotates interleaved rope pairs")
    router = moe.router
    if router.scoring != "softmax" or router.normalize_top_k or router.num_groups != 1 or \
            not router.score_correction_bias or router.bias:
        raise _problem("layers[0].ffn.router", f"{spec.model_type} routes by softmax, unnormalized, ungrouped, "
                       "with a score-correction bias and no logit bias")
    config = {
        "model_type": spec.model_type, "vocab_size": spec.vocab_size, "hidden_size": spec.d_model,
        "num_layers": spec.num_layers // 2, "max_position_embeddings": spec.max_context,
        "tie_word_embeddings": spec.tie_embeddings,
        "num_attention_heads": mla.num_heads, "num_key_value_heads": mla.num_heads,
        "q_lora_rank": mla.q_lora_rank, "kv_lora_rank": mla.kv_lora_rank, "qk_nope_head_dim": mla.qk_nope_head_dim,
        "qk_rope_head_dim": mla.qk_rope_head_dim, "head_dim": mla.qk_rope_head_dim, "v_head_dim": mla.v_head_dim, "attention_bias": mla.qkv_bias,
        "mla_scale_q_lora": mla.latent_scale, "mla_scale_kv_lora": mla.latent_scale,
        "rope_parameters": rope_to_parameters(mla.rope, mla.qk_rope_head_dim),
        "hidden_act": activation_to_hf(moe.expert.activation), "rms_norm_eps": first.norm.eps,
        "ffn_hidden_size": moe.shared.intermediate_size, "expert_ffn_hidden_size": moe.expert.intermediate_size,
        "n_routed_experts": moe.num_experts, "zero_expert_num": moe.zero_experts, "zero_expert_type": "identity",
        "moe_topk": moe.top_k, "routed_scaling_factor": router.routed_scaling, "router_bias": False,
    }
    ngram = spec.ngram_embedding
    if spec.model_type == "longcat_flash_ngram":
        if ngram is None:
            raise _problem("ngram_embedding", "longcat_flash_ngram has an n-gram embedding")
        config.update(emb_neighbor_num=ngram.orders, emb_split_num=ngram.splits,
                      ngram_vocab_size_ratio=ngram.table_ratio, eos_token_id=ngram.boundary_token)
    elif ngram is not None:
        raise _problem("ngram_embedding", "longcat_flash has no n-gram embedding; use longcat_flash_ngram")
    return config


# Model types with no transformers model to compare against (Meituan's remote code only):
# their counts are checked on the parts transformers has (tests/parity/test_longcat_flash_parity.py).
NO_TRANSFORMERS_MODEL = ("longcat_flash_ngram",)

CONVERTERS = {
    "longcat_flash": (longcat_to_spec, longcat_to_config),
    "longcat_flash_ngram": (longcat_to_spec, longcat_to_config),
}
