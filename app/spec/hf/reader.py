"""Typed, forgiving-then-strict reading of a Hugging Face config.json.

Every accessor records what is wrong with a key and returns a harmless placeholder, so
one pass finds all problems; `finish()` then raises them together as a SpecError.
Both the published style (`rope_theta`, `rope_scaling`) and transformers 5's
`rope_parameters` are understood.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import Problem, SpecError
from ..limits import brief, too_large
from ..parts import Rope, RopeScaling

_MISSING = object()


class ConfigReader:
    def __init__(self, config: Any, prefix: str = ""):
        self.problems: list[Problem] = []
        self.prefix = prefix
        if not isinstance(config, dict):
            self.problems.append(Problem(prefix, f"expected a JSON object, found {type(config).__name__}"))
            config = {}
        self.config = config

    # --- scalars ------------------------------------------------------------------------

    def has(self, key: str) -> bool:
        return self.config.get(key) is not None

    def _get(self, key: str, default: Any) -> Any:
        value = self.config.get(key)
        if value is None:
            if default is _MISSING:
                self.problem(key, "missing required key")
            return _MISSING
        return value

    def problem(self, key: str, message: str) -> None:
        self.problems.append(Problem(f"{self.prefix}{key}", message))

    def int(self, key: str, default: Any = _MISSING, minimum: int = 1) -> int:
        """An integer at least `minimum` and within the key's bound (app/spec/limits.py);
        anything else is a problem and a small placeholder, so that nothing downstream
        (a list of num_hidden_layers layers) is ever made from an unchecked size."""
        value = self._get(key, default)
        if value is _MISSING:
            return default if default is not _MISSING else max(minimum, 1)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(key, f"expected an integer, found {brief(value)}")
            return max(minimum, 1)
        if value < minimum:
            self.problem(key, f"must be at least {minimum}, found {brief(value)}")
            return max(minimum, 1)
        if too_large(key, value):
            self.problem(key, too_large(key, value))
            return max(minimum, 1)
        return value

    def float(self, key: str, default: Any = _MISSING, positive: bool = False) -> float:
        value = self._get(key, default)
        if value is _MISSING:
            return default if default is not _MISSING else 1.0
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**1000:
            self.problem(key, f"expected a finite number, found {brief(value)}")  # float() would overflow
            return 1.0
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            self.problem(key, f"expected a number, found {brief(value)}")
            return 1.0
        if positive and value <= 0:
            self.problem(key, f"must be positive, found {value}")
            return 1.0
        return float(value)

    def bool(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, default)
        if value is _MISSING:
            return bool(default) if default is not _MISSING else False
        if not isinstance(value, bool):
            self.problem(key, f"expected true or false, found {brief(value)}")
            return False
        return value

    def str(self, key: str, default: Any = _MISSING, choices: tuple[str, ...] = ()) -> str:
        value = self._get(key, default)
        if value is _MISSING:
            return default if default is not _MISSING else (choices[0] if choices else "")
        if not isinstance(value, str):
            self.problem(key, f"expected a string, found {brief(value)}")
            return choices[0] if choices else ""
        if choices and value not in choices:
            self.problem(key, f"expected one of {', '.join(choices)}, found {brief(value)}")
            return choices[0]
        return value

    def str_list(self, key: str, length: int, choices: tuple[str, ...]) -> list[str] | None:
        """A per-layer list of names (layer_types, mlp_layer_types); None when absent."""
        value = self.config.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.problem(key, "expected a list of strings")
            return None
        if len(value) != length:
            self.problem(key, f"has {len(value)} entries, expected one per layer ({length})")
            return None
        bad = sorted({item for item in value if item not in choices})
        if bad:
            self.problem(key, f"unknown entries {bad}, expected {', '.join(choices)}")
            return None
        return value

    def int_list(self, key: str, length: int) -> list[int] | None:
        value = self.config.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            self.problem(key, "expected a list of integers")
            return None
        if any(too_large(key, v) for v in value):
            self.problem(key, next(too_large(key, v) for v in value if too_large(key, v)))
            return None
        if len(value) != length:
            self.problem(key, f"has {len(value)} entries, expected one per layer ({length})")
            return None
        return value

    def sub(self, key: str) -> ConfigReader:
        """A reader over a nested object, whose problems join this one's."""
        value = self.config.get(key)
        reader = ConfigReader(value if value is not None else {}, prefix=f"{self.prefix}{key}.")
        reader.problems = self.problems
        return reader

    # --- rotary positions ---------------------------------------------------------------

    def rope_parameters(self, layer_type: str | None = None) -> dict:
        """The rope dict for a layer type, from either config style."""
        params = self.config.get("rope_parameters")
        if params is None:
            params = self.config.get("rope_scaling")
        if params is not None and not isinstance(params, dict):
            self.problem("rope_parameters", f"expected an object, found {brief(params)}")
            params = None
        params = dict(params or {})
        if layer_type is not None and isinstance(params.get(layer_type), dict):
            params = dict(params[layer_type])
        elif layer_type is not None and any(isinstance(v, dict) for v in params.values()):
            self.problem("rope_parameters", f"has no entry for layer type {layer_type!r}")
            params = {}
        return params

    def rope(self, head_dim: int, layer_type: str | None = None, default_theta: float = 10000.0,
             theta_key: str = "rope_theta") -> Rope:
        params = self.rope_parameters(layer_type)
        sub = ConfigReader(params, prefix=f"{self.prefix}rope_parameters.")
        sub.problems = self.problems
        if "rope_theta" in params:
            theta = sub.float("rope_theta", positive=True)
        else:
            theta = self.float(theta_key, default_theta, positive=True)
        if "partial_rotary_factor" in params:
            factor = sub.float("partial_rotary_factor", positive=True)
        else:
            factor = self.float("partial_rotary_factor", 1.0, positive=True)
        rotary_dim = int(head_dim * factor)
        kind = params.get("rope_type", params.get("type", "default"))
        scaling = None
        if kind in ("linear", "llama3", "yarn"):
            scaling = RopeScaling(
                type=kind,
                factor=sub.float("factor", positive=True),
                original_max_position=sub.int(
                    "original_max_position_embeddings",
                    0 if kind == "linear" else self.int("max_position_embeddings", 0, minimum=0),
                    minimum=0),
                low_freq_factor=sub.float("low_freq_factor", 1.0),
                high_freq_factor=sub.float("high_freq_factor", 4.0),
                beta_fast=sub.float("beta_fast", 32.0),
                beta_slow=sub.float("beta_slow", 1.0),
                mscale=sub.float("mscale", 1.0),
                mscale_all_dim=sub.float("mscale_all_dim", 0.0),
                truncate=sub.bool("truncate", True),
                attention_factor=sub.float("attention_factor", 0.0) if kind == "yarn" else 0.0,
            )
        elif kind == "proportional":
            # Gemma 4: frequencies spaced over the whole head, only the fastest pairs turn;
            # transformers counts the turning pairs as int(factor * head_dim // 2).
            stretch = sub.float("factor", 1.0, positive=True)
            return Rope(theta=theta, rotary_dim=2 * int(factor * head_dim // 2), frequency_dim=head_dim,
                        scaling=RopeScaling("linear", stretch) if stretch != 1.0 else None)
        elif kind != "default":
            sub.problem("rope_type", f"unsupported rope type {brief(kind)}; expected default, linear, llama3, yarn "
                        "or proportional")
        return Rope(theta=theta, rotary_dim=rotary_dim, scaling=scaling)

    def finish(self) -> None:
        if self.problems:
            raise SpecError(self.problems)


def rope_to_parameters(rope: Rope, head_dim: int) -> dict:
    """The transformers 5 `rope_parameters` dict of one rope."""
    params: dict[str, Any] = {"rope_type": "default", "rope_theta": rope.theta}
    if rope.frequency_dim:
        params.update(rope_type="proportional", partial_rotary_factor=rope.rotary_dim / head_dim)
        if rope.scaling is not None:
            params["factor"] = rope.scaling.factor
        return params
    if rope.rotary_dim != head_dim:
        params["partial_rotary_factor"] = rope.rotary_dim / head_dim
    scaling = rope.scaling
    if scaling is not None:
        params["rope_type"] = scaling.type
        params["factor"] = scaling.factor
        if scaling.type == "llama3":
            params.update(low_freq_factor=scaling.low_freq_factor, high_freq_factor=scaling.high_freq_factor,
                          original_max_position_embeddings=scaling.original_max_position)
        elif scaling.type == "yarn":
            params.update(beta_fast=scaling.beta_fast, beta_slow=scaling.beta_slow, mscale=scaling.mscale,
                          mscale_all_dim=scaling.mscale_all_dim,
                          original_max_position_embeddings=scaling.original_max_position)
            if not scaling.truncate:
                params["truncate"] = False
            if scaling.attention_factor:
                params["attention_factor"] = scaling.attention_factor
    return params
