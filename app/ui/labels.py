"""Text of the drawn boxes and the summary: what each component is and its key
numbers, in the words of the article. Pure functions of spec data."""

from __future__ import annotations

from ..spec.ffn import known_ffn
from ..spec.mixers import known_mixer
from ..spec.parts import Norm


def norm_title(norm: Norm) -> str:
    if norm.kind == "layernorm":
        return "LayerNorm"
    if norm.kind == "l2":
        return "L2 norm"
    return "RMSNorm"


def mixer_text(mixer) -> tuple[str, list[str]]:
    """(title, detail lines) of a token-mixer box."""
    if mixer is None:
        return "No mixer", ["feed-forward-only block"]
    known_mixer(mixer)
    return mixer.title, mixer.box_lines()


def percent(fraction: float) -> str:
    """0.12 -> "12%"; below 1% one significant digit ("0.4%") rather than a bare "0%"."""
    return f"{fraction:.0%}" if fraction >= 0.01 else f"{100 * fraction:.1g}%"


def ffn_text(ffn) -> tuple[str, list[str]]:
    """(title, detail lines) of a feed-forward box."""
    if ffn is None:
        return "No feed-forward", ["mixer-only block"]
    known_ffn(ffn)
    return ffn.title, ffn.box_lines()
