"""Kimi Linear (model_type kimi_linear): Kimi Delta Attention with NoPE MLA every few layers,
dense first layer then MoE. Reads the published keys as well as transformers' own."""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..errors import Problem, SpecError
from ..ffn import MLP, MoE, Router
from ..mixers import KimiDeltaAttention, MultiHeadLatentAttention
from ..parts import Norm
from .common import FAMILIES, MIXER_TYPES, index_list, key_of, layers_of, only_kinds, read_base, the_one, write_base
from .reader import ConfigReader


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
                      topk_group=moe.router.top_k_groups, routed_scaling_factor=moe.router.routed_scaling,
                      moe_router_activation_func=moe.router.scoring, moe_layer_freq=1)
        if dense == list(range(len(dense))):  # the older key the published config also carries
            config["first_k_dense_replace"] = len(dense)
    config["num_nextn_predict_layers"] = spec.mtp_layers
    return config


CONVERTERS = {"kimi_linear": (kimi_linear_to_spec, kimi_linear_to_config)}
