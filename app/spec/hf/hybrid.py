"""Hybrid linear-attention and state-space configs: Qwen3-Next (Gated DeltaNet 3:1 gated
attention), Kimi Linear (Kimi Delta Attention 3:1 NoPE MLA), Nemotron-H / Nemotron 3
(Mamba-2, attention, MLP and MoE as separate single-sublayer blocks) and MiniMax-01/M1
(lightning attention 7:1 softmax attention, weighted residuals).

Each reader takes the published key names as well as transformers' own; each writer
emits a config transformers builds the same model from."""

from __future__ import annotations

from typing import Any

from ..arch import ArchSpec
from ..components import (
    MLP,
    Attention,
    GatedDeltaNet,
    KimiDeltaAttention,
    Layer,
    LightningAttention,
    Mamba2,
    MoE,
    MultiHeadLatentAttention,
    Norm,
    QKNorm,
    ResidualScale,
    Rope,
    Router,
)
from ..errors import Problem, SpecError
from ..patterns import every_kth
from .common import FAMILIES, read_base, the_one, write_base
from .reader import ConfigReader, rope_to_parameters

MIXER_TYPES = ("linear_attention", "full_attention")


# --- small shared readers ---------------------------------------------------------------


def key_of(r: ConfigReader, *names: str) -> str:
    """The first of several names for one setting that the config uses (the published
    name or transformers' own); the first name when none is present."""
    return next((name for name in names if r.has(name)), names[0])


def index_list(r: ConfigReader, key: str, upper: int, base: int = 0) -> list[int]:
    """A list of layer numbers (0- or 1-based) such as mlp_only_layers or kda_layers."""
    value = r.config.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        r.problem(key, "expected a list of layer numbers")
        return []
    bad = [v for v in value if not base <= v < upper + base]
    if bad:
        r.problem(key, f"layer numbers {bad} outside {base}..{upper + base - 1}")
        return []
    return [v - base for v in value]


def layers_of(spec: ArchSpec, kind: type, part: str = "mixer") -> list[int]:
    return [i for i, layer in enumerate(spec.layers) if isinstance(getattr(layer, part), kind)]


def only_kinds(spec: ArchSpec, mixers: tuple, ffns: tuple) -> None:
    """A config format holds only the layer kinds its model_type builds."""
    for i, layer in enumerate(spec.layers):
        if type(layer.mixer) not in mixers or type(layer.ffn) not in ffns:
            raise SpecError([Problem(f"layers[{i}]", f"{layer.mixer_kind} + {layer.ffn_kind} is not a layer "
                                     f"{spec.model_type} configs can express")])


# --- Qwen3-Next ---------------------------------------------------------------------------


def qwen3_next_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    n = r.int("num_hidden_layers")
    # Zero-centered RMSNorm: weights start at 0 and scale by (1 + w), also on q and k.
    norm = Norm("rmsnorm", r.float("rms_norm_eps", 1e-6, positive=True), unit_offset=True)
    r.str("hidden_act", "silu", ("silu",))  # also the short conv's activation
    head_dim = r.int("head_dim", 256)
    rope = r.rope(head_dim)
    stated = "partial_rotary_factor" in r.rope_parameters() or r.has("partial_rotary_factor")
    if not stated:  # transformers' default for this model_type: a quarter of each head rotates
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
    full, linear = layers_of(spec, Attention), layers_of(spec, GatedDeltaNet)
    sparse, dense = layers_of(spec, MoE, "ffn"), layers_of(spec, MLP, "ffn")
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    attention = the_one(spec, "full attention", lambda layer: layer.mixer, full)
    deltanet = the_one(spec, "Gated DeltaNet", lambda layer: layer.mixer, linear)
    config = write_base(spec) | {
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


# --- Kimi Linear --------------------------------------------------------------------------


def kimi_linear_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    base["max_context"] = r.int(key_of(r, "model_max_length", "max_position_embeddings"), 0, minimum=0)
    n = r.int("num_hidden_layers")
    norm = Norm("rmsnorm", r.float("rms_norm_eps", 1e-5, positive=True))
    r.str("hidden_act", "silu", ("silu",))  # also the short conv's activation
    linear = r.sub("linear_attn_config")  # the published home of the KDA sizes and layer lists
    delta = KimiDeltaAttention(
        num_heads=linear.int("num_heads", r.int("linear_num_heads", 32)),
        head_dim=linear.int("head_dim", r.int("linear_head_dim", 128)),
        conv_kernel=linear.int("short_conv_kernel_size", r.int("linear_conv_kernel_dim", 4)),
        norm_eps=norm.eps)
    if not r.bool("mla_use_nope", True):
        r.problem("mla_use_nope", "Kimi Linear's MLA layers are NoPE; false is not supported")
    latent = MultiHeadLatentAttention(
        num_heads=r.int("num_attention_heads"), kv_lora_rank=r.int("kv_lora_rank", 512),
        qk_nope_head_dim=r.int("qk_nope_head_dim", 128), qk_rope_head_dim=r.int("qk_rope_head_dim", 64),
        v_head_dim=r.int("v_head_dim", 128), q_lora_rank=r.int("q_lora_rank", 0, minimum=0),
        rope=None,  # NoPE: the shared key channels exist but are never rotated
        qkv_bias=r.bool("attention_bias", False))

    types = r.str_list("layer_types", n, MIXER_TYPES)
    if types is not None:
        full = [t == "full_attention" for t in types]
    elif linear.has("full_attn_layers"):  # published: 1-based layer numbers
        full_layers = set(index_list(linear, "full_attn_layers", n, base=1))
        full = [i in full_layers for i in range(n)]
    else:  # transformers' default: every 4th layer from the 5th
        full = [i > 0 and i % 4 == 0 for i in range(n)]
    mlp_types = r.str_list("mlp_layer_types", n, ("dense", "sparse"))
    sparse = [t == "sparse" for t in mlp_types] if mlp_types else \
        [i >= r.int("first_k_dense_replace", 1, minimum=0) for i in range(n)]

    expert_width = r.int("moe_intermediate_size", 1024)
    r.str("moe_router_activation_func", "sigmoid", ("sigmoid",))
    moe = MoE(
        num_experts=r.int(key_of(r, "num_experts", "num_local_experts"), 256),
        top_k=r.int(key_of(r, "num_experts_per_token", "num_experts_per_tok"), 8),
        expert=MLP(expert_width),
        router=Router("sigmoid", normalize_top_k=r.bool(key_of(r, "moe_renormalize", "norm_topk_prob"), True),
                      num_groups=r.int(key_of(r, "num_expert_group", "n_group"), 1),
                      top_k_groups=r.int("topk_group", 1), score_correction_bias=True,
                      routed_scaling=r.float("routed_scaling_factor", 2.446, positive=True)),
        shared=MLP(expert_width * r.int(key_of(r, "num_shared_experts", "n_shared_experts"), 1)))
    dense = MLP(r.int("intermediate_size", 9216))
    layers = tuple(Layer(latent if full[i] else delta, moe if sparse[i] else dense, norm) for i in range(n))
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=layers,
                    final_norm=norm, **base)


def kimi_linear_to_config(spec: ArchSpec) -> dict:
    only_kinds(spec, (MultiHeadLatentAttention, KimiDeltaAttention), (MoE, MLP))
    full, linear = layers_of(spec, MultiHeadLatentAttention), layers_of(spec, KimiDeltaAttention)
    sparse, dense = layers_of(spec, MoE, "ffn"), layers_of(spec, MLP, "ffn")
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    latent = the_one(spec, "MLA", lambda layer: layer.mixer, full)
    delta = the_one(spec, "Kimi Delta Attention", lambda layer: layer.mixer, linear)
    config = write_base(spec) | {
        "model_max_length": spec.max_context,
        "rms_norm_eps": norm.eps,
        "hidden_act": "silu",
        "linear_attn_config": {
            "num_heads": delta.num_heads, "head_dim": delta.head_dim, "short_conv_kernel_size": delta.conv_kernel,
            "full_attn_layers": [i + 1 for i in full], "kda_layers": [i + 1 for i in linear]},
        "num_attention_heads": latent.num_heads,
        "num_key_value_heads": latent.num_heads,  # MLA expands to every head
        "kv_lora_rank": latent.kv_lora_rank,
        "q_lora_rank": latent.q_lora_rank or None,
        "qk_nope_head_dim": latent.qk_nope_head_dim,
        "qk_rope_head_dim": latent.qk_rope_head_dim,
        "v_head_dim": latent.v_head_dim,
        "mla_use_nope": True,
        "attention_bias": latent.qkv_bias,
        "mlp_layer_types": ["sparse" if i in sparse else "dense" for i in range(spec.num_layers)],
        # kimi_linear's default special tokens lie past the end of a smaller vocabulary
        "pad_token_id": None, "bos_token_id": None, "eos_token_id": None,
    }
    del config["max_position_embeddings"]  # kimi_linear keeps the context as model_max_length
    if any(layer.mixer.rope is not None for layer in spec.layers if isinstance(layer.mixer,
                                                                                MultiHeadLatentAttention)):
        raise SpecError([Problem("layers", "kimi_linear's MLA layers are NoPE; a rope cannot be expressed")])
    if dense:
        config["intermediate_size"] = the_one(spec, "dense MLP", lambda layer: layer.ffn, dense).intermediate_size
    if sparse:
        moe = the_one(spec, "MoE", lambda layer: layer.ffn, sparse)
        width = moe.expert.intermediate_size
        if moe.shared is None or moe.shared.intermediate_size % width:
            raise SpecError([Problem(f"layers[{sparse[0]}].ffn.shared",
                                     f"kimi_linear needs shared experts of the routed width {width}")])
        config.update(num_experts=moe.num_experts, num_experts_per_token=moe.top_k, moe_intermediate_size=width,
                      num_shared_experts=moe.shared.intermediate_size // width,
                      moe_renormalize=moe.router.normalize_top_k, num_expert_group=moe.router.num_groups,
                      topk_group=moe.router.top_k_groups, routed_scaling_factor=moe.router.routed_scaling)
    return config


# --- Nemotron-H / Nemotron 3 ------------------------------------------------------------

# hybrid_override_pattern letters and transformers' block names
BLOCKS = {"M": "linear_attention", "*": "full_attention", "-": "mlp", "E": "moe"}


def nemotron_h_block_types(r: ConfigReader) -> list[str]:
    pattern = r.config.get("hybrid_override_pattern")
    if pattern is not None:
        if not isinstance(pattern, str) or not pattern or set(pattern) - set(BLOCKS):
            r.problem("hybrid_override_pattern", f"expected a string of {''.join(BLOCKS)}, found {pattern!r:.60}")
            return ["linear_attention"]
        return [BLOCKS[letter] for letter in pattern]
    key = key_of(r, "layers_block_type", "layer_types")
    value = r.config.get(key)
    if not isinstance(value, list) or not value:
        r.problem(key, "missing; expected hybrid_override_pattern or a list of block types")
        return ["linear_attention"]
    return r.str_list(key, len(value), tuple(BLOCKS.values())) or ["linear_attention"]


def nemotron_h_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    types = nemotron_h_block_types(r)
    if r.has("num_hidden_layers") and r.int("num_hidden_layers") != len(types):
        r.problem("num_hidden_layers", f"{r.config['num_hidden_layers']} disagrees with the {len(types)} "
                                       "layers of the block pattern")
    if r.has("moe_latent_size"):
        r.problem("moe_latent_size", "latent MoE projections are not supported")
    norm = Norm("rmsnorm", r.float(key_of(r, "layer_norm_epsilon", "norm_eps"), 1e-5, positive=True))
    r.str("mamba_hidden_act", "silu", ("silu",))
    mamba = Mamba2(
        num_heads=r.int("mamba_num_heads", 128), head_dim=r.int("mamba_head_dim", 64),
        state_size=r.int("ssm_state_size", 128), num_groups=r.int(key_of(r, "n_groups", "mamba_n_groups"), 8),
        conv_kernel=r.int(key_of(r, "conv_kernel", "mamba_d_conv"), 4),
        conv_bias=r.bool(key_of(r, "use_conv_bias", "mamba_conv_bias"), True),
        proj_bias=r.bool("use_bias", False),  # transformers biases in/out_proj by use_bias
        chunk_size=r.int(key_of(r, "chunk_size", "mamba_chunk_size"), 128),
        dt_min=r.float(key_of(r, "time_step_min", "mamba_dt_min"), 0.001, positive=True), norm_eps=norm.eps)
    # Nemotron-H's attention has no positions at all (the Mamba layers carry order) and no bias.
    attention = Attention(num_heads=r.int("num_attention_heads", 32), num_kv_heads=r.int("num_key_value_heads", 8),
                          head_dim=r.int("head_dim", 128))
    activation = r.str("mlp_hidden_act", "relu2", ("relu2", "silu", "gelu"))
    bias = r.bool("mlp_bias", False)
    mlp = MLP(r.int("intermediate_size", 21504), activation, gated=False, bias=bias)
    moe = MoE(
        num_experts=r.int(key_of(r, "n_routed_experts", "num_local_experts"), 8),
        top_k=r.int("num_experts_per_tok", 2),
        expert=MLP(r.int("moe_intermediate_size", 7688), activation, gated=False),
        router=Router("sigmoid", normalize_top_k=r.bool("norm_topk_prob", True), num_groups=r.int("n_group", 1),
                      top_k_groups=r.int("topk_group", 1), score_correction_bias=True,
                      routed_scaling=r.float("routed_scaling_factor", 1.0, positive=True)),
        shared=MLP(r.int("moe_shared_expert_intermediate_size", 7688), activation, gated=False, bias=bias))
    blocks = {"linear_attention": Layer(mamba, None, norm), "full_attention": Layer(attention, None, norm),
              "mlp": Layer(None, mlp, norm), "moe": Layer(None, moe, norm)}
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type,
                    layers=tuple(blocks[t] for t in types), final_norm=norm, **base)


def nemotron_h_block(layer: Layer) -> str:
    kinds = {(Mamba2, type(None)): "linear_attention", (Attention, type(None)): "full_attention",
             (type(None), MLP): "mlp", (type(None), MoE): "moe"}
    return kinds.get((type(layer.mixer), type(layer.ffn)), "")


def nemotron_h_to_config(spec: ArchSpec) -> dict:
    types = [nemotron_h_block(layer) for layer in spec.layers]
    if "" in types:
        index = types.index("")
        raise SpecError([Problem(f"layers[{index}]", "nemotron_h blocks hold one sublayer: Mamba-2, attention, "
                                 f"an MLP or an MoE; found {spec.layers[index].mixer_kind} + "
                                 f"{spec.layers[index].ffn_kind}")])
    where = {kind: [i for i, t in enumerate(types) if t == kind] for kind in BLOCKS.values()}
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    config = write_base(spec) | {"layers_block_type": types, "layer_norm_epsilon": norm.eps}
    if where["linear_attention"]:
        mamba = the_one(spec, "Mamba-2", lambda layer: layer.mixer, where["linear_attention"])
        config.update(mamba_num_heads=mamba.num_heads, mamba_head_dim=mamba.head_dim, ssm_state_size=mamba.state_size,
                      n_groups=mamba.num_groups, conv_kernel=mamba.conv_kernel, use_conv_bias=mamba.conv_bias,
                      use_bias=mamba.proj_bias, mamba_proj_bias=mamba.proj_bias, chunk_size=mamba.chunk_size,
                      time_step_min=mamba.dt_min)
    if where["full_attention"]:
        attention = the_one(spec, "attention", lambda layer: layer.mixer, where["full_attention"])
        if attention != Attention(attention.num_heads, attention.num_kv_heads, attention.head_dim):
            raise SpecError([Problem(f"layers[{where['full_attention'][0]}].mixer",
                                     "nemotron_h attention is plain NoPE GQA without bias, norms or windows")])
        config.update(num_attention_heads=attention.num_heads, num_key_value_heads=attention.num_kv_heads,
                      head_dim=attention.head_dim)
    activations = set()
    if where["mlp"]:
        mlp = the_one(spec, "MLP", lambda layer: layer.ffn, where["mlp"])
        config.update(intermediate_size=mlp.intermediate_size, mlp_bias=mlp.bias)
        activations.add(mlp.activation)
    if where["moe"]:
        moe = the_one(spec, "MoE", lambda layer: layer.ffn, where["moe"])
        config.update(n_routed_experts=moe.num_experts, num_experts_per_tok=moe.top_k,
                      moe_intermediate_size=moe.expert.intermediate_size,
                      moe_shared_expert_intermediate_size=moe.shared.intermediate_size, n_shared_experts=1,
                      norm_topk_prob=moe.router.normalize_top_k, n_group=moe.router.num_groups,
                      topk_group=moe.router.top_k_groups, routed_scaling_factor=moe.router.routed_scaling)
        config.setdefault("mlp_bias", moe.shared.bias)
        activations.update({moe.expert.activation, moe.shared.activation})
    if len(activations) > 1:
        raise SpecError([Problem("layers", f"nemotron_h uses one MLP activation, found {sorted(activations)}")])
    if activations:
        config["mlp_hidden_act"] = activations.pop()
    return config


# --- MiniMax-01 / MiniMax-M1 ------------------------------------------------------------

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


CONVERTERS: dict[str, Any] = {
    "qwen3_next": (qwen3_next_to_spec, qwen3_next_to_config),
    "kimi_linear": (kimi_linear_to_spec, kimi_linear_to_config),
    "nemotron_h": (nemotron_h_to_spec, nemotron_h_to_config),
    "minimax": (minimax_to_spec, minimax_to_config),
    # The published MiniMax-01 / M1 config.json (remote code) reads into the same spec.
    "minimax_m1": (minimax_to_spec, minimax_to_config),
    "minimax_text_01": (minimax_to_spec, minimax_to_config),
}
