"""Mistral Small 4 (model_type mistral4): DeepSeek V3's MLA and MoE (deepseek.py,
deepseek_moe.py) with Mistral's two differences, both already parts of the spec:

- the router scores with a plain softmax and has no score-correction bias (transformers'
  Mistral4TopkRouter: softmax, group-limited top-k, normalized, routed scaling); the config
  names neither, so they are not keys here;
- the query is scaled by position, 1 + beta * log(1 + floor(position / original)), Llama 4's
  long-context temperature: beta is rope_parameters' llama_4_scaling_beta and `original` its
  original_max_position_embeddings, the YaRN original length (the MLA's query_position_scale
  and query_position_floor).

Its rope_parameters also carry partial_rotary_factor, qk_rope_head_dim over the whole query
head (nope + rope): the rope channels turn in full, as DeepSeek's do.
"""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP
from ..limits import brief
from .deepseek import read_mla, write_mla
from .deepseek_moe import build_spec, first_dense_count, read_activation, read_moe, read_moe_layers, read_norm, \
    spec_problem
from .reader import ConfigReader

# rope_parameters keys that are not the rope's: the query scale, and values the config class derives
NOT_ROPE = ("llama_4_scaling_beta", "partial_rotary_factor", "max_position_embeddings")


def mistral4_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    params = r.rope_parameters()
    rope_dim, nope_dim = r.int("qk_rope_head_dim"), r.int("qk_nope_head_dim")
    factor = params.get("partial_rotary_factor")
    if factor is not None and (not isinstance(factor, (int, float)) or isinstance(factor, bool)
                               or abs(factor * (rope_dim + nope_dim) - rope_dim) > 1e-6):
        r.problem("rope_parameters.partial_rotary_factor", f"mistral4 rotates the qk_rope_head_dim channels of "
                  f"each head: expected {rope_dim}/{rope_dim + nope_dim}, found {brief(factor)}")
    beta = params.get("llama_4_scaling_beta", 0.0)
    # DeepSeek V3's keys for the same model: what read_mla and read_moe read
    text = dict(r.config, scoring_func="softmax", topk_method="greedy",
                rope_parameters={key: value for key, value in params.items() if key not in NOT_ROPE},
                llama_4_scaling={"beta": beta, "original_max_position_embeddings":
                                 params.get("original_max_position_embeddings", 8192)})
    text.pop("rope_scaling", None)
    reader = ConfigReader(text, r.prefix)
    reader.problems = r.problems
    n = reader.int("num_hidden_layers")
    activation = read_activation(reader)
    norm = read_norm(reader, 1e-6)
    mla = read_mla(reader, model_type)
    dense, moe = MLP(reader.int("intermediate_size"), activation), read_moe(reader, activation)
    layers = [Layer(mla, moe if is_moe else dense, norm) for is_moe in read_moe_layers(reader, n, 0)]
    return build_spec(reader, model_type, layers, norm)


def mistral4_to_config(spec: ArchSpec) -> dict:
    mla, config = write_mla(spec)
    at = "layers[" + str(first_dense_count(spec)) + "].ffn.router"
    if config.pop("scoring_func") != "softmax" or config.pop("topk_method") != "greedy":
        raise spec_problem(at, "mistral4 routes with softmax scores and no score-correction bias")
    params = config["rope_parameters"]
    original = params.get("original_max_position_embeddings")
    if original is None:  # no YaRN: the query scale's length is a key of its own
        params["original_max_position_embeddings"] = mla.query_position_floor
    elif mla.query_position_scale and original != mla.query_position_floor:
        raise spec_problem("layers[0].mixer.query_position_floor", f"mistral4 scales queries by the YaRN original "
                           f"length ({original}), found {mla.query_position_floor}")
    # transformers' mistral4 always applies the scale: beta 0 leaves queries as they are
    params["llama_4_scaling_beta"] = mla.query_position_scale
    # as Mistral4Config writes them (the rope channels over the whole query head; the context)
    params["partial_rotary_factor"] = mla.qk_rope_head_dim / (mla.qk_nope_head_dim + mla.qk_rope_head_dim)
    if spec.max_context:
        params["max_position_embeddings"] = spec.max_context
    config.pop("num_nextn_predict_layers")
    if spec.mtp_layers:
        raise spec_problem("mtp_layers", "mistral4 configs hold no multi-token-prediction layer")
    config.update(first_k_dense_replace=first_dense_count(spec), rope_interleave=mla.rope.interleaved)
    return config


CONVERTERS = {"mistral4": (mistral4_to_spec, mistral4_to_config)}
