"""Mamba-2 (Nemotron-H's state-space mixer), with everything the rest of ArchScope asks
of it. Its torch module is `app/model/mamba2.py`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from ..checks import Checker
from ..cost import Cost, MixerSite, Step

if TYPE_CHECKING:
    from ..scale import Shrinker


@dataclass(frozen=True)
class Mamba2:
    """Mamba-2 selective state-space mixer (Nemotron-H). Its output norm is a gated
    RMSNorm taken over num_groups groups of the inner width."""

    kind: ClassVar[str] = "mamba2"
    attends_to_context: ClassVar[bool] = False
    recurrent: ClassVar[bool] = True
    cache_window: ClassVar[int] = 0
    is_local: ClassVar[bool] = False
    position_kind: ClassVar[str] = ""
    canvas_style: ClassVar[str] = "linear"
    point_kind: ClassVar[str] = "linear mixer"
    title: ClassVar[str] = "Mamba-2"
    num_heads: int
    head_dim: int
    state_size: int
    num_groups: int = 1
    conv_kernel: int = 4
    conv_bias: bool = True
    proj_bias: bool = False
    chunk_size: int = 128
    # softplus(dt + dt_bias) is clamped below at this; transformers' Nemotron-H uses its
    # config's time_step_min (0.001) as the floor and no ceiling
    dt_min: float = 0.0
    norm_eps: float = 1e-5  # the gated output RMSNorm (Nemotron-H: layer_norm_epsilon)

    @property
    def _inner(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def _conv_width(self) -> int:
        return self._inner + 2 * self.num_groups * self.state_size

    @property
    def _in_width(self) -> int:
        """The input projection's outputs: x and z, B and C of every group, dt per head."""
        return 2 * self._inner + 2 * self.num_groups * self.state_size + self.num_heads

    # --- the analysis ---

    def params(self, d: int) -> int:
        inner = self._inner
        total = d * self._in_width + self._conv_width * self.conv_kernel + 3 * self.num_heads + inner + inner * d
        if self.conv_bias:
            total += self._conv_width
        if self.proj_bias:
            total += self._in_width + d
        return total

    def vector_params(self, d: int) -> int:
        """Convolution taps and bias, dt bias, A and D per head, the output norm, biases."""
        return (self._conv_width * self.conv_kernel + (self._conv_width if self.conv_bias else 0)
                + 3 * self.num_heads + self._inner + ((self._in_width + d) if self.proj_bias else 0))

    def per_image_params(self, d: int) -> int:
        return 0

    def kv_values_per_token(self) -> int:
        return 0

    def kv_values_per_image(self, vision) -> int:
        return 0

    def state_values(self) -> int:
        return self._inner * self.state_size + self.conv_kernel * self._conv_width

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        return 4 * self.num_heads * self.head_dim * self.state_size

    # --- the roofline ---

    def step_cost(self, step: Step, site: MixerSite) -> Cost:
        """Its state read and written once per step; per token row a rank-one update
        written and read once, 2 FLOPs per state value each."""
        state = step.batch * self.state_values() * step.dtype_bytes
        flops = step.rows * 2 * 2 * self.num_heads * self.head_dim * self.state_size
        return step.projections(self, site.d_model) + Cost(cache_bytes=2 * state, flops=flops)

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "num_heads", "head_dim", "state_size", "num_groups",
                       "conv_kernel", "chunk_size", "norm_eps")
        check.non_negative(self, path, "dt_min")
        check.divides(path, "num_groups", self.num_groups, "num_heads", self.num_heads)

    def explored(self, shrink: Shrinker) -> Mamba2:
        heads = min(self.num_heads, shrink.max_heads)
        groups = max(1, min(self.num_groups, heads))
        while heads % groups:
            groups -= 1
        return replace(self, num_heads=heads, head_dim=shrink.head_dim(self.head_dim),
                       state_size=shrink.head_dim(self.state_size), num_groups=groups)

    @classmethod
    def palette_default(cls, d_model: int, heads: int, head_dim: int,
                        rope_theta: float | None) -> Mamba2:
        """Nemotron-H's proportions: 64-wide heads over twice the model width, state 128."""
        heads = max(1, 2 * d_model // 64)
        return cls(num_heads=heads, head_dim=64, state_size=128, num_groups=8 if heads % 8 == 0 else 1)

    # --- words ---

    def box_lines(self) -> list[str]:
        return [f"{self.num_heads} heads · dim {self.head_dim}",
                f"state {self.state_size} · {self.num_groups} groups", "state-space · constant state"]

    def label(self, say_global: bool = False) -> str:
        return "Mamba-2"

    def describe(self) -> str:
        return "Mamba-2"

    pattern_label: ClassVar[str] = "Mamba-2"
