"""Lightning attention (MiniMax-01 / M1's linear attention), with everything the rest of
ArchScope asks of it. Its torch module is `app/model/lightning.py`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from ..checks import Checker
from ..cost import Cost, MixerSite, Step

if TYPE_CHECKING:
    from ..scale import Shrinker


@dataclass(frozen=True)
class LightningAttention:
    """Lightning attention (MiniMax-01 / M1): linear attention with a per-head decay,
    computed blockwise; constant-size state. The decay of head h in layer l of L is
    2 ** (-8 (h + 1) / num_heads) * (1 - l / (L - 1)): ALiBi slopes fading with depth."""

    kind: ClassVar[str] = "lightning"
    attends_to_context: ClassVar[bool] = False
    recurrent: ClassVar[bool] = True
    cache_window: ClassVar[int] = 0
    is_local: ClassVar[bool] = False
    position_kind: ClassVar[str] = ""
    canvas_style: ClassVar[str] = "linear"
    point_kind: ClassVar[str] = "linear mixer"
    title: ClassVar[str] = "Lightning attention"
    num_heads: int
    head_dim: int
    block_size: int = 256  # tokens per block of the blockwise prefill (MiniMax config block_size)
    norm_eps: float = 1e-6  # RMSNorm over all heads' output, before the sigmoid gate

    # --- the analysis ---

    def params(self, d: int) -> int:
        width = self.num_heads * self.head_dim
        return d * 3 * width + d * width + width + width * d  # qkv, output gate, norm, out

    def vector_params(self, d: int) -> int:
        """The output norm."""
        return self.num_heads * self.head_dim

    def per_image_params(self, d: int) -> int:
        return 0

    def kv_values_per_token(self) -> int:
        return 0

    def kv_values_per_image(self, vision) -> int:
        return 0

    def state_values(self) -> int:
        return self.num_heads * self.head_dim**2

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        return 4 * self.num_heads * self.head_dim**2

    # --- the roofline ---

    def step_cost(self, step: Step, site: MixerSite) -> Cost:
        """Its state read and written once per step; per token row a rank-one update
        written and read once, 2 FLOPs per state value each (the decay is one multiply)."""
        state = step.batch * self.state_values() * step.dtype_bytes
        flops = step.rows * 2 * 2 * self.num_heads * self.head_dim**2
        return step.projections(self, site.d_model) + Cost(cache_bytes=2 * state, flops=flops)

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "num_heads", "head_dim", "block_size", "norm_eps")

    def explored(self, shrink: Shrinker) -> LightningAttention:
        return replace(self, num_heads=min(self.num_heads, shrink.max_heads), head_dim=shrink.head_dim(self.head_dim))

    @classmethod
    def palette_default(cls, d_model: int, heads: int, head_dim: int,
                        rope_theta: float | None) -> LightningAttention:
        """The model's own attention heads, as MiniMax-M1 keeps them."""
        return cls(num_heads=heads, head_dim=head_dim)

    # --- words ---

    def box_lines(self) -> list[str]:
        return [f"{self.num_heads} heads · dim {self.head_dim}",
                f"block {self.block_size} · decay per head", "linear · constant state"]

    def label(self, say_global: bool = False) -> str:
        return "lightning attention"  # a common noun in a phrase: "MoE lightning attention"

    def describe(self) -> str:
        return "Lightning attention"

    pattern_label: ClassVar[str] = "Lightning attention"
