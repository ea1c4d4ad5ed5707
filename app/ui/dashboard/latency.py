"""Per-layer latency: the latest step's time per layer split into mixer (attention) and
feed-forward, outlined by the roofline's least time where the run had the device's roofs,
and a layers x steps heatmap of the run so far."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from .. import theme
from .plots import (
    LEGEND_HEADROOM,
    Note,
    PlotView,
    add_legend,
    bar_values,
    colour,
    empty,
    forget_ranges,
    hold_range,
    layer_kinds,
    nice_ceiling,
    pen,
    styled_plot,
    values,
    xs,
)
from .record import RunRecord

BAR_WIDTH = 0.8
HEAT_PERCENTILE = 95  # of the decode steps' layer times: the heatmap's darkest colour
BAR_SCALE_PATIENCE = 8  # refreshes in a row below a third of the scale before it shrinks
OTHER = "norm"  # what a layer spends outside its mixer and feed-forward: norms, residual adds
HEAT_MAP = pg.ColorMap([0.0, 0.35, 0.7, 1.0], ["#f7f8fa", "#9ec0ec", colour("attention"), "#14264a"])


class LatencyView(PlotView):
    title, object_name, slug = "Layer latency", "latencyDock", "latency"

    def __init__(self):
        super().__init__()
        self.bars_plot = styled_plot(self.layout, 0, "layer", "time per layer", y_units="ms", whole_numbers="x")
        self.legend = add_legend(self.bars_plot)
        self._titled = [self.bars_plot]
        no_pen = pg.mkPen(None)
        # One item per series, every bar in it: a 61-layer refresh is three setOpts calls.
        self.total = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=theme.KIND_COLOURS[OTHER][0],
                                     pen=pg.mkPen(colour(OTHER), width=1), name="layer")
        self.mixer = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH * 0.7, brush=colour("attention"), pen=no_pen,
                                     name="mixer")
        self.ffn = pg.BarGraphItem(x=[], y0=[], height=[], width=BAR_WIDTH * 0.7, brush=colour("ffn"), pen=no_pen,
                                   name="FFN / MoE")
        # The roofline's least time per layer, unfilled over the measured bar (solid: dashed is
        # another run's); its legend entry
        # comes and goes with it (a run without roofs has no prediction).
        self.predicted = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=None,
                                         pen=pg.mkPen(theme.TEXT, width=1.5))
        for item in (self.total, self.mixer, self.ffn, self.predicted):
            self.bars_plot.addItem(item)
        self.overlay_curve = self.bars_plot.plot(pen=pen(theme.TEXT, dashed=True, width=1.5), symbol="t",
                                                 symbolSize=6, symbolBrush=theme.TEXT, symbolPen=None)
        self.bars_note = Note(self.bars_plot)

        self.heat_plot = styled_plot(self.layout, 1, "step", "layer", whole_numbers="xy")
        self.heat_plot.setLabel("left", "layer", color=theme.MUTED_TEXT)
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat_plot.addItem(self.heat)
        self.heat_bar = pg.ColorBarItem(colorMap=HEAT_MAP, interactive=False, values=(0, 1), label="ms", width=14)
        self.heat_bar.setImageItem(self.heat, insert_in=self.heat_plot)
        self.heat_bar.axis.enableAutoSIPrefix(False)  # relabels the bar on every change otherwise
        self._top = 0.0
        self._phase: str | None = None  # of the step the bars show
        self._record: RunRecord | None = None
        self._brushes: tuple[list, list] = ([], [])

    def _kinds_for(self, record: RunRecord) -> None:
        if record is self._record:
            return
        self._record = record
        forget_ranges(self.bars_plot)  # the last run's spikes do not scale this one
        mixers, ffns = layer_kinds(record)
        self._brushes = ([pg.mkBrush(colour(kind)) for kind in mixers], [pg.mkBrush(colour(kind)) for kind in ffns])
        # The legend's swatch shows the kind most layers have (MLA violet, MoE rose, ...).
        for item, kinds, default in ((self.mixer, mixers, "attention"), (self.ffn, ffns, "ffn")):
            item.setOpts(brush=colour(max(set(kinds), key=kinds.count) if kinds else default))

    def show(self, record: RunRecord) -> None:
        self._kinds_for(record)
        last = record.steps[-1] if record.steps else {}
        if last.get("phase") != self._phase:
            # a prefill's layers take many decode steps' time: the first decode step
            # scales the bars afresh, or they would sit at the bottom of its scale
            self._phase = last.get("phase")
            forget_ranges(self.bars_plot)
        layer_ms = last.get("layer_ms") or []
        if layer_ms:
            x = np.arange(len(layer_ms), dtype=float)
            mixer = np.asarray(last.get("mixer_ms") or [0.0] * len(x), dtype=float)
            ffn = np.asarray(last.get("ffn_ms") or [0.0] * len(x), dtype=float)
            self.total.setOpts(x=x, height=np.asarray(layer_ms, dtype=float))
            mixer_brushes, ffn_brushes = self._brushes
            self.mixer.setOpts(x=x, height=mixer, brushes=mixer_brushes if len(mixer_brushes) == len(x) else None)
            self.ffn.setOpts(x=x, y0=mixer, height=ffn, brushes=ffn_brushes if len(ffn_brushes) == len(x) else None)
            predicted = last.get("predicted_ms") or []
            self._show_predicted(predicted if len(predicted) == len(layer_ms) else [])
            # A step the OS or the window interrupted spikes a layer; the scale waits it out.
            hold_range(self.bars_plot, "y", max(layer_ms + predicted) * LEGEND_HEADROOM, patience=BAR_SCALE_PATIENCE)
            self.bars_note.set("")
        else:
            self._empty_bars()
            self.bars_note.set("per-layer times need the probe on" if record.steps else "")
        matrix = record.layer_ms_matrix()
        if matrix is not None:
            image = matrix.T  # layers x steps: layers up the y axis
            decode = record.decode_mask()
            # The prefill step is many times a decode step, and now and then the OS or the
            # window holds up one layer of a step: scale colours to the decode steps' 95th
            # percentile so that the layers' usual differences show; the outliers saturate.
            top = nice_ceiling(float(np.percentile(image[:, decode] if decode.any() else image, HEAT_PERCENTILE)))
            self.heat.setImage(image, autoLevels=False, levels=(0.0, top))
            self.heat.setRect(QRectF(-0.5, -0.5, image.shape[1], image.shape[0]))
            if top != self._top:
                self._top = top
                self.heat_bar.setLevels((0.0, top))
            hold_range(self.heat_plot, "x", record.step_span(), low=-0.5)
        else:
            self.heat.clear()
        self.caption(record)

    def _show_predicted(self, predicted_ms: list[float]) -> None:
        self.predicted.setOpts(x=np.arange(len(predicted_ms), dtype=float),
                               height=np.asarray(predicted_ms, dtype=float))
        listed = self.legend.getLabel(self.predicted) is not None
        if predicted_ms and not listed:
            self.legend.addItem(self.predicted, "roofline")
        elif not predicted_ms and listed:
            self.legend.removeItem(self.predicted)

    def _empty_bars(self) -> None:
        self.total.setOpts(x=[], height=[])
        self.mixer.setOpts(x=[], height=[], brushes=None)
        self.ffn.setOpts(x=[], y0=[], height=[], brushes=None)
        self._show_predicted([])

    def overlay(self, record, primary) -> None:
        """The other run's latest step, per layer, as a dashed line over the bars."""
        self._overlay = record
        last = record.steps[-1].get("layer_ms") if record is not None and record.steps else None
        if last:
            self.overlay_curve.setData(np.arange(len(last), dtype=float), np.asarray(last, dtype=float))
        else:
            empty(self.overlay_curve)
        self.caption(primary)

    def clear(self) -> None:
        self._empty_bars()
        self.heat.clear()
        empty(self.overlay_curve)
        self.bars_note.set("")
        self._record = None
        self._top = 0.0
        self._phase = None
        self._overlay = None
        self.caption(None)

    def plotted(self) -> dict:
        image = self.heat.image
        return {
            "latency_layers": [int(v) for v in bar_values(self.total, "x")],
            "latency_bars": bar_values(self.total),
            "mixer_ms": bar_values(self.mixer),
            "ffn_ms": bar_values(self.ffn),
            "latency_predicted": bar_values(self.predicted),
            "latency_heatmap": [] if image is None else image.T.tolist(),  # steps x layers, as the record
            "latency_overlay": values(self.overlay_curve),
            "latency_overlay_layers": [int(v) for v in xs(self.overlay_curve)],
        }

    def has_data(self) -> bool:
        return self.heat.image is not None or bool(self.plotted()["latency_bars"])
