"""The DeepSeek line's feed-forward layers and model-level keys, shared by the converters
of its descendants (deepseek.py, glm4_moe.py, mimo.py): sigmoid-scored experts with a
selection-only correction bias, group-limited top-k, shared experts and dense first layers."""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import Layer
from ..errors import Problem, SpecError
from ..ffn import MLP, MoE, Router
from ..parts import Norm
from .common import FAMILIES, HIDDEN_ACTS, activation_from_hf, activation_to_hf, read_base, the_one
from .reader import ConfigReader

MLP_LAYER_TYPES = ("dense", "sparse")



def read_router(r: ConfigReader) -> Router:
    # DeepSeek's published configs name the scoring and the selection method; transformers'
    # own configs omit both and always build sigmoid scores with the correction bias.
    return Router(
        scoring=r.str("scoring_func", "sigmoid", ("sigmoid", "softmax")),
        normalize_top_k=r.bool("norm_topk_prob", True),
        num_groups=r.int("n_group", 1),
        top_k_groups=r.int("topk_group", 1),
        score_correction_bias=r.str("topk_method", "noaux_tc") == "noaux_tc",
        routed_scaling=r.float("routed_scaling_factor", 1.0, positive=True),  # MiMo publishes null
    )



def read_moe(r: ConfigReader, activation: str) -> MoE:
    shared_count = r.int("n_shared_experts", 0, minimum=0)  # MiMo publishes null: none
    expert_width = r.int("moe_intermediate_size")
    return MoE(
        num_experts=r.int("n_routed_experts"),
        top_k=r.int("num_experts_per_tok"),
        expert=MLP(expert_width, activation),
        router=read_router(r),
        # transformers builds the shared experts as one MLP n_shared_experts times as wide
        shared=MLP(shared_count * expert_width, activation) if shared_count else None,
    )



def read_moe_layers(r: ConfigReader, n: int, default_first_dense: int) -> list[bool]:
    """True where a layer's feed-forward is the MoE: `mlp_layer_types` (transformers),
    `moe_layer_freq` as a list (MiMo's published config), else the first k dense."""
    types = r.str_list("mlp_layer_types", n, MLP_LAYER_TYPES)
    if types is not None:
        return [kind == "sparse" for kind in types]
    if isinstance(r.config.get("moe_layer_freq"), list):
        flags = r.int_list("moe_layer_freq", n)
        if flags is not None:
            return [bool(flag) for flag in flags]
    first_dense = r.int("first_k_dense_replace", default_first_dense, minimum=0)
    return [i >= first_dense for i in range(n)]



def read_norm(r: ConfigReader, default_eps: float) -> Norm:
    # MiMo's published config calls it layernorm_epsilon; it is still an RMSNorm
    eps_key = "layernorm_epsilon" if r.has("layernorm_epsilon") and not r.has("rms_norm_eps") else "rms_norm_eps"
    return Norm("rmsnorm", r.float(eps_key, default_eps, positive=True))



def read_activation(r: ConfigReader) -> str:
    return activation_from_hf(r.str("hidden_act", "silu", HIDDEN_ACTS))



def build_spec(r: ConfigReader, model_type: str, layers: list[Layer], norm: Norm) -> ArchSpec:
    return ArchSpec(
        name=model_type, family=FAMILIES[model_type], model_type=model_type, layers=tuple(layers),
        final_norm=norm, mtp_layers=r.int("num_nextn_predict_layers", 0, minimum=0), **read_base(r),
    )



def spec_problem(path: str, message: str) -> SpecError:
    """What a converter raises for a spec its format cannot express."""
    return SpecError([Problem(path, message)])



def moe_indices(spec: ArchSpec) -> tuple[list[int], list[int]]:
    """(dense layers, MoE layers); each must hold one MoE and one dense MLP throughout."""
    moe = [i for i, layer in enumerate(spec.layers) if isinstance(layer.ffn, MoE)]
    dense = [i for i, layer in enumerate(spec.layers) if isinstance(layer.ffn, MLP)]
    if len(moe) + len(dense) != spec.num_layers:
        raise spec_problem("layers", "every layer needs a feed-forward network (dense MLP or MoE)")
    if not moe:
        raise spec_problem("layers", f"{spec.model_type} configs describe an MoE; no layer has one")
    return dense, moe



def write_ffn(spec: ArchSpec, allow_shared: bool = True) -> dict:
    """The MoE, dense-MLP and norm keys every model type here shares."""
    dense_layers, moe_layers = moe_indices(spec)
    moe: MoE = the_one(spec, "MoE", lambda layer: layer.ffn, moe_layers)
    dense = the_one(spec, "dense MLP", lambda layer: layer.ffn, dense_layers) if dense_layers else None
    at = f"layers[{moe_layers[0]}].ffn"
    shared_count = 0
    if moe.shared is not None:
        if not allow_shared:
            raise spec_problem(f"{at}.shared", f"{spec.model_type} has no shared expert")
        shared_count, rest = divmod(moe.shared.intermediate_size, moe.expert.intermediate_size)
        if rest or moe.shared != replace(moe.expert, intermediate_size=moe.shared.intermediate_size):
            raise spec_problem(f"{at}.shared", f"{spec.model_type} builds shared experts only as n_shared_experts "
                           f"copies of a routed expert ({moe.expert.intermediate_size} wide)")
    plain = MoE(moe.num_experts, moe.top_k, MLP(moe.expert.intermediate_size, moe.expert.activation),
                replace(Router(), scoring=moe.router.scoring, normalize_top_k=moe.router.normalize_top_k,
                        num_groups=moe.router.num_groups, top_k_groups=moe.router.top_k_groups,
                        score_correction_bias=moe.router.score_correction_bias,
                        routed_scaling=moe.router.routed_scaling), moe.shared)
    if moe != plain:
        raise spec_problem(at, f"{spec.model_type} experts are bias-free SwiGLU-style MLPs routed by DeepSeek's "
                       "router (no router bias, softcap, shared gate or output scale)")
    if dense is not None and replace(dense, intermediate_size=moe.expert.intermediate_size) != moe.expert:
        raise spec_problem(f"layers[{dense_layers[0]}].ffn", "dense and expert MLPs share one hidden_act, gated, "
                       "without bias")
    norm = the_one(spec, "norm", lambda layer: layer.norm)
    if norm != Norm("rmsnorm", norm.eps) or any(layer.norm_placement != "pre" for layer in spec.layers) \
            or spec.final_norm != norm:
        raise spec_problem("layers[0].norm", f"{spec.model_type} uses one pre-norm RMSNorm throughout")
    router = moe.router
    return {
        "hidden_act": activation_to_hf(moe.expert.activation),
        "intermediate_size": (dense or moe.expert).intermediate_size,
        "moe_intermediate_size": moe.expert.intermediate_size,
        "n_routed_experts": moe.num_experts,
        "num_experts_per_tok": moe.top_k,
        "n_shared_experts": shared_count,
        "n_group": router.num_groups,
        "topk_group": router.top_k_groups,
        "norm_topk_prob": router.normalize_top_k,
        "routed_scaling_factor": router.routed_scaling,
        "scoring_func": router.scoring,
        "topk_method": "noaux_tc" if router.score_correction_bias else "greedy",
        "rms_norm_eps": norm.eps,
        "num_nextn_predict_layers": spec.mtp_layers,
    }



def first_dense_count(spec: ArchSpec) -> int:
    """How many leading layers are dense, when the dense ones are exactly a prefix."""
    dense_layers, _ = moe_indices(spec)
    if dense_layers != list(range(len(dense_layers))):
        raise spec_problem("layers", f"{spec.model_type} configs hold dense layers only as a prefix "
                       "(first_k_dense_replace); found dense layers " + str(dense_layers))
    return len(dense_layers)



def mlp_layer_types(spec: ArchSpec) -> list[str]:
    return [MLP_LAYER_TYPES[isinstance(layer.ffn, MoE)] for layer in spec.layers]
