"""Colours, fonts and sizes of the app: one palette entry per component kind, so a
MoE box looks the same on the canvas, in the palette and in the compare view."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont

from ..spec.ffn import known_ffn
from ..spec.mixers import known_mixer

# (fill, border) per kind; soft fills with a darker border of the same hue, readable
# with dark text in light mode.
KIND_COLOURS: dict[str, tuple[str, str]] = {
    "attention": ("#dbe8fb", "#3f74c9"),  # softmax attention: blue
    "sliding": ("#d8f0f4", "#2b8ea3"),  # windowed attention: teal
    "mla": ("#e6defa", "#6f4bc2"),  # latent attention: violet
    "linear": ("#fbe3cf", "#c46a1b"),  # linear / state-space mixers: orange
    "ffn": ("#dcf1dc", "#3b8f45"),  # dense feed-forward: green
    "moe": ("#fbe0e6", "#c23b5e"),  # mixture of experts: rose
    "norm": ("#f1ede0", "#9a8750"),  # normalization: sand
    "position": ("#fff4c2", "#b08d00"),  # positions, QK-norm: yellow
    "embedding": ("#e4e7ec", "#5b6472"),  # embedding, output head: slate
    "vision": ("#f9e4f5", "#a3439a"),  # vision encoder, projector, cross-attention: magenta
    "none": ("#f4f4f4", "#b0b0b0"),
}
CATEGORY_KIND = {"attention": "attention", "linear": "linear", "ffn": "ffn", "norm": "norm",
                 "position": "position"}

CANVAS_BACKGROUND = "#f7f8fa"
GROUP_FILL = "#ffffff"
GROUP_BORDER = "#aab2bf"
TEXT = "#1d2330"
MUTED_TEXT = "#5b6472"
RESIDUAL = "#7d8696"
HIGHLIGHT = "#e8590c"  # compare: a component that differs
DROP_OK = "#2f9e44"
DROP_REFUSED = "#e03131"
SELECTED = "#1c7ed6"
HEAT = "#d6336c"  # profile: a component's share of the step time, strongest for the largest


def mixer_kind(mixer) -> str:
    """The KIND_COLOURS entry of a mixer box; each mixer kind names its own (`canvas_style`)."""
    if mixer is None:
        return "none"
    try:
        return known_mixer(mixer).canvas_style
    except TypeError:
        raise TypeError(f"no canvas colour for the mixer {type(mixer).__name__}") from None


def ffn_kind(ffn) -> str:
    if ffn is None:
        return "none"
    try:
        return known_ffn(ffn).canvas_style
    except TypeError:
        raise TypeError(f"no canvas colour for the feed-forward {type(ffn).__name__}") from None


def fill(kind: str) -> QColor:
    return QColor(KIND_COLOURS.get(kind, KIND_COLOURS["none"])[0])


def border(kind: str) -> QColor:
    return QColor(KIND_COLOURS.get(kind, KIND_COLOURS["none"])[1])


def font(point_size: float = 9.0, bold: bool = False) -> QFont:
    result = QFont()
    result.setPointSizeF(point_size)
    result.setBold(bold)
    return result


STYLESHEET = """
QMainWindow, QDockWidget { font-size: 10pt; }
QDockWidget::title { padding: 4px 6px; background: #eceff3; font-weight: 600; }
QLabel#summaryValue { font-size: 12pt; font-weight: 600; color: #1d2330; }
QLabel#summaryCaption { font-size: 8pt; color: #5b6472; }
QFrame#summaryBar { background: #ffffff; border-bottom: 1px solid #d5dae1; }
QLabel#problem { color: #c92a2a; font-size: 8.5pt; }
QLabel#sectionTitle { font-weight: 600; color: #1d2330; padding-top: 6px; }
QTableWidget { gridline-color: #e3e6eb; }
"""
