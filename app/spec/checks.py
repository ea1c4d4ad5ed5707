"""The vocabulary of validation: a checker that records each broken rule at its field
path. `validation.py` walks the spec; each mixer and feed-forward kind checks its own
fields with it (their `check`)."""

from __future__ import annotations

import math

from .errors import Problem
from .parts import Norm, Rope


def at(path: str, name: str) -> str:
    """The field path of `name` inside `path` ("layers[3].mixer" + "rope")."""
    return f"{path}.{name}" if path else name


class Checker:
    def __init__(self, d_model: int = 0):
        self.problems: list[Problem] = []
        # the model's width, for the rules that compare a part's width with it (0: unknown)
        self.d_model = d_model if isinstance(d_model, int) else 0

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def positive(self, obj, path: str, *names: str) -> None:
        for name in names:
            value = getattr(obj, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                self.add(at(path, name), f"must be positive, found {value!r}")

    def non_negative(self, obj, path: str, *names: str) -> None:
        for name in names:
            value = getattr(obj, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                self.add(at(path, name), f"must be zero or positive, found {value!r}")

    def finite(self, obj, path: str, *names: str) -> None:
        for name in names:
            value = getattr(obj, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                self.add(at(path, name), f"must be a finite number, found {value!r}")

    def divides(self, path: str, name: str, divisor: int, what: str, dividend: int) -> None:
        if divisor > 0 and dividend > 0 and dividend % divisor:
            self.add(at(path, name), f"{divisor} does not divide {what} {dividend}")

    def norm(self, norm: Norm, path: str) -> None:
        self.positive(norm, path, "eps")
        if norm.kind != "layernorm" and norm.bias:
            self.add(at(path, "bias"), f"only a layernorm has a bias, this is {norm.kind}")

    def rope(self, rope: Rope, path: str, head_dim: int) -> None:
        self.positive(rope, path, "theta", "rotary_dim")
        if rope.rotary_dim % 2:
            self.add(at(path, "rotary_dim"), f"must be even, found {rope.rotary_dim}")
        if head_dim > 0 and rope.rotary_dim > head_dim:
            self.add(at(path, "rotary_dim"), f"{rope.rotary_dim} exceeds the head dimension {head_dim}")
        if rope.frequency_dim and rope.frequency_dim != head_dim:
            self.add(at(path, "frequency_dim"), f"proportional RoPE spans the whole head ({head_dim}), "
                     f"found {rope.frequency_dim}")
        if rope.frequency_dim and rope.scaling is not None and rope.scaling.type != "linear":
            self.add(at(path, "scaling.type"), f"proportional RoPE takes a plain factor (linear), "
                     f"found {rope.scaling.type}")
        if rope.scaling is not None:
            scaling_path = at(path, "scaling")
            self.positive(rope.scaling, scaling_path, "factor")
            if rope.scaling.type in ("llama3", "yarn"):
                self.positive(rope.scaling, scaling_path, "original_max_position")
