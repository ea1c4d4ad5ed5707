"""The roofline: what one step of a model must move and compute, and the fastest a device
could do it.

A step (a prefill of T tokens, or a decode step at context C, at batch B) costs each
layer the bytes it must read or write -- its weights (for an MoE layer only the experts the
batch's tokens reach), its KV cache or recurrent state, and its activations -- and the
FLOPs it must perform. A device has two roofs, measured by `archscope calibrate`: the
bandwidth at which it streams memory and the rate at which it multiplies. The step can go no
faster than the slower of bytes / bandwidth and FLOPs / rate; how close a measured time
comes to that is the fraction of roofline.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Roofs:
    """One device's measured limits for one dtype (see app/runtime/calibrate.py)."""

    device: str  # what was measured: the GPU's name, or the CPU's model
    dtype: str  # "float32" | "bfloat16" | "float16": the matmuls' element type
    bandwidth_bytes_per_s: float  # streaming reads from memory
    flops_per_s: float  # dense matmul throughput in this dtype
    threads: int = 0  # CPU threads the measurement used (0 on a GPU)
    measured: str = ""  # ISO-8601 time of the calibration

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(document: dict) -> Roofs:
        return Roofs(**{name: document[name] for name in Roofs.__dataclass_fields__ if name in document})

    @property
    def ridge_intensity(self) -> float:
        """FLOPs per byte where the two roofs meet: below it a step is bound by memory."""
        return self.flops_per_s / self.bandwidth_bytes_per_s


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


def predict_ms(row: Cost, roofs: Roofs) -> float:
    """The least time the device needs for this row: bound by memory or by arithmetic."""
    return max(row.bytes / roofs.bandwidth_bytes_per_s, row.flops / roofs.flops_per_s) * 1e3


# The kinds a roofline chart draws one point for: a layer's mixer and feed-forward parts,
# and the model-level rows.
MIXER_POINT_KINDS = ("attention", "sliding window", "MLA", "sparse MLA", "linear mixer", "cross-attention")
FFN_POINT_KINDS = ("dense MLP", "MoE")
MODEL_POINT_KINDS = ("embedding", "head", "sampling")


@dataclass(frozen=True)
class CostRow(Cost):
    """One row of a step: a layer (its totals, and its mixer and feed-forward parts as the
    probe times them), or the embedding lookup, the output head or sampling."""

    name: str = ""  # "layer 3" | "embedding" | "head" | "sampling"
    layer: int | None = None  # the layer's index; None for the model-level rows
    kind: str = ""  # a model-level row's point kind; "layer" for a layer
    mixer_kind: str = ""  # one of MIXER_POINT_KINDS, "" when the layer has no mixer
    mixer: Cost = Cost()
    ffn_kind: str = ""  # one of FFN_POINT_KINDS, "" when the layer has no feed-forward
    ffn: Cost = Cost()
