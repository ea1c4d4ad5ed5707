"""Feed-forward networks, one module per kind, and the registry everything else
dispatches through (see `app/spec/mixers` for the same arrangement of token mixers)."""

from __future__ import annotations

from .mlp import MLP, Activation
from .moe import MoE, Router, expected_experts_reached

FeedForward = MLP | MoE
FEED_FORWARD_TYPES: tuple[type, ...] = (MLP, MoE)
FFN_KINDS: dict[str, type] = {kind.kind: kind for kind in FEED_FORWARD_TYPES}

# What every feed-forward kind answers for itself, in its own class body.
FFN_ANSWERS = ("kind", "params", "active_params", "reads_residual", "point_kind", "step_cost", "check",
               "explored", "title", "box_lines", "label", "describe", "canvas_style")


def known_ffn(ffn):
    """The feed-forward itself, or TypeError naming it when it is no kind this version knows."""
    if not isinstance(ffn, FEED_FORWARD_TYPES):
        raise TypeError(f"unknown feed-forward {type(ffn).__name__}: expected one of "
                        f"{', '.join(kind.__name__ for kind in FEED_FORWARD_TYPES)}")
    return ffn


__all__ = ["MLP", "MoE", "Router", "Activation", "FeedForward", "FEED_FORWARD_TYPES", "FFN_KINDS", "FFN_ANSWERS",
           "known_ffn", "expected_experts_reached"]
