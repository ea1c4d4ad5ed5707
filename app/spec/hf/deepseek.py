"""DeepSeek V3 (model_type deepseek_v3, also Kimi K2's, whose config is this one with model_type kimi_k2)
and DeepSeek V3.2 (deepseek_v32, which adds the lightning indexer of DeepSeek sparse
attention): multi-head latent attention over the DeepSeek MoE (deepseek_moe.py). Kimi K2.5's
multimodal config (kimi_k25) wraps a DeepSeek V3 text_config, read as deepseek_v3."""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP
from ..mixers import MultiHeadLatentAttention, SparseIndexer
from .common import the_one, write_base
from .deepseek_moe import (
    build_spec,
    first_dense_count,
    mlp_layer_types,
    moe_indices,
    read_activation,
    read_moe,
    read_moe_layers,
    read_norm,
    spec_problem,
    write_ffn,
)
from .reader import ConfigReader, rope_to_parameters


def read_indexer(r: ConfigReader, default_heads: int, rope_interleaved: bool = False) -> SparseIndexer:
    """The lightning indexer's keys (index_*), shared by deepseek_v32 and glm_moe_dsa."""
    return SparseIndexer(num_heads=r.int("index_n_heads", default_heads), head_dim=r.int("index_head_dim", 128),
                         top_k=r.int("index_topk", 2048), rope_interleaved=rope_interleaved)


def read_mla(r: ConfigReader, model_type: str, indexer: SparseIndexer | None = None) -> MultiHeadLatentAttention:
    """MLA's keys; indexer: the sparse indexer read by the caller (None: dense MLA)."""
    rope_dim = r.int("qk_rope_head_dim")
    if model_type == "deepseek_v32":
        indexer = read_indexer(r, 64)
    # DeepSeek lays each rope pair out as (2i, 2i+1); the sparse models always do.
    interleaved = True if indexer is not None else r.bool("rope_interleave", True)
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



def mla_of(layer) -> MultiHeadLatentAttention:
    if not isinstance(layer.mixer, MultiHeadLatentAttention):
        raise spec_problem("layers", f"expected multi-head latent attention, found {layer.mixer_kind}")
    return layer.mixer



def write_mla(spec: ArchSpec) -> tuple[MultiHeadLatentAttention, dict]:
    """The one MLA of spec and the keys that write it (the base and feed-forward keys too)."""
    mla = the_one(spec, "attention", mla_of)
    if mla.rope is None:
        raise spec_problem("layers[0].mixer.rope", f"{spec.model_type} always rotates the rope channels")
    return mla, write_base(spec) | write_ffn(spec) | {
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


def deepseek_to_config(spec: ArchSpec) -> dict:
    mla, config = write_mla(spec)
    if mla.query_position_scale:
        config["llama_4_scaling"] = {"beta": mla.query_position_scale,
                                     "original_max_position_embeddings": mla.query_position_floor}
    if spec.model_type == "deepseek_v32":
        if mla.indexer is None or not mla.q_lora_rank:
            raise spec_problem("layers[0].mixer", "deepseek_v32 needs the sparse indexer and a query latent "
                           "(q_lora_rank), which the indexer reads")
        if not mla.rope.interleaved:
            raise spec_problem("layers[0].mixer.rope.interleaved", "deepseek_v32 always interleaves rope pairs")
        if mla.indexer.rope_interleaved:
            raise spec_problem("layers[0].mixer.indexer.rope_interleaved", "deepseek_v32's indexer always "
                               "splits rope halves; glm_moe_dsa's interleaves")
        config.update(mlp_layer_types=mlp_layer_types(spec), index_n_heads=mla.indexer.num_heads,
                      index_head_dim=mla.indexer.head_dim, index_topk=mla.indexer.top_k)
        dense_layers, _ = moe_indices(spec)
        if dense_layers == list(range(len(dense_layers))):  # the older keys the published config also carries
            config.update(first_k_dense_replace=len(dense_layers), moe_layer_freq=1)
    else:
        if mla.indexer is not None:
            raise spec_problem("layers[0].mixer.indexer", "deepseek_v3 has no sparse indexer; use deepseek_v32")
        config.update(first_k_dense_replace=first_dense_count(spec), moe_layer_freq=1,
                      rope_interleave=mla.rope.interleaved)
    return config


def kimi_k25_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    """Kimi K2.5 / K2.6: a vision front-end (not built here) before a text decoder whose
    text_config is DeepSeek V3's (model_type kimi_k2, which transformers reads as deepseek_v3):
    the spec is that decoder's, a deepseek_v3 spec."""
    if not isinstance(r.config.get("text_config"), dict):
        r.problem("text_config", "kimi_k25 keeps its decoder's keys in text_config; missing")
    spec = deepseek_to_spec(r.sub("text_config"), "deepseek_v3")
    # The wrapper holds the output head: its own flag ties it (Kimi_K25Config's default: tied)
    return replace(spec, tie_embeddings=r.bool("tie_word_embeddings", True))


def kimi_k25_to_config(spec: ArchSpec) -> dict:
    """The kimi_k25 form of a DeepSeek V3 spec (its text_config), as transformers' Kimi_K25Config reads it."""
    if spec.model_type != "deepseek_v3":
        raise spec_problem("model_type", f"kimi_k25 wraps a deepseek_v3 decoder, found {spec.model_type}")
    return {"model_type": "kimi_k25", "text_config": deepseek_to_config(spec),
            "tie_word_embeddings": spec.tie_embeddings}


CONVERTERS = {
    "deepseek_v3": (deepseek_to_spec, deepseek_to_config),
    "deepseek_v32": (deepseek_to_spec, deepseek_to_config),
    "kimi_k25": (kimi_k25_to_spec, kimi_k25_to_config),
}
