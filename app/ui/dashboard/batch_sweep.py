"""Batch sweep: decode time per token, whole and per layer kind, against the batch size,
with the roofline's prediction dashed in the same colour; and the memory it takes.

Both axes of the time plot are logarithmic: while a layer kind is bound by memory, its
time per token halves as the batch doubles (a line falling at slope -1); where it turns
bound by arithmetic the line flattens. A dense MLP flattens early; an MoE layer, reaching
more experts with every larger batch, keeps falling slower and flattens late."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from .. import theme
from .plots import AXIS_PEN, PlotView, add_legend, byte_unit, colour, empty, nice_ceiling, pen, styled_plot
from .record import BatchSweepRecord

# The roofline's point kinds drawn in the canvas colour of the component they measure.
POINT_KIND_THEME = {"attention": "attention", "sliding window": "sliding", "MLA": "mla", "sparse MLA": "mla",
                    "linear mixer": "linear", "cross-attention": "vision", "dense MLP": "ffn", "MoE": "moe"}
WHOLE_STEP = "whole step"
NO_ROOFS = "measured only: calibrate for roofs"
X_MARGIN = 0.35  # log2 units beside the first and last batch, so their markers are whole


def _series(values: list) -> np.ndarray:
    return np.asarray([math.nan if value is None else value for value in values], dtype=float)


class BatchSweepView(PlotView):
    title, object_name, slug = "Batch sweep", "batchSweepDock", "batch-sweep"
    row_weights = (3, 2)  # the times are the point of the plot

    def __init__(self):
        super().__init__()
        self.time_plot = styled_plot(self.layout, 0, "batch size", "per token", y_units="ms")
        self.time_plot.setLogMode(x=False, y=True)
        self.memory_plot = styled_plot(self.layout, 1, "batch size", "in use")
        # Legends inside the plots, where the data leaves room (times per token fall to the
        # right, memory rises to it): a column of legend beside each would leave the two
        # plots too narrow to stand side by side in the plot row.
        self.time_legend = add_legend(self.time_plot, offset=(-10, 4), columns=2)
        self.memory_legend = add_legend(self.memory_plot, offset=(10, 4), columns=1)
        style = {"symbol": "o", "symbolSize": 6, "symbolPen": None, "antialias": True}
        self.memory_curve = self.memory_plot.plot(pen=pen(theme.TEXT), symbolBrush=theme.TEXT, **style)
        # The KV cache of an explore-scale model is a few MiB beside hundreds in use: on the
        # same axis it would lie flat on zero, so it has its own, on the right.
        self.kv_view = pg.ViewBox()
        self.memory_plot.scene().addItem(self.kv_view)
        self.memory_plot.showAxis("right")
        right = self.memory_plot.getAxis("right")
        right.linkToView(self.kv_view)
        right.setPen(AXIS_PEN)
        right.setTextPen(colour("attention"))
        right.enableAutoSIPrefix(False)
        self.kv_view.setXLink(self.memory_plot)
        self.memory_plot.getViewBox().sigResized.connect(self._align_kv_view)
        self.kv_curve = pg.PlotDataItem(pen=pen(colour("attention")), symbolBrush=colour("attention"), **style)
        self.kv_predicted_curve = pg.PlotDataItem(pen=pen(colour("attention"), dotted=True, width=1.5),
                                                  antialias=True)
        for curve in (self.kv_curve, self.kv_predicted_curve):
            self.kv_view.addItem(curve)
        self._curves: dict[str, tuple] = {}  # kind -> (measured, predicted), made once
        self._record: BatchSweepRecord | None = None
        self._memory_unit = 1
        self._kv_unit = 1
        self.note = ""  # what the time plot's title says is missing

    def _align_kv_view(self) -> None:
        self.kv_view.setGeometry(self.memory_plot.getViewBox().sceneBoundingRect())

    def _kind_curves(self, kind: str) -> tuple:
        if kind not in self._curves:
            tint = theme.TEXT if kind == WHOLE_STEP else colour(POINT_KIND_THEME.get(kind, "none"))
            style = {"symbol": "o", "symbolSize": 6, "symbolBrush": tint, "symbolPen": None, "antialias": True}
            self._curves[kind] = (self.time_plot.plot(pen=pen(tint), **style),
                                  self.time_plot.plot(pen=pen(tint, dashed=True, width=1.5), antialias=True))
        return self._curves[kind]

    def show_batch_sweep(self, record: BatchSweepRecord | None) -> None:
        self.clear()
        if record is None or not record.batches:
            return
        self._record = record
        x = np.log2(np.asarray(record.batches, dtype=float))
        ticks = [[(float(position), str(batch)) for position, batch in zip(x, record.batches)]]
        for plot in (self.time_plot, self.memory_plot):
            plot.getAxis("bottom").setTicks(ticks)
            plot.setXRange(x[0] - X_MARGIN, x[-1] + X_MARGIN, padding=0)
        measured = {WHOLE_STEP: record.ms_per_token, **record.kind_ms_per_token}
        predicted = {WHOLE_STEP: record.predicted_ms_per_token, **record.kind_ms_per_token_predicted}
        for kind, values in measured.items():
            measured_curve, predicted_curve = self._kind_curves(kind)
            measured_curve.setData(x, _series(values))
            self.time_legend.addItem(measured_curve, kind)
            if any(value is not None for value in predicted.get(kind, [])):
                predicted_curve.setData(x, _series(predicted[kind]))
        if record.predicted:
            self.time_legend.addItem(self._kind_curves(WHOLE_STEP)[1], "roofline (dashed)")
        self.note = "" if record.predicted else NO_ROOFS
        # A short title: a long one widens the plot's column past a dock's width.
        self.time_plot.setTitle(self.note or f"at {record.context_len} tokens of context", color=theme.MUTED_TEXT,
                                size="8pt")
        largest = max(record.memory_bytes)
        unit, self._memory_unit = byte_unit(largest)
        self.memory_plot.setLabel("left", "in use", units=unit, color=theme.MUTED_TEXT)
        self.memory_curve.setData(x, np.asarray(record.memory_bytes, dtype=float) / self._memory_unit)
        self.memory_plot.setYRange(0, nice_ceiling(largest / self._memory_unit), padding=0)
        largest_kv = max(record.kv_bytes + record.kv_bytes_predicted)
        unit, self._kv_unit = byte_unit(largest_kv)
        self.memory_plot.setLabel("right", "KV", units=unit, color=colour("attention"))
        self.kv_curve.setData(x, np.asarray(record.kv_bytes, dtype=float) / self._kv_unit)
        self.kv_predicted_curve.setData(x, np.asarray(record.kv_bytes_predicted, dtype=float) / self._kv_unit)
        self.kv_view.setYRange(0, nice_ceiling(largest_kv / self._kv_unit), padding=0)
        self._align_kv_view()
        in_use = "GPU peak" if record.device.startswith("cuda") else "process RSS"
        self.memory_legend.addItem(self.memory_curve, f"in use: {in_use}")
        self.memory_legend.addItem(self.kv_curve, "KV measured")
        self.memory_legend.addItem(self.kv_predicted_curve, "KV predicted")

    def show(self, record) -> None:
        """A run record does not change the batch sweep: it is shown by show_batch_sweep."""

    def clear(self) -> None:
        for curves in self._curves.values():
            for curve in curves:
                empty(curve)
        for curve in (self.memory_curve, self.kv_curve, self.kv_predicted_curve):
            empty(curve)
        self.time_legend.clear()
        self.memory_legend.clear()
        self.note = ""
        self.time_plot.setTitle(None)
        self._record = None

    def plotted(self) -> dict:
        """What the plots hold, read back from the curves (times in ms per token, bytes)."""
        if self._record is None:
            return {}

        def read(curve) -> list:
            return [] if curve.yData is None else [None if math.isnan(v) else float(v) for v in curve.yData]

        kinds = [WHOLE_STEP, *self._record.kind_ms_per_token]
        return {
            "batches": [int(round(2 ** v)) for v in self.memory_curve.xData],
            "ms_per_token": {kind: read(self._curves[kind][0]) for kind in kinds},
            "predicted_ms_per_token": {kind: read(self._curves[kind][1]) for kind in kinds
                                       if read(self._curves[kind][1])},
            "memory_bytes": [int(round(v * self._memory_unit)) for v in read(self.memory_curve)],
            "kv_bytes": [int(round(v * self._kv_unit)) for v in read(self.kv_curve)],
            "kv_bytes_predicted": [int(round(v * self._kv_unit)) for v in read(self.kv_predicted_curve)],
            "note": self.note,
        }

    def has_data(self) -> bool:
        return self._record is not None
