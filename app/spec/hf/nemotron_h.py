"""Nemotron-H / Nemotron 3 (model_type nemotron_h): Mamba-2, attention, MLP and MoE as separate
single-sublayer blocks, in the hand-placed order its block pattern spells."""

from __future__ import annotations

from ..arch import ArchSpec
from ..components import Layer
from ..errors import Problem, SpecError
from ..ffn import MLP, MoE, Router
from ..mixers import Attention, Mamba2
from ..parts import Norm
from .common import FAMILIES, key_of, read_base, the_one, write_base
from .reader import ConfigReader

# hybrid_override_pattern letters and transformers' block names
BLOCKS = {"M": "linear_attention", "*": "full_attention", "-": "mlp", "E": "moe"}
# The block names NVIDIA's own configs write (Nemotron 3 Ultra's layers_block_type), which
# transformers reads as its own (configuration_utils._LEGACY_LAYER_TYPE_REMAP)
LEGACY_BLOCKS = {"mamba": "linear_attention", "attention": "full_attention"}


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
    names = r.str_list(key, len(value), (*BLOCKS.values(), *LEGACY_BLOCKS))
    return [LEGACY_BLOCKS.get(name, name) for name in names] if names else ["linear_attention"]


def nemotron_h_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    base = read_base(r)
    types = nemotron_h_block_types(r)
    if r.has("num_hidden_layers") and r.int("num_hidden_layers") != len(types):
        r.problem("num_hidden_layers", f"{r.config['num_hidden_layers']} disagrees with the {len(types)} "
                                       "layers of the block pattern")
    # Nemotron 3 Super / Ultra: the routed experts work in a latent this wide (null: none)
    latent = r.int("moe_latent_size", 0)
    if latent > base["d_model"]:
        r.problem("moe_latent_size", f"{latent} exceeds hidden_size {base['d_model']}: a latent narrows the token")
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
        shared=MLP(r.int("moe_shared_expert_intermediate_size", 7688), activation, gated=False, bias=bias),
        latent_size=latent, latent_bias=bias and bool(latent))
    blocks = {"linear_attention": Layer(mamba, None, norm), "full_attention": Layer(attention, None, norm),
              "mlp": Layer(None, mlp, norm), "moe": Layer(None, moe, norm)}
    # Super / Ultra's multi-token-prediction head (an attention and an MoE block, which
    # transformers does not build): counted apart as mtp_params, never run
    mtp = r.int("num_nextn_predict_layers", 0, minimum=0)
    return ArchSpec(name=model_type, family=FAMILIES[model_type], model_type=model_type,
                    layers=tuple(blocks[t] for t in types), final_norm=norm, mtp_layers=mtp, **base)


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
    letters = {name: letter for letter, name in BLOCKS.items()}
    config = write_base(spec) | {"layers_block_type": types, "layer_norm_epsilon": norm.eps,
                                 # the same layers in the older form the published configs carry
                                 "hybrid_override_pattern": "".join(letters[t] for t in types)}
    if spec.mtp_layers:
        config["num_nextn_predict_layers"] = spec.mtp_layers
    if where["linear_attention"]:
        mamba = the_one(spec, "Mamba-2", lambda layer: layer.mixer, where["linear_attention"])
        config.update(mamba_num_heads=mamba.num_heads, mamba_head_dim=mamba.head_dim, ssm_state_size=mamba.state_size,
                      n_groups=mamba.num_groups, conv_kernel=mamba.conv_kernel, use_conv_bias=mamba.conv_bias,
                      use_bias=mamba.proj_bias, mamba_proj_bias=mamba.proj_bias, chunk_size=mamba.chunk_size,
                      time_step_min=mamba.dt_min, mamba_hidden_act="silu")
    if where["full_attention"]:
        attention = the_one(spec, "attention", lambda layer: layer.mixer, where["full_attention"])
        if attention != Attention(attention.num_heads, attention.num_kv_heads, attention.head_dim):
            raise SpecError([Problem(f"layers[{where['full_attention'][0]}].mixer",
                                     "nemotron_h attention is plain NoPE GQA without bias, norms or windows")])
        config.update(num_attention_heads=attention.num_heads, num_key_value_heads=attention.num_kv_heads,
                      head_dim=attention.head_dim, attention_bias=False)
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
        if moe.latent_size:
            config["moe_latent_size"] = moe.latent_size
            if moe.latent_bias != config["mlp_bias"]:
                raise SpecError([Problem(f"layers[{where['moe'][0]}].ffn.latent_bias", "nemotron_h biases the "
                                         "latent projections as it does its MLPs (mlp_bias)")])
        activations.update({moe.expert.activation, moe.shared.activation})
    if len(activations) > 1:
        raise SpecError([Problem("layers", f"nemotron_h uses one MLP activation, found {sorted(activations)}")])
    if activations:
        config["mlp_hidden_act"] = activations.pop()
    return config


CONVERTERS = {"nemotron_h": (nemotron_h_to_spec, nemotron_h_to_config)}
