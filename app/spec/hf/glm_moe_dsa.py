"""GLM-5 and GLM-5.1 (model_type glm_moe_dsa): DeepSeek V3.2's design -- multi-head latent
attention with DeepSeek sparse attention's lightning indexer, over the DeepSeek MoE -- whose
indexer rotates its rope pairs interleaved, as its MLA does (V3.2's indexer splits halves).

transformers' glm_moe_dsa also lets a layer reuse the previous layer's top-k instead of
running its own indexer ("shared" in indexer_types: IndexShare, used from GLM-5.2 on).
GLM-5 and GLM-5.1 run the indexer in every layer; a config that shares is refused by name.
"""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP
from .deepseek import read_indexer, read_mla, write_mla
from .deepseek_moe import build_spec, first_dense_count, read_activation, read_moe, read_moe_layers, read_norm, \
    spec_problem
from .reader import ConfigReader

ALWAYS_INTERLEAVED = "transformers' glm_moe_dsa always interleaves rope pairs, in MLA and in its indexer"
NO_SHARING = ("layers that reuse another layer's top-k (IndexShare) are not modelled; GLM-5 and GLM-5.1 "
              "run the indexer in every layer")


def read_index_sharing(r: ConfigReader, n: int) -> None:
    """Accept only a schedule in which every layer runs its own indexer."""
    types = r.str_list("indexer_types", n, ("full", "shared"))
    if types is not None and "shared" in types:
        r.problem("indexer_types", f"{types.count('shared')} 'shared' entries: {NO_SHARING}")
    pattern = r.config.get("index_topk_pattern")
    if pattern is not None and (not isinstance(pattern, str) or set(pattern) - {"F"}):
        r.problem("index_topk_pattern", f"expected only 'F' (full) entries, found {str(pattern)[:40]!r}: "
                  + NO_SHARING)
    if r.int("index_topk_freq", 1) != 1:
        r.problem("index_topk_freq", f"must be 1: {NO_SHARING}")
    r.int("index_skip_topk_offset", 2, minimum=0)  # without sharing (freq 1) it selects nothing


def glm_moe_dsa_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    n = r.int("num_hidden_layers")
    for key in ("rope_interleave", "indexer_rope_interleave"):
        if not r.bool(key, True):
            r.problem(key, f"must be true: {ALWAYS_INTERLEAVED}")
    read_index_sharing(r, n)
    activation = read_activation(r)
    norm = read_norm(r, 1e-5)
    mla = read_mla(r, model_type, read_indexer(r, 32, rope_interleaved=True))
    dense, moe = MLP(r.int("intermediate_size"), activation), read_moe(r, activation)
    layers = [Layer(mla, moe if is_moe else dense, norm) for is_moe in read_moe_layers(r, n, 3)]
    return build_spec(r, model_type, layers, norm)


def glm_moe_dsa_to_config(spec: ArchSpec) -> dict:
    mla, config = write_mla(spec)
    if mla.indexer is None or not mla.q_lora_rank:
        raise spec_problem("layers[0].mixer", "glm_moe_dsa needs the sparse indexer and a query latent "
                           "(q_lora_rank), which the indexer reads")
    if not mla.rope.interleaved:
        raise spec_problem("layers[0].mixer.rope.interleaved", ALWAYS_INTERLEAVED)
    if not mla.indexer.rope_interleaved:
        raise spec_problem("layers[0].mixer.indexer.rope_interleaved", ALWAYS_INTERLEAVED)
    if mla.query_position_scale:
        raise spec_problem("layers[0].mixer.query_position_scale", "glm_moe_dsa has no query scale by position")
    return config | {
        "first_k_dense_replace": first_dense_count(spec),
        "moe_layer_freq": 1,
        # as published: the rotated part of a head, and a whole query/key head
        "head_dim": mla.qk_rope_head_dim,
        "qk_head_dim": mla.qk_nope_head_dim + mla.qk_rope_head_dim,
        "rope_interleave": True,
        "indexer_rope_interleave": True,
        "index_n_heads": mla.indexer.num_heads,
        "index_head_dim": mla.indexer.head_dim,
        "index_topk": mla.indexer.top_k,
    }


CONVERTERS = {
    "glm_moe_dsa": (glm_moe_dsa_to_spec, glm_moe_dsa_to_config),
}
