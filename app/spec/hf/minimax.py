"""MiniMax-01 / M1 (model_type minimax; the published remote-code configs minimax_m1 and
minimax_text_01 read the same): lightning attention 7:1 softmax attention, and weighted
residuals around normalized inputs (its "postnorm")."""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer, ResidualScale
from ..errors import Problem, SpecError
from ..ffn import MLP, MoE, Router
from ..mixers import Attention, LightningAttention
from ..parts import Norm, Rope
from .common import FAMILIES, MIXER_TYPES, key_of, layers_of, only_kinds, read_base, the_one, write_base
from .reader import ConfigReader, rope_to_parameters

# (transformers key, published remote-code key) of each residual weight
RESIDUAL_KEYS = {
    "full_attention": ("full_attn_alpha_factor", "layernorm_full_attention_alpha",
                       "full_attn_beta_factor", "layernorm_full_attention_beta"),
    "linear_attention": ("linear_attn_alpha_factor", "layernorm_linear_attention_alpha",
                         "linear_attn_beta_factor", "layernorm_linear_attention_beta"),
    "mlp": ("mlp_alpha_factor", "layernorm_mlp_alpha", "mlp_beta_factor", "layernorm_mlp_beta"),
}


def minimax_residual(r: ConfigReader, which: str) -> ResidualScale:
    alpha, published_alpha, beta, published_beta = RESIDUAL_KEYS[which]
    return ResidualScale(alpha=r.float(key_of(r, alpha, published_alpha), 1.0),
                         beta=r.float(key_of(r, beta, published_beta), 1.0))


def minimax_layer_types(r: ConfigReader, n: int) -> list[str]:
    types = r.str_list("layer_types", n, MIXER_TYPES)
    if types is not None:
        return types
    flags = r.int_list("attn_type_list", n)  # published: 1 softmax attention, 0 lightning
    if flags is not None:
        return [MIXER_TYPES[flag == 1] for flag in flags]
    return [MIXER_TYPES[(i + 1) % 2 == 1] for i in range(n)]  # transformers' default alternation


def minimax_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    n = r.int("num_hidden_layers")
    d, heads = base["d_model"], r.int("num_attention_heads")
    head_dim = r.int("head_dim", max(d // heads, 1))
    norm = Norm("rmsnorm", r.float("rms_norm_eps", 1e-5, positive=True))
    r.str("hidden_act", "silu", ("silu",))  # also lightning's q/k/v activation
    if not r.bool("postnorm", True):
        r.problem("postnorm", "false (the residual taken before the norm) is not supported; every release "
                              "and transformers take it after")
    shared = r.config.get("shared_intermediate_size") or 0
    if any(shared) if isinstance(shared, list) else shared:
        r.problem("shared_intermediate_size", "shared experts are not supported (MiniMax-01/M1 have none)")
    rope = r.rope(head_dim, default_theta=1_000_000.0)
    if r.has("rotary_dim"):  # the published config states the rotated width directly
        rope = Rope(theta=rope.theta, rotary_dim=r.int("rotary_dim"), scaling=rope.scaling)
    window = r.int("sliding_window", 0, minimum=0)
    attention = Attention(num_heads=heads, num_kv_heads=r.int("num_key_value_heads", heads), head_dim=head_dim,
                          rope=rope, sliding_window=window)
    lightning = LightningAttention(num_heads=heads, head_dim=head_dim, block_size=r.int("block_size", 256))
    moe = MoE(num_experts=r.int("num_local_experts", 8), top_k=r.int("num_experts_per_tok", 2),
              expert=MLP(r.int("intermediate_size")), router=Router("softmax", normalize_top_k=True))
    ffn_residual = minimax_residual(r, "mlp")
    layers = []
    for kind in minimax_layer_types(r, n):
        mixer = attention if kind == "full_attention" else lightning
        layers.append(Layer(mixer, moe, norm, residual_from_norm=True,
                            mixer_residual=minimax_residual(r, kind), ffn_residual=ffn_residual))
    return ArchSpec(name=model_type, family=FAMILIES["minimax"], model_type="minimax", layers=tuple(layers),
                    final_norm=norm, **base)


def minimax_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (Attention, LightningAttention), (MoE,))
    full, linear = layers_of(spec, Attention), layers_of(spec, LightningAttention)
    if not all(layer.residual_from_norm for layer in spec.layers):
        raise SpecError([Problem("layers", "minimax layers take the residual after the norm")])
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    moe = the_one(spec, "MoE", lambda layer: layer.ffn)
    if moe.shared is not None or moe.router != Router("softmax", normalize_top_k=True):
        raise SpecError([Problem("layers[0].ffn", "minimax MoE is softmax top-k, renormalized, no shared expert")])
    ffn_residual = the_one(spec, "feed-forward residual", lambda layer: layer.ffn_residual) or ResidualScale()
    config = write_base(spec) | {
        "rms_norm_eps": norm.eps,
        "hidden_act": "silu",
        "layer_types": [MIXER_TYPES[i in full] for i in range(spec.num_layers)],
        "num_local_experts": moe.num_experts,
        "num_experts_per_tok": moe.top_k,
        "intermediate_size": moe.expert.intermediate_size,
        "mlp_alpha_factor": ffn_residual.alpha,
        "mlp_beta_factor": ffn_residual.beta,
    }
    for kind, indices in (("full_attention", full), ("linear_attention", linear)):
        if indices:
            scale = the_one(spec, f"{kind} residual", lambda layer: layer.mixer_residual, indices) or ResidualScale()
            alpha, _, beta, _ = RESIDUAL_KEYS[kind]
            config.update({alpha: scale.alpha, beta: scale.beta})
    heads = the_one(spec, "num_heads", lambda layer: layer.mixer.num_heads)
    head_dim = the_one(spec, "head_dim", lambda layer: layer.mixer.head_dim)
    config.update(num_attention_heads=heads, head_dim=head_dim)
    if linear:
        config["block_size"] = the_one(spec, "block size", lambda layer: layer.mixer.block_size, linear)
    if full:
        attention = the_one(spec, "attention", lambda layer: layer.mixer, full)
        config.update(num_key_value_heads=attention.num_kv_heads, sliding_window=attention.sliding_window or None,
                      rope_parameters=rope_to_parameters(attention.rope, head_dim))
    return config


CONVERTERS = {
    "minimax": (minimax_to_spec, minimax_to_config),
    # The published MiniMax-01 / M1 config.json (remote code) reads into the same spec.
    "minimax_m1": (minimax_to_spec, minimax_to_config),
    "minimax_text_01": (minimax_to_spec, minimax_to_config),
}
