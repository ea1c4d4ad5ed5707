"""Gated DeltaNet (Qwen3-Next's linear attention), with everything the rest of ArchScope
asks of it. Its torch module is `app/model/gated_deltanet.py`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from ..checks import Checker
from ..cost import Cost, MixerSite, Step

if TYPE_CHECKING:
    from ..scale import Shrinker


@dataclass(frozen=True)
class GatedDeltaNet:
    """Gated DeltaNet linear attention (Qwen3-Next): a constant-size state per head,
    updated by the delta rule with a scalar decay gate, after a short causal conv."""

    kind: ClassVar[str] = "gated_deltanet"
    attends_to_context: ClassVar[bool] = False
    recurrent: ClassVar[bool] = True
    cache_window: ClassVar[int] = 0
    is_local: ClassVar[bool] = False
    position_kind: ClassVar[str] = ""
    canvas_style: ClassVar[str] = "linear"
    point_kind: ClassVar[str] = "linear mixer"
    title: ClassVar[str] = "Gated DeltaNet"
    num_key_heads: int
    num_value_heads: int
    key_head_dim: int
    value_head_dim: int
    conv_kernel: int = 4
    norm_eps: float = 1e-6  # the gated RMSNorm on each head's output (Qwen3-Next: rms_norm_eps)

    @property
    def _conv_width(self) -> int:
        return 2 * self.num_key_heads * self.key_head_dim + self.num_value_heads * self.value_head_dim

    # --- the analysis ---

    def params(self, d: int) -> int:
        key_width = self.num_key_heads * self.key_head_dim
        value_width = self.num_value_heads * self.value_head_dim
        return (
            d * (2 * key_width + 2 * value_width)  # q, k, v and the output gate z
            + d * 2 * self.num_value_heads  # beta and the decay's input
            + self._conv_width * self.conv_kernel
            + 2 * self.num_value_heads  # dt bias, A
            + self.value_head_dim  # gated RMSNorm over each head's output
            + value_width * d
        )

    def vector_params(self, d: int) -> int:
        """Convolution taps, the decay's dt bias and A, the output norm."""
        return self._conv_width * self.conv_kernel + 2 * self.num_value_heads + self.value_head_dim

    def per_image_params(self, d: int) -> int:
        return 0

    def kv_values_per_token(self) -> int:
        return 0

    def kv_values_per_image(self, vision) -> int:
        return 0

    def state_values(self) -> int:
        return self.num_value_heads * self.key_head_dim * self.value_head_dim + self.conv_kernel * self._conv_width

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        return 4 * self.num_value_heads * self.key_head_dim * self.value_head_dim

    # --- the roofline ---

    def step_cost(self, step: Step, site: MixerSite) -> Cost:
        """Its state read and written once per step; per token row the delta rule reads the
        state against the key, writes a rank-one correction and reads it against the
        query, 2 FLOPs per state value each."""
        state = step.batch * self.state_values() * step.dtype_bytes
        flops = step.rows * 2 * 3 * self.num_value_heads * self.key_head_dim * self.value_head_dim
        return step.projections(self, site.d_model) + Cost(cache_bytes=2 * state, flops=flops)

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "num_key_heads", "num_value_heads", "key_head_dim",
                       "value_head_dim", "conv_kernel", "norm_eps")
        check.divides(path, "num_key_heads", self.num_key_heads, "num_value_heads", self.num_value_heads)

    def explored(self, shrink: Shrinker) -> GatedDeltaNet:
        key_heads = min(self.num_key_heads, 4)
        return replace(self, num_key_heads=key_heads,
                       num_value_heads=key_heads * (self.num_value_heads // self.num_key_heads),
                       key_head_dim=shrink.head_dim(self.key_head_dim),
                       value_head_dim=shrink.head_dim(self.value_head_dim))

    @classmethod
    def palette_default(cls, d_model: int, heads: int, head_dim: int,
                        rope_theta: float | None) -> GatedDeltaNet:
        """Qwen3-Next's proportions: 128-wide heads, twice as many value heads as key heads."""
        key_heads = max(1, d_model // 256)
        return cls(num_key_heads=key_heads, num_value_heads=2 * key_heads, key_head_dim=128, value_head_dim=128)

    # --- words ---

    def box_lines(self) -> list[str]:
        return [f"{self.num_key_heads} K / {self.num_value_heads} V heads",
                f"dims {self.key_head_dim}/{self.value_head_dim} · conv {self.conv_kernel}",
                "linear · constant state"]

    def label(self, say_global: bool = False) -> str:
        return "Gated DeltaNet"

    def describe(self) -> str:
        return "Gated DeltaNet"

    pattern_label: ClassVar[str] = "Gated DeltaNet"
