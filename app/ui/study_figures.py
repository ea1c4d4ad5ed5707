"""A study's figures drawn as the dashboard draws its plots (same axes, legend, palette),
to PNG for the report and the window, and to SVG for print.

Qt only: it draws the plain `Figure` data a study returns (app/studies/study.py) and needs
a QApplication (the CLI makes an offscreen one when there is no display).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem
from PySide6.QtGui import QPainter

from ..studies.study import Figure
from . import theme
from .dashboard.plots import pen, styled_plot

FIGURE_SIZE = (900, 540)  # pixels: a report's column at 2x on a laptop screen
# One hue per arm, in the order the study lists them; the predicted twin of an arm is its
# hue dashed.
ARM_COLOURS = ("#3f74c9", "#c23b5e", "#3b8f45", "#c46a1b", "#6f4bc2", "#2b8ea3", "#9a8750")


def figure_widget(figure: Figure) -> pg.GraphicsLayoutWidget:
    widget = pg.GraphicsLayoutWidget()
    widget.setBackground(theme.CANVAS_BACKGROUND)
    widget.resize(*FIGURE_SIZE)
    plot = styled_plot(widget.ci, 0, figure.x_label, figure.y_label)
    plot.setTitle(figure.title, color=theme.TEXT, size="11pt")
    plot.setLogMode(x=figure.log_x, y=figure.log_y)
    if figure.log_x:  # ticks at the measured points, as people name them: 512, 2k, 128k
        measured = sorted({x for series in figure.series for x in series.x if x > 0})
        plot.getAxis("bottom").setTicks([[(math.log10(x), _short(x)) for x in measured]])
    legend = plot.addLegend(offset=(10, 10), labelTextColor=theme.TEXT, brush=(255, 255, 255, 200))
    hues: dict[str, str] = {}
    for series in figure.series:
        arm = series.label.removesuffix(" predicted")
        hue = hues.setdefault(arm, ARM_COLOURS[len(hues) % len(ARM_COLOURS)])
        # One legend entry per arm; its predicted twin shares its hue, dashed, and one entry
        # says so for all of them (half the entries, so the legend covers less of the lines).
        plot.plot(np.asarray(series.x, dtype=float), np.asarray(series.y, dtype=float),
                  name=None if series.predicted else series.label,
                  pen=pen(hue, dashed=series.predicted), symbol=None if series.predicted else "o", symbolSize=6,
                  symbolBrush=hue, symbolPen=None)
    if any(series.predicted for series in figure.series):
        legend.addItem(pg.PlotDataItem(pen=pen(theme.TEXT, dashed=True)), "dashed: predicted (roofline or analysis)")
    return widget


def _short(x: float) -> str:
    return f"{x / 1024:g}k" if x >= 1024 and x % 1024 == 0 else f"{x:g}"


def render_figure(figure: Figure, path: Path) -> None:
    """Draw `figure` to `path`: PNG or SVG by its suffix."""
    widget = figure_widget(figure)
    image = widget.grab()  # also lays the plot out at its size
    if path.suffix.lower() == ".svg":
        _render_svg(widget, path, figure.title)
    elif not image.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    widget.close()


def _render_svg(widget: pg.GraphicsLayoutWidget, path: Path, title: str) -> None:
    """The scene painted into an SVG generator, its text and lines as vectors: the axes and
    legend the dashboard caches as pixmaps are drawn afresh for it."""
    cached = [item for item in widget.scene().items() if item.cacheMode() != QGraphicsItem.NoCache]
    for item in cached:
        item.setCacheMode(QGraphicsItem.NoCache)
    width, height = widget.width(), widget.height()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(width, height))
    generator.setViewBox(QRectF(0, 0, width, height))
    generator.setTitle(title)
    painter = QPainter(generator)
    widget.scene().render(painter, QRectF(0, 0, width, height), QRectF(widget.rect()))
    painter.end()
