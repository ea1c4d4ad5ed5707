"""Compressed convolutional attention (CCA, Zyphra's ZAYA1), with everything the rest of
ArchScope asks of it. Its torch module is `app/model/cca.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from ..checks import Checker, at
from ..cost import Cost, MixerSite, Step
from ..parts import Rope, theta_text

if TYPE_CHECKING:
    from ..scale import Shrinker


@dataclass(frozen=True)
class CompressedConvAttention:
    """CCA (Figliolia et al., 2025, "Compressed Convolutional Attention", arXiv 2510.04476),
    as ZAYA1 runs it: softmax attention in a space narrower than the model (ZAYA1-8B: 8
    query heads x 128 = 1024 of 2048), whose queries and keys are first mixed over the last
    few tokens by two causal convolutions, a depthwise one (kernel `depthwise_kernel`,
    cca_time0) then one per head (kernel `grouped_kernel`, cca_time1), each added to a
    residual of the projections (the query and its group's key averaged). Half of each
    token's value channels come from the token, half from the token before it. Queries and
    keys are L2-normalized to length sqrt(head_dim), the keys times a learned temperature
    per key/value head, then rotated (partial RoPE). Grouped as GQA.

    The cache holds keys and values per token as GQA's does, and beside them a constant
    state: the last (depthwise_kernel - 1) + (grouped_kernel - 1) projected q/k inputs of
    the convolutions and the previous token's delayed value half."""

    kind: ClassVar[str] = "cca"
    attends_to_context: ClassVar[bool] = True
    recurrent: ClassVar[bool] = False
    canvas_style: ClassVar[str] = "attention"
    title: ClassVar[str] = "Compressed convolutional attention"
    num_heads: int
    num_kv_heads: int
    head_dim: int
    rope: Rope | None = None
    sliding_window: int = 0  # ZAYA's "hybrid_sliding" layers; 0: global
    depthwise_kernel: int = 2  # cca_time0
    grouped_kernel: int = 2  # cca_time1
    bias: bool = False  # attention_bias: q, k, both value halves and the output projection

    # --- derived facts ---

    @property
    def cache_window(self) -> int:
        return self.sliding_window

    @property
    def is_local(self) -> bool:
        return bool(self.sliding_window)

    @property
    def position_kind(self) -> str:
        if self.rope is None:
            return "NoPE"
        return "partial RoPE" if self.rope.rotary_dim < self.head_dim else "RoPE"

    @property
    def conv_channels(self) -> int:
        """The queries' and keys' channels, which the convolutions mix."""
        return (self.num_heads + self.num_kv_heads) * self.head_dim

    @property
    def conv_history(self) -> int:
        """Earlier tokens the two stacked convolutions reach back to (their state)."""
        return (self.depthwise_kernel - 1) + (self.grouped_kernel - 1)

    @property
    def kv_width(self) -> int:
        return self.num_kv_heads * self.head_dim

    # --- the analysis ---

    def params(self, d: int) -> int:
        q, kv = self.num_heads * self.head_dim, self.kv_width
        channels = self.conv_channels
        projections = d * (q + 2 * kv) + q * d  # q, k, the two value halves; o
        biases = (q + 2 * kv + d) if self.bias else 0
        # depthwise: one tap per channel and kernel step; grouped: each head's channels mixed
        # with all of that head's channels at each kernel step; both with a bias
        convolutions = channels * self.depthwise_kernel + channels * self.head_dim * self.grouped_kernel + 2 * channels
        return projections + biases + convolutions + self.num_kv_heads  # + the key temperatures

    def vector_params(self, d: int) -> int:
        """Biases (projections' and the convolutions'), the depthwise taps and the key
        temperatures; the grouped convolution multiplies like a projection."""
        q, kv = self.num_heads * self.head_dim, self.kv_width
        biases = (q + 2 * kv + d) if self.bias else 0
        return biases + self.conv_channels * (self.depthwise_kernel + 2) + self.num_kv_heads

    def per_image_params(self, d: int) -> int:
        return 0

    def kv_values_per_token(self) -> int:
        return 2 * self.kv_width

    def kv_values_per_image(self, vision) -> int:
        return 0

    def state_values(self) -> int:
        """The convolutions' input history (transformers' conv_states) and the previous
        token's delayed value half (its recurrent_states)."""
        return self.conv_channels * self.conv_history + self.kv_width // 2

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        seen = min(context_len, self.sliding_window) if self.sliding_window else context_len
        return 2 * self.num_heads * 2 * self.head_dim * seen

    # --- the roofline ---

    @property
    def point_kind(self) -> str:
        return "sliding window" if self.sliding_window else "attention"

    def step_cost(self, step: Step, site: MixerSite) -> Cost:
        """As GQA's cache (the new keys stored, every visible key read back), plus the
        constant state read and written once; the depthwise taps' 2 FLOPs per channel, tap
        and row beside the projections."""
        window = self.sliding_window
        per_token = step.batch * self.kv_values_per_token() * step.dtype_bytes
        new = step.tokens
        if window:
            keys = min(step.context, window) + new
            cache = per_token * (min(step.context, window) + min(new, window))
        else:
            keys = step.context + new
            cache = per_token * (keys + new)
        state = 2 * step.batch * self.state_values() * step.dtype_bytes
        flops = (2 * step.rows * self.num_heads * 2 * self.head_dim * keys
                 + 2 * step.rows * self.conv_channels * self.depthwise_kernel)
        return step.projections(self, site.d_model) + Cost(cache_bytes=cache + state, flops=flops)

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "num_heads", "num_kv_heads", "head_dim", "depthwise_kernel", "grouped_kernel")
        check.non_negative(self, path, "sliding_window")
        check.divides(path, "num_kv_heads", self.num_kv_heads, "num_heads", self.num_heads)
        if isinstance(self.head_dim, int) and isinstance(self.num_kv_heads, int) and self.kv_width % 2:
            check.add(at(path, "head_dim"), f"key/value width {self.kv_width} is odd; CCA splits each token's "
                      "values into a current and a delayed half")
        if self.rope is not None:
            check.rope(self.rope, at(path, "rope"), self.head_dim)

    def explored(self, shrink: Shrinker) -> CompressedConvAttention:
        heads, kv = shrink.heads(self.num_heads, self.num_kv_heads)
        head_dim = shrink.head_dim(self.head_dim)
        return replace(self, num_heads=heads, num_kv_heads=kv, head_dim=head_dim,
                       rope=shrink.rope(self.rope, self.head_dim, head_dim),
                       sliding_window=shrink.window(self.sliding_window))

    @classmethod
    def palette_default(cls, d_model: int, heads: int, head_dim: int,
                        rope_theta: float | None) -> CompressedConvAttention:
        """ZAYA1's proportions: queries half the model's width, 4 query heads per key/value
        head, RoPE on half of each head."""
        head_dim = head_dim if head_dim % 2 == 0 else head_dim + 1
        width_heads = max(1, d_model // 2 // head_dim)
        kv = max(1, width_heads // 4)
        heads = kv * max(1, width_heads // kv)
        theta = rope_theta or 5_000_000.0
        return cls(num_heads=heads, num_kv_heads=kv, head_dim=head_dim, rope=Rope(theta, head_dim // 2 // 2 * 2))

    # --- words ---

    @property
    def grouping(self) -> str:
        kv, heads = self.num_kv_heads, self.num_heads
        return "MHA" if kv == heads else "MQA" if kv == 1 else "GQA"

    def box_lines(self) -> list[str]:
        heads = f"{self.num_heads} heads · {self.num_kv_heads} KV · dim {self.head_dim}"
        if self.rope is None:
            positions = "NoPE"
        elif self.rope.rotary_dim < self.head_dim:
            positions = f"partial RoPE {self.rope.rotary_dim}/{self.head_dim}"
        else:
            positions = f"RoPE θ {theta_text(self.rope.theta)}"
        extras = [f"q/k conv {self.depthwise_kernel}+{self.grouped_kernel}", "L2 QK-norm · key temperature"]
        if self.sliding_window:
            extras.insert(0, f"window {self.sliding_window}")
        return [heads, positions, " · ".join(extras)]

    def label(self, say_global: bool = False) -> str:
        name = f"CCA {self.grouping}"
        if self.sliding_window:
            return f"sliding-window {name}"
        return f"global {name}" if say_global else name

    def describe(self) -> str:
        text = f"CCA {self.grouping} {self.num_heads}/{self.num_kv_heads}x{self.head_dim}"
        if self.sliding_window:
            text += f" sliding {self.sliding_window}"
        return text

    headline = describe  # the catalog's attention column

    @property
    def pattern_label(self) -> str:
        return f"CCA sliding {self.sliding_window}" if self.sliding_window else "CCA"
