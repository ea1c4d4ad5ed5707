"""What a piece of one forward step moves and computes, and the shape of that step.

The roofline (`roofline.py`) adds these up layer by layer; each mixer and feed-forward kind
says what its own part costs (their `step_cost`), so the vocabulary lives here, below both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .vision import VisionFrontEnd


@dataclass(frozen=True)
class Cost:
    """What a piece of a step moves and computes."""

    weight_bytes: int = 0
    cache_bytes: int = 0  # KV cache or recurrent state, read and written
    activation_bytes: int = 0
    flops: int = 0

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.cache_bytes + self.activation_bytes

    @property
    def intensity(self) -> float:
        """FLOPs per byte moved."""
        return self.flops / self.bytes if self.bytes else 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.weight_bytes + other.weight_bytes, self.cache_bytes + other.cache_bytes,
                    self.activation_bytes + other.activation_bytes, self.flops + other.flops)


@dataclass(frozen=True)
class Step:
    """The shape of the step being costed."""

    phase: str  # "prefill" | "decode"
    tokens: int  # new tokens per batch row
    context: int  # tokens already cached before the step
    batch: int
    dtype_bytes: int
    # bytes a projection's weight takes where it is not dtype_bytes: a low-bit matrix's codes
    # with their share of the group scales (0.625 for Q4_1), averaged over the part's matrices
    matrix_bytes: float | None = None

    @property
    def rows(self) -> int:
        """Token rows every projection multiplies."""
        return self.batch * self.tokens

    def matmul(self, params: int, width_in: int = 0, width_out: int = 0) -> Cost:
        """A projection (or several) of `params` weights applied to every token row: the
        weights read once, 2 FLOPs per weight per row, the row's input and output moved."""
        element = self.dtype_bytes if self.matrix_bytes is None else self.matrix_bytes
        return Cost(weight_bytes=round(params * element), flops=2 * self.rows * params,
                    activation_bytes=self.rows * (width_in + width_out) * self.dtype_bytes)

    def projections(self, mixer, d: int) -> Cost:
        """A mixer's own weights: its projections multiplied, its vectors (norms, biases,
        convolution taps, decay rates) only read."""
        vectors = mixer.vector_params(d)
        return Cost(weight_bytes=vectors * self.dtype_bytes) + self.matmul(mixer.params(d) - vectors, d, d)


@dataclass(frozen=True)
class MixerSite:
    """Where in the model a mixer runs, as far as its step cost depends on it."""

    d_model: int
    # Gemma 3n's KV-sharing layers: the cache window of the layer whose keys they read
    # (0: a full cache); None for a layer that computes its own keys
    source_window: int | None = None
    vision: VisionFrontEnd | None = None  # the image a cross-attention layer attends to
