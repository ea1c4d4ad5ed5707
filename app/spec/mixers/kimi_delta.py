"""Kimi Delta Attention (Kimi Linear's linear attention), with everything the rest of
ArchScope asks of it. Its torch module is `app/model/kimi_delta.py`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from ..checks import Checker
from ..cost import Cost, MixerSite, Step

if TYPE_CHECKING:
    from ..scale import Shrinker


@dataclass(frozen=True)
class KimiDeltaAttention:
    """Kimi Delta Attention (Kimi Linear): Gated DeltaNet with a channel-wise decay gate.
    The decay gate and the sigmoid output gate are low-rank (d -> head_dim -> width)."""

    kind: ClassVar[str] = "kimi_delta"
    attends_to_context: ClassVar[bool] = False
    recurrent: ClassVar[bool] = True
    cache_window: ClassVar[int] = 0
    is_local: ClassVar[bool] = False
    position_kind: ClassVar[str] = ""
    canvas_style: ClassVar[str] = "linear"
    point_kind: ClassVar[str] = "linear mixer"
    title: ClassVar[str] = "Kimi Delta Attention"
    num_heads: int
    head_dim: int
    conv_kernel: int = 4
    norm_eps: float = 1e-5  # the sigmoid-gated output RMSNorm (Kimi Linear: rms_norm_eps)

    # --- the analysis ---

    def params(self, d: int) -> int:
        width = self.num_heads * self.head_dim
        low_rank = self.head_dim
        return (
            3 * d * width  # q, k, v
            + 3 * width * self.conv_kernel  # a short conv on each
            + 2 * (d * low_rank + low_rank * width)  # channel-wise decay and output gate, low rank
            + d * self.num_heads  # beta
            + self.num_heads + width  # A, dt bias
            + self.head_dim  # output norm
            + width * d
        )

    def vector_params(self, d: int) -> int:
        """Convolution taps, A and the dt bias, the output norm."""
        width = self.num_heads * self.head_dim
        return 3 * width * self.conv_kernel + self.num_heads + width + self.head_dim

    def per_image_params(self, d: int) -> int:
        return 0

    def kv_values_per_token(self) -> int:
        return 0

    def kv_values_per_image(self, vision) -> int:
        return 0

    def state_values(self) -> int:
        width = self.num_heads * self.head_dim
        return self.num_heads * self.head_dim**2 + 3 * self.conv_kernel * width

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        return 4 * self.num_heads * self.head_dim**2

    # --- the roofline ---

    def step_cost(self, step: Step, site: MixerSite) -> Cost:
        """As Gated DeltaNet: the state read against the key, corrected, read against the
        query; a channel-wise decay is one multiply per value, not a product."""
        state = step.batch * self.state_values() * step.dtype_bytes
        flops = step.rows * 2 * 3 * self.num_heads * self.head_dim**2
        return step.projections(self, site.d_model) + Cost(cache_bytes=2 * state, flops=flops)

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "num_heads", "head_dim", "conv_kernel", "norm_eps")

    def explored(self, shrink: Shrinker) -> KimiDeltaAttention:
        return replace(self, num_heads=min(self.num_heads, shrink.max_heads), head_dim=shrink.head_dim(self.head_dim))

    @classmethod
    def palette_default(cls, d_model: int, heads: int, head_dim: int,
                        rope_theta: float | None) -> KimiDeltaAttention:
        """The model's own attention heads, as Kimi Linear keeps them."""
        return cls(num_heads=heads, head_dim=head_dim)

    # --- words ---

    def box_lines(self) -> list[str]:
        return [f"{self.num_heads} heads · dim {self.head_dim}",
                f"channel-wise gate · conv {self.conv_kernel}", "linear · constant state"]

    def label(self, say_global: bool = False) -> str:
        return "Kimi Delta Attention"

    def describe(self) -> str:
        return "Kimi Delta Attention"

    pattern_label: ClassVar[str] = "Kimi Delta Attention"
