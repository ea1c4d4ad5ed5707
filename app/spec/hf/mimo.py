"""Xiaomi MiMo-V2-Flash (model_type mimo_v2_flash): the DeepSeek MoE (deepseek_moe.py) without a
shared expert, under 5:1 sliding:global GQA (window 128, sinks and twice the kv heads on the
sliding layers) whose value heads are narrower than its query and key heads."""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP
from ..mixers import Attention
from ..parts import Rope
from .common import LAYER_TYPES, attention_of, the_one, write_base
from .deepseek_moe import (
    build_spec,
    mlp_layer_types,
    read_activation,
    read_moe,
    read_moe_layers,
    read_norm,
    spec_problem,
    write_ffn,
)
from .reader import ConfigReader, rope_to_parameters


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



def mimo_to_config(spec: ArchSpec) -> dict:
    sliding = [i for i, layer in enumerate(spec.layers) if attention_of(layer).sliding_window]
    full = [i for i in range(spec.num_layers) if i not in sliding]
    if not full:
        raise spec_problem("layers", "mimo_v2_flash keeps at least one global-attention layer")
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
        raise spec_problem(f"layers[{full[0]}].mixer", "mimo_v2_flash global layers use RoPE and have no sinks")
    ropes = {"full_attention": rope_to_parameters(global_attention.rope, shared.head_dim)}
    if sliding:
        local = the_one(spec, "sliding attention", lambda layer: layer.mixer, sliding)
        if local.num_kv_heads != 2 * global_attention.num_kv_heads or not local.sinks or local.rope is None:
            raise spec_problem(f"layers[{sliding[0]}].mixer", "mimo_v2_flash sliding layers have sinks, RoPE and "
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
    "mimo_v2_flash": (mimo_to_spec, mimo_to_config),
}
