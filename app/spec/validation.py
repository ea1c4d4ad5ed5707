"""Structural rules of an ArchSpec: every broken rule, reported at its field path."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .components import (
    MLP,
    Attention,
    CrossAttention,
    GatedDeltaNet,
    KimiDeltaAttention,
    LightningAttention,
    Mamba2,
    MoE,
    MultiHeadLatentAttention,
    Norm,
    Rope,
)
from . import on_device
from .errors import Problem
from .limits import size_problems
from .vision import vision_problems

if TYPE_CHECKING:  # only named in annotations: ArchSpec itself calls `validate`
    from .arch import ArchSpec


def validate(spec: ArchSpec) -> list[Problem]:
    """Return every problem found; an empty list means the spec can be built."""
    bounds = size_problems(spec)
    if bounds:  # the rules below multiply and compare sizes: only bounded ones
        return bounds
    check = _Checker()
    check.positive(spec, "", "vocab_size", "d_model")
    check.non_negative(spec, "", "learned_positions", "max_context", "mtp_layers", "final_logit_softcap")
    check.positive(spec, "", "output_logit_scale")
    if not spec.name.strip():
        check.add("name", "must not be empty")
    if not spec.layers:
        check.add("layers", "a model needs at least one layer")
    check.norm(spec.final_norm, "final_norm")
    for index, layer in enumerate(spec.layers):
        path = f"layers[{index}]"
        if layer.mixer is None and layer.ffn is None:
            check.add(path, "a layer needs a mixer, a feed-forward network, or both")
        check.norm(layer.norm, f"{path}.norm")
        for name in ("mixer_residual", "ffn_residual"):
            scale = getattr(layer, name)
            if scale is not None:
                check.finite(scale, f"{path}.{name}", "alpha", "beta")
        if layer.mixer is not None:
            check.mixer(layer.mixer, f"{path}.mixer")
        if layer.ffn is not None:
            check.ffn(layer.ffn, f"{path}.ffn")
    check.problems.extend(on_device.problems(spec))
    if spec.vision is not None:
        for path, message in vision_problems(spec.vision):
            check.add(path, message)
    crossing = [i for i, layer in enumerate(spec.layers) if isinstance(layer.mixer, CrossAttention)]
    if crossing and (spec.vision is None or spec.vision.method != "cross_attention"):
        check.add(f"layers[{crossing[0]}].mixer", "cross-attention needs a vision front-end of method "
                  "'cross_attention' to attend to")
    return check.problems


class _Checker:
    def __init__(self):
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def positive(self, obj, path: str, *names: str) -> None:
        for name in names:
            value = getattr(obj, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                self.add(_at(path, name), f"must be positive, found {value!r}")

    def non_negative(self, obj, path: str, *names: str) -> None:
        for name in names:
            value = getattr(obj, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                self.add(_at(path, name), f"must be zero or positive, found {value!r}")

    def finite(self, obj, path: str, *names: str) -> None:
        for name in names:
            value = getattr(obj, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                self.add(_at(path, name), f"must be a finite number, found {value!r}")

    def divides(self, path: str, name: str, divisor: int, what: str, dividend: int) -> None:
        if divisor > 0 and dividend > 0 and dividend % divisor:
            self.add(_at(path, name), f"{divisor} does not divide {what} {dividend}")

    def norm(self, norm: Norm, path: str) -> None:
        self.positive(norm, path, "eps")
        if norm.kind != "layernorm" and norm.bias:
            self.add(_at(path, "bias"), f"only a layernorm has a bias, this is {norm.kind}")

    def rope(self, rope: Rope, path: str, head_dim: int) -> None:
        self.positive(rope, path, "theta", "rotary_dim")
        if rope.rotary_dim % 2:
            self.add(_at(path, "rotary_dim"), f"must be even, found {rope.rotary_dim}")
        if head_dim > 0 and rope.rotary_dim > head_dim:
            self.add(_at(path, "rotary_dim"), f"{rope.rotary_dim} exceeds the head dimension {head_dim}")
        if rope.scaling is not None:
            scaling_path = _at(path, "scaling")
            self.positive(rope.scaling, scaling_path, "factor")
            if rope.scaling.type in ("llama3", "yarn"):
                self.positive(rope.scaling, scaling_path, "original_max_position")

    def mixer(self, mixer, path: str) -> None:
        if isinstance(mixer, Attention):
            self.positive(mixer, path, "num_heads", "num_kv_heads", "head_dim")
            self.non_negative(mixer, path, "value_head_dim", "sliding_window", "chunk_size",
                              "logit_softcap", "query_pre_attn_scalar")
            if mixer.temperature_tuning:
                self.positive(mixer, path, "temperature_floor", "temperature_scale")
            self.positive(mixer, path, "value_scale")
            self.divides(path, "num_kv_heads", mixer.num_kv_heads, "num_heads", mixer.num_heads)
            if mixer.rope is not None:
                self.rope(mixer.rope, _at(path, "rope"), mixer.head_dim)
            if mixer.qk_norm is not None:
                self.norm(mixer.qk_norm.norm, _at(path, "qk_norm.norm"))
            if mixer.value_norm is not None:
                self.norm(mixer.value_norm, _at(path, "value_norm"))
        elif isinstance(mixer, MultiHeadLatentAttention):
            self.positive(mixer, path, "num_heads", "kv_lora_rank", "qk_nope_head_dim",
                          "qk_rope_head_dim", "v_head_dim")
            self.non_negative(mixer, path, "q_lora_rank", "query_position_scale")
            self.positive(mixer, path, "query_position_floor")
            if mixer.rope is not None:
                self.rope(mixer.rope, _at(path, "rope"), mixer.qk_rope_head_dim)
            if mixer.indexer is not None:
                index_path = _at(path, "indexer")
                self.positive(mixer.indexer, index_path, "num_heads", "head_dim", "top_k")
                if not mixer.q_lora_rank:  # the indexer's queries are read from the query latent
                    self.add(_at(path, "q_lora_rank"), "the sparse indexer needs a query latent (q_lora_rank > 0)")
                if mixer.indexer.head_dim < mixer.qk_rope_head_dim:  # it rotates its first rope channels
                    self.add(_at(index_path, "head_dim"), f"{mixer.indexer.head_dim} is smaller than "
                             f"qk_rope_head_dim {mixer.qk_rope_head_dim}")
        elif isinstance(mixer, GatedDeltaNet):
            self.positive(mixer, path, "num_key_heads", "num_value_heads", "key_head_dim",
                          "value_head_dim", "conv_kernel", "norm_eps")
            self.divides(path, "num_key_heads", mixer.num_key_heads, "num_value_heads", mixer.num_value_heads)
        elif isinstance(mixer, KimiDeltaAttention):
            self.positive(mixer, path, "num_heads", "head_dim", "conv_kernel", "norm_eps")
        elif isinstance(mixer, Mamba2):
            self.positive(mixer, path, "num_heads", "head_dim", "state_size", "num_groups",
                          "conv_kernel", "chunk_size", "norm_eps")
            self.non_negative(mixer, path, "dt_min")
            self.divides(path, "num_groups", mixer.num_groups, "num_heads", mixer.num_heads)
        elif isinstance(mixer, LightningAttention):
            self.positive(mixer, path, "num_heads", "head_dim", "block_size", "norm_eps")
        elif isinstance(mixer, CrossAttention):
            self.positive(mixer, path, "num_heads", "num_kv_heads", "head_dim")
            self.divides(path, "num_kv_heads", mixer.num_kv_heads, "num_heads", mixer.num_heads)
            if mixer.qk_norm is not None:
                self.norm(mixer.qk_norm.norm, _at(path, "qk_norm.norm"))
        elif mixer is not None:  # a kind added to the spec but not here: not valid by default
            self.add(path, f"unknown mixer kind {type(mixer).__name__}")

    def mlp(self, mlp: MLP, path: str) -> None:
        self.positive(mlp, path, "intermediate_size")

    def ffn(self, ffn, path: str) -> None:
        if isinstance(ffn, MLP):
            self.mlp(ffn, path)
            return
        assert isinstance(ffn, MoE)
        self.positive(ffn, path, "num_experts", "top_k", "output_scale")
        self.mlp(ffn.expert, _at(path, "expert"))
        if ffn.shared is not None:
            self.mlp(ffn.shared, _at(path, "shared"))
        elif ffn.shared_gate:
            self.add(_at(path, "shared_gate"), "gates a shared expert, but the MoE has none")
        if ffn.top_k > ffn.num_experts > 0:
            self.add(_at(path, "top_k"), f"{ffn.top_k} exceeds num_experts {ffn.num_experts}")
        router, router_path = ffn.router, _at(path, "router")
        self.positive(router, router_path, "num_groups", "top_k_groups", "routed_scaling")
        self.non_negative(router, router_path, "logit_softcap")
        self.divides(router_path, "num_groups", router.num_groups, "num_experts", ffn.num_experts)
        if router.top_k_groups > router.num_groups > 0:
            self.add(_at(router_path, "top_k_groups"),
                     f"{router.top_k_groups} exceeds num_groups {router.num_groups}")
        elif router.num_groups > 0 and ffn.num_experts % router.num_groups == 0 and router.top_k_groups > 0:
            reachable = router.top_k_groups * ffn.num_experts // router.num_groups
            if ffn.top_k > reachable:
                self.add(_at(path, "top_k"),
                         f"{ffn.top_k} exceeds the {reachable} experts in the top {router.top_k_groups} groups")


def new_problems(before: ArchSpec, after: ArchSpec) -> list[Problem]:
    """The problems an edit from `before` to `after` adds: a spec opened with problems can
    still be edited, one step that adds none at a time."""
    known = set(validate(before))
    return [problem for problem in validate(after) if problem not in known]


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
