"""LFM2's gated short convolution (Liquid AI's "double-gated LIV convolution"), with
everything the rest of ArchScope asks of it. Its torch module is
`app/model/gated_short_conv.py`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from ..checks import Checker
from ..cost import Cost, MixerSite, Step

if TYPE_CHECKING:
    from ..scale import Shrinker


@dataclass(frozen=True)
class GatedShortConv:
    """One input projection gives three parts B, C and x of `channels` each; B * x passes
    through a causal depthwise convolution of `kernel` taps (no activation), C gates its
    output, and an output projection returns to the model width. What it keeps between
    tokens is only the convolution's window: no KV cache, no recurrent state beyond it."""

    kind: ClassVar[str] = "gated_short_conv"
    attends_to_context: ClassVar[bool] = False
    recurrent: ClassVar[bool] = True  # a constant-size state: the last `kernel` inputs of each channel
    cache_window: ClassVar[int] = 0
    is_local: ClassVar[bool] = False
    position_kind: ClassVar[str] = ""
    canvas_style: ClassVar[str] = "linear"
    point_kind: ClassVar[str] = "linear mixer"
    title: ClassVar[str] = "Gated short convolution"
    # LFM2's conv_dim: transformers convolves hidden_size channels whatever the key says,
    # so its converter requires the two equal
    channels: int
    kernel: int = 3  # LFM2's conv_L_cache
    bias: bool = False  # LFM2's conv_bias: a bias on in_proj, the convolution and out_proj alike

    # --- the analysis ---

    def params(self, d: int) -> int:
        total = d * 3 * self.channels + self.channels * self.kernel + self.channels * d
        if self.bias:
            total += 3 * self.channels + self.channels + d
        return total

    def vector_params(self, d: int) -> int:
        """The convolution taps, and the biases where there are any."""
        biases = 3 * self.channels + self.channels + d if self.bias else 0
        return self.channels * self.kernel + biases

    def per_image_params(self, d: int) -> int:
        return 0

    def kv_values_per_token(self) -> int:
        return 0  # nothing grows with the context: the window below is all it keeps

    def kv_values_per_image(self, vision) -> int:
        return 0

    def state_values(self) -> int:
        """The convolution window of B * x, `kernel` inputs per channel, as transformers'
        LFM2 cache (conv_L_cache wide) and app/model/short_conv.py keep it."""
        return self.channels * self.kernel

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        # per channel: the convolution's kernel multiply-adds and the two gating products
        return self.channels * (2 * self.kernel + 2)

    # --- the roofline ---

    def step_cost(self, step: Step, site: MixerSite) -> Cost:
        """The window read and written once per step; per token row each channel's
        multiply-adds and its two gates."""
        state = step.batch * self.state_values() * step.dtype_bytes
        flops = step.rows * self.score_flops_per_token(0)
        return step.projections(self, site.d_model) + Cost(cache_bytes=2 * state, flops=flops)

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "channels", "kernel")

    def explored(self, shrink: Shrinker) -> GatedShortConv:
        channels = shrink.width if self.channels == shrink.d_model else shrink.multiple(self.channels * shrink.ratio)
        return replace(self, channels=channels)

    @classmethod
    def palette_default(cls, d_model: int, heads: int, head_dim: int,
                        rope_theta: float | None) -> GatedShortConv:
        """LFM2's proportions: the model's own width, three taps."""
        return cls(channels=d_model, kernel=3)

    # --- words ---

    def box_lines(self) -> list[str]:
        return [f"{self.channels} channels · kernel {self.kernel}", "B·x → depthwise conv → ·C",
                "short conv · constant state"]

    def label(self, say_global: bool = False) -> str:
        return "gated short conv"

    def describe(self) -> str:
        return f"gated conv k{self.kernel}"

    pattern_label: ClassVar[str] = "gated conv"
