"""Lightning attention (MiniMax-01 / M1's linear attention, and Ling 2.5 / 2.6's variant of it),
with everything the rest of ArchScope asks of it. Its torch module is `app/model/lightning.py`."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Literal

from ..checks import Checker, at
from ..cost import Cost, MixerSite, Step
from ..parts import Rope

if TYPE_CHECKING:
    from ..scale import Shrinker


@dataclass(frozen=True)
class LightningAttention:
    """Lightning attention: linear attention with a per-head decay, computed blockwise;
    constant-size state. The decay rate of head h in layer l of L is an ALiBi slope fading
    with depth (`decay` says which formula).

    MiniMax-01 / M1 (the defaults): SiLU'd q, k, v, no positions, unscaled q.k, one RMSNorm
    over all heads' outputs. Ling 2.5 / 2.6 (inclusionAI's BailingMoeV2_5LinearAttention):
    plain q, k, v, per-head RMSNorm of q and k, partial RoPE (halves), q.k times
    head_dim ** -0.5 (fla's simple_gla default), the output RMSNorm taken in `norm_groups`
    groups, and its own decay formula."""

    kind: ClassVar[str] = "lightning"
    attends_to_context: ClassVar[bool] = False
    recurrent: ClassVar[bool] = True
    cache_window: ClassVar[int] = 0
    is_local: ClassVar[bool] = False
    canvas_style: ClassVar[str] = "linear"
    point_kind: ClassVar[str] = "linear mixer"
    title: ClassVar[str] = "Lightning attention"
    num_heads: int
    head_dim: int
    block_size: int = 256  # tokens per block of the blockwise prefill (MiniMax config block_size)
    norm_eps: float = 1e-6  # RMSNorm over all heads' output, before the sigmoid gate
    # The output RMSNorm's groups: the num_heads * head_dim outputs are normalized in this
    # many equal groups (Ling's group_norm_size), each with its own mean square; 1: one norm.
    norm_groups: int = 1
    qkv_activation: Literal["silu", "none"] = "silu"  # MiniMax SiLUs q, k, v; Ling does not
    qk_norm: bool = False  # Ling: an RMSNorm of head_dim channels (one scale for all heads) on q and k
    rope: Rope | None = None  # Ling: partial RoPE (halves) on q and k after their norm; None: no positions
    scaled: bool = False  # Ling: q.k times head_dim ** -0.5; MiniMax leaves it unscaled
    # How the per-head decay rate s_h (state times exp(-s_h) per token) is formed, for head h of
    # H in layer l of L:
    # "minimax": 2 ** (-8 (h + 1) / H) * (1 - l / (L - 1 + 1e-5) + 1e-5) (transformers' MiniMax);
    # "alibi": ALiBi's slopes (power-of-two head counts as above; otherwise the nearest power
    #   of two's slopes, then every other slope of twice as many) * (1 - (l - 1) / (L - 1) + 1e-5)
    #   (Ling's build_slope_tensor, the Lightning Attention-2 code, and its layer offset by one).
    decay: Literal["minimax", "alibi"] = "minimax"

    @property
    def position_kind(self) -> str:
        return "RoPE" if self.rope is not None else ""

    # --- the analysis ---

    def params(self, d: int) -> int:
        width = self.num_heads * self.head_dim
        # qkv, output gate, output norm, out; the q and k norms
        return d * 3 * width + d * width + width + width * d + self._qk_norm_params()

    def _qk_norm_params(self) -> int:
        return 2 * self.head_dim if self.qk_norm else 0

    def vector_params(self, d: int) -> int:
        """The output norm and the q and k norms."""
        return self.num_heads * self.head_dim + self._qk_norm_params()

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
        check.positive(self, path, "num_heads", "head_dim", "block_size", "norm_eps", "norm_groups")
        width = self.num_heads * self.head_dim
        if isinstance(self.norm_groups, int) and self.norm_groups > 0 and isinstance(width, int) \
                and width % self.norm_groups:
            check.add(at(path, "norm_groups"), f"{self.norm_groups} groups do not divide the {width} outputs "
                      "(num_heads x head_dim) into equal groups")
        for name, allowed in (("qkv_activation", ("silu", "none")), ("decay", ("minimax", "alibi"))):
            if getattr(self, name) not in allowed:
                check.add(at(path, name), f"expected one of {', '.join(allowed)}, found {getattr(self, name)!r}")
        if self.rope is not None:
            check.rope(self.rope, at(path, "rope"), self.head_dim)

    def explored(self, shrink: Shrinker) -> LightningAttention:
        heads, head_dim = min(self.num_heads, shrink.max_heads), shrink.head_dim(self.head_dim)
        # groups of whole heads, as the published ones are (Ling: 64 heads in 8 groups)
        groups = math.gcd(self.norm_groups, heads) if self.num_heads % self.norm_groups == 0 else 1
        return replace(self, num_heads=heads, head_dim=head_dim, norm_groups=groups,
                       rope=shrink.rope(self.rope, self.head_dim, head_dim))

    @classmethod
    def palette_default(cls, d_model: int, heads: int, head_dim: int,
                        rope_theta: float | None) -> LightningAttention:
        """The model's own attention heads, as MiniMax-M1 keeps them."""
        return cls(num_heads=heads, head_dim=head_dim)

    # --- words ---

    def box_lines(self) -> list[str]:
        extras = [part for part, on in (("QK-norm", self.qk_norm), ("RoPE", self.rope is not None),
                                        (f"{self.norm_groups} norm groups", self.norm_groups > 1)) if on]
        return [f"{self.num_heads} heads · dim {self.head_dim}",
                f"block {self.block_size} · decay per head" + "".join(f" · {part}" for part in extras),
                "linear · constant state"]

    def label(self, say_global: bool = False) -> str:
        return "lightning attention"  # a common noun in a phrase: "MoE lightning attention"

    def describe(self) -> str:
        return "Lightning attention"

    pattern_label: ClassVar[str] = "Lightning attention"
