"""GLM-4.5 (model_type glm4_moe): the DeepSeek MoE (deepseek_moe.py) under GQA with qkv bias,
partial RoPE and optional QK-norm instead of MLA."""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP
from ..mixers import Attention
from ..parts import QKNorm
from .common import attention_of, the_one, write_base
from .deepseek_moe import (
    build_spec,
    first_dense_count,
    read_activation,
    read_moe,
    read_moe_layers,
    read_norm,
    spec_problem,
    write_ffn,
)
from .reader import ConfigReader, rope_to_parameters


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



def glm4_moe_to_config(spec: ArchSpec) -> dict:
    attention = the_one(spec, "attention", attention_of)
    if attention.rope is None or attention.rope.interleaved or attention.sliding_window or attention.sinks \
            or attention.out_bias or attention.value_head_dim or (attention.qk_norm is not None
                                                                  and attention.qk_norm.scope != "head"):
        raise spec_problem("layers[0].mixer", "glm4_moe attention is global GQA with half-split partial RoPE, "
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


CONVERTERS = {
    "glm4_moe": (glm4_moe_to_spec, glm4_moe_to_config),
}
