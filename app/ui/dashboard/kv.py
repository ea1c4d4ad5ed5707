"""KV-cache growth: bytes held against the context length, total and per layer, the
measurement beside the analysis' prediction (a sliding window flattens a layer's bar, a
latent cache shrinks it, a recurrent state never grows)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from .. import theme
from .plots import (
    LEGEND_HEADROOM,
    PlotView,
    add_legend,
    bar_values,
    byte_unit,
    colour,
    empty,
    hold_range,
    layer_kinds,
    pale,
    pen,
    styled_plot,
    values,
    xs,
)
from .record import RunRecord

MEASURED = colour("attention")
PREDICTED = theme.MUTED_TEXT
PREDICTED_BAND = (91, 100, 114, 70)  # MUTED_TEXT, translucent: the measured line shows through
TOTAL_TITLE, LAYER_TITLE = "KV, all layers", "KV per layer"
HALF = 0.38  # width of each of the two bars a layer gets


def planned_kv_total(record: RunRecord, predicted: list[int]) -> int:
    """While a run streams, the predicted KV total at its planned last step if every step
    to come grew it as much as the latest did. The prediction's growth only slows (a
    layer's window, sliding or chunked, fills and it stops growing), so the axis can hold
    this top for the whole run."""
    remaining = record.step_span() - len(predicted)
    if remaining <= 0 or len(predicted) < 2:
        return 0
    return predicted[-1] + (predicted[-1] - predicted[-2]) * remaining


class KvView(PlotView):
    title, object_name, slug = "KV cache", "kvDock", "kv"

    def __init__(self):
        super().__init__()
        # Short y titles: a rotated title longer than its plot is high runs into the next.
        self.total_plot = styled_plot(self.layout, 0, "context", TOTAL_TITLE, x_units="tokens", whole_numbers="x")
        add_legend(self.total_plot, offset=(-10, -4), columns=1)  # bottom right: a growing total never runs there
        self._titled = [self.total_plot]
        # The prediction is a wide pale band under the measured line: where the cache holds
        # what the analysis says the line runs down its middle, and a gap is the finding.
        self.predicted = self.total_plot.plot(pen=pg.mkPen(PREDICTED_BAND, width=7), name="analysis")
        self.total = self.total_plot.plot(pen=pen(MEASURED), name="measured")
        self.overlay_total = self.total_plot.plot(pen=pen(MEASURED, dashed=True))

        self.layer_plot = styled_plot(self.layout, 1, "layer", LAYER_TITLE, whole_numbers="x")
        add_legend(self.layer_plot, columns=1)
        self.layers = pg.BarGraphItem(x=[], height=[], width=HALF, brush=MEASURED, pen=pg.mkPen(None),
                                      name="measured")
        self.layers_predicted = pg.BarGraphItem(x=[], height=[], width=HALF, brush=pale("embedding"),
                                                pen=pg.mkPen(PREDICTED, width=1), name="predicted")
        self.layer_plot.addItem(self.layers)
        self.layer_plot.addItem(self.layers_predicted)
        self._scales = {self.total_plot: 0, self.layer_plot: 0}  # bytes per unit on each left axis
        self._record: RunRecord | None = None
        self._brushes: list = []

    def _scale(self, plot: pg.PlotItem, largest: float) -> int:
        """Bytes per unit of the plot's y axis, chosen from the largest value (B ... GiB)."""
        name, size = byte_unit(largest)
        if size != self._scales[plot]:
            self._scales[plot] = size
            title = TOTAL_TITLE if plot is self.total_plot else LAYER_TITLE
            plot.setLabel("left", title, units=name, color=theme.MUTED_TEXT)
        return size

    def show(self, record: RunRecord) -> None:
        if record is not self._record:
            self._record = record
            mixers, _ffns = layer_kinds(record)
            self._brushes = [pg.mkBrush(colour(kind)) for kind in mixers]
            if mixers:  # the legend swatch: the kind most layers have
                self.layers.setOpts(brush=colour(max(set(mixers), key=mixers.count)))
        seq = np.asarray(record.seq_len, dtype=float)
        total, predicted = record.kv_total(), record.kv_predicted_total()
        overlaid = self._overlay.kv_total() if self._overlay is not None else []
        top = max(total + predicted + overlaid + [planned_kv_total(record, predicted)], default=0)
        size = self._scale(self.total_plot, top)
        self.total.setData(seq, np.asarray(total, dtype=float) / size)
        if len(seq):
            # Context grows by one a step: the planned run's last context closes the axis.
            last = max(float(seq.max()), float(seq.min()) + record.step_span() - 1)
            hold_range(self.total_plot, "x", last, low=float(seq.min()))
            hold_range(self.total_plot, "y", top / size * 1.05)
        self.predicted.setData(seq, np.asarray(predicted, dtype=float) / size)
        if self._overlay is not None:
            self._draw_overlay(size)
        last = record.steps[-1] if record.steps else {}
        measured = np.asarray(last.get("kv_bytes") or [], dtype=float)
        expected = np.asarray(last.get("kv_bytes_predicted") or [], dtype=float)
        largest = max(measured.max(initial=0), expected.max(initial=0))
        size = self._scale(self.layer_plot, largest)
        hold_range(self.layer_plot, "y", largest / size * LEGEND_HEADROOM)
        x = np.arange(len(measured), dtype=float)
        brushes = self._brushes if len(self._brushes) == len(x) and len(x) else None
        self.layers.setOpts(x=x - HALF / 2, height=measured / size, brushes=brushes)
        self.layers_predicted.setOpts(x=np.arange(len(expected), dtype=float) + HALF / 2, height=expected / size)
        self.caption(record)

    def _draw_overlay(self, size: int) -> None:
        record = self._overlay
        self.overlay_total.setData(np.asarray(record.seq_len, dtype=float),
                                   np.asarray(record.kv_total(), dtype=float) / size)

    def overlay(self, record, primary) -> None:
        """The other run's total KV against its context length, dashed."""
        self._overlay = record
        if record is None:
            empty(self.overlay_total)
        elif primary is not None and primary.steps:
            self.show(primary)  # one unit for both runs: the larger may change it
        else:
            self._draw_overlay(self._scale(self.total_plot, max(record.kv_total(), default=0)))
        self.caption(primary)

    def clear(self) -> None:
        for curve in (self.total, self.predicted, self.overlay_total):
            empty(curve)
        for bars in (self.layers, self.layers_predicted):
            bars.setOpts(x=[], height=[], brushes=None)
        self._record = None
        self._overlay = None
        self.caption(None)

    def plotted(self) -> dict:
        def in_bytes(numbers: list, size: int) -> list[int]:
            return [int(round(v * size)) for v in numbers]

        total_size, layer_size = self._scales[self.total_plot] or 1, self._scales[self.layer_plot] or 1
        return {
            "kv_seq_len": [int(v) for v in xs(self.total)],
            "kv_total": in_bytes(values(self.total), total_size),
            "kv_predicted_total": in_bytes(values(self.predicted), total_size),
            "kv_per_layer": in_bytes(bar_values(self.layers), layer_size),
            "kv_per_layer_predicted": in_bytes(bar_values(self.layers_predicted), layer_size),
            "kv_overlay_total": in_bytes(values(self.overlay_total), total_size),
            "kv_overlay_seq_len": [int(v) for v in xs(self.overlay_total)],
        }

    def has_data(self) -> bool:
        return bool(values(self.total))
