"""Qwen3-Next (model_type qwen3_next): three Gated DeltaNet layers to one gated attention layer,
every layer an MoE with a gated shared expert. Reads the published keys as well as
transformers' own; writes a config transformers builds the same model from. The mixer
keys (read_hybrid_mixers / write_hybrid_mixers) are shared with Qwen3.5 (qwen3_5.py)."""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..mixers import Attention, GatedDeltaNet
from ..parts import Norm, QKNorm, Rope
from ..patterns import every_kth, kth_interval
from .common import FAMILIES, MIXER_TYPES, index_list, layers_of, only_kinds, read_base, the_one, write_base
from .reader import ConfigReader, rope_to_parameters


def read_hybrid_mixers(r: ConfigReader, n: int) -> tuple[Norm, Attention, GatedDeltaNet, list[bool]]:
    """What Qwen3-Next and Qwen3.5 share: the zero-centered norm, the gated full attention,
    the Gated DeltaNet and which layers attend in full (True) -- from layer_types, else
    every full_attention_interval-th layer."""
    # Zero-centered RMSNorm: weights start at 0 and scale by (1 + w), also on q and k.
    norm = Norm("rmsnorm", r.float("rms_norm_eps", 1e-6, positive=True), unit_offset=True)
    r.str("hidden_act", "silu", ("silu",))  # also the short conv's activation
    head_dim = r.int("head_dim", 256)
    rope = r.rope(head_dim)
    stated = "partial_rotary_factor" in r.rope_parameters() or r.has("partial_rotary_factor")
    if not stated:  # transformers' default for these model types: a quarter of each head rotates
        rope = Rope(theta=rope.theta, rotary_dim=head_dim // 4, scaling=rope.scaling)
    bias = r.bool("attention_bias", False)
    attention = Attention(
        num_heads=r.int("num_attention_heads"), num_kv_heads=r.int("num_key_value_heads"), head_dim=head_dim,
        rope=rope, qkv_bias=bias, out_bias=bias, qk_norm=QKNorm("head", norm), output_gate=True)
    deltanet = GatedDeltaNet(
        num_key_heads=r.int("linear_num_key_heads", 16), num_value_heads=r.int("linear_num_value_heads", 32),
        key_head_dim=r.int("linear_key_head_dim", 128), value_head_dim=r.int("linear_value_head_dim", 128),
        conv_kernel=r.int("linear_conv_kernel_dim", 4), norm_eps=norm.eps)
    types = r.str_list("layer_types", n, MIXER_TYPES)
    full = [t == "full_attention" for t in types] if types else every_kth(n, r.int("full_attention_interval", 4))
    return norm, attention, deltanet, full


def write_hybrid_mixers(spec: ArchSpec) -> dict:
    """The keys read_hybrid_mixers reads, for a spec of those two mixers."""
    full, linear = layers_of(spec, Attention), layers_of(spec, GatedDeltaNet)
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    attention = the_one(spec, "full attention", lambda layer: layer.mixer, full)
    deltanet = the_one(spec, "Gated DeltaNet", lambda layer: layer.mixer, linear)
    # the older key the published configs also carry, where an interval gives the layers
    interval = kth_interval([i in full for i in range(spec.num_layers)])
    return ({"full_attention_interval": interval} if interval else {}) | {
        "rms_norm_eps": norm.eps,
        "hidden_act": "silu",
        "layer_types": [MIXER_TYPES[i in full] for i in range(spec.num_layers)],
        "num_attention_heads": attention.num_heads,
        "num_key_value_heads": attention.num_kv_heads,
        "head_dim": attention.head_dim,
        "attention_bias": attention.qkv_bias,
        "rope_parameters": rope_to_parameters(attention.rope, attention.head_dim) | {
            "partial_rotary_factor": attention.rope.rotary_dim / attention.head_dim},
        "linear_num_key_heads": deltanet.num_key_heads,
        "linear_num_value_heads": deltanet.num_value_heads,
        "linear_key_head_dim": deltanet.key_head_dim,
        "linear_value_head_dim": deltanet.value_head_dim,
        "linear_conv_kernel_dim": deltanet.conv_kernel,
    }


def qwen3_next_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    n = r.int("num_hidden_layers")
    norm, attention, deltanet, full = read_hybrid_mixers(r, n)

    num_experts = r.int("num_experts", 512, minimum=0)
    step = r.int("decoder_sparse_step", 1)
    dense_layers = set(index_list(r, "mlp_only_layers", n))
    moe = MoE(
        num_experts=max(num_experts, 1), top_k=r.int("num_experts_per_tok", 10),
        expert=MLP(r.int("moe_intermediate_size", 512)),
        router=Router("softmax", normalize_top_k=r.bool("norm_topk_prob", True)),
        shared=MLP(r.int("shared_expert_intermediate_size", 512)), shared_gate=True)
    sparse = [num_experts > 0 and i not in dense_layers and (i + 1) % step == 0 for i in range(n)]
    dense = MLP(r.int("intermediate_size", 5632)) if not all(sparse) else None

    layers = tuple(Layer(attention if full[i] else deltanet, moe if sparse[i] else dense, norm) for i in range(n))
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=layers,
                    final_norm=norm, **base)


def qwen3_next_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (Attention, GatedDeltaNet), (MoE, MLP))
    sparse, dense = layers_of(spec, MoE, "ffn"), layers_of(spec, MLP, "ffn")
    config = write_base(spec) | write_hybrid_mixers(spec) | {
        "decoder_sparse_step": 1,
        "mlp_only_layers": dense,
        "num_experts": 0,
    }
    if dense:
        config["intermediate_size"] = the_one(spec, "dense MLP", lambda layer: layer.ffn, dense).intermediate_size
    if sparse:
        moe = the_one(spec, "MoE", lambda layer: layer.ffn, sparse)
        config.update(num_experts=moe.num_experts, num_experts_per_tok=moe.top_k,
                      moe_intermediate_size=moe.expert.intermediate_size,
                      shared_expert_intermediate_size=moe.shared.intermediate_size,
                      norm_topk_prob=moe.router.normalize_top_k)
    return config


CONVERTERS = {"qwen3_next": (qwen3_next_to_spec, qwen3_next_to_config)}
