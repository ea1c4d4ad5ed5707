"""Throughput: each decode step's tokens/s, and a dotted line at the run's decode rate
labelled as the status line and the CLI give it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ...runtime.figures import decode_rate_text
from .. import theme
from .plots import PlotView, empty, hold_range, pen, styled_plot, values
from .record import RunRecord


class ThroughputView(PlotView):
    title, object_name, slug = "Throughput", "throughputDock", "throughput"

    def __init__(self):
        super().__init__()
        self.plot = styled_plot(self.layout, 0, "decode step", "throughput", y_units="tokens/s",
                                whole_numbers="x")
        self._titled = [self.plot]
        self.curve = self.plot.plot(pen=pen(theme.SELECTED))
        self.overlay_curve = self.plot.plot(pen=pen(theme.SELECTED, dashed=True))
        # The run's decode speed, as the status line, the CLI and the snapshot give it.
        self.rate_line = pg.InfiniteLine(angle=0, pen=pen(theme.MUTED_TEXT, dotted=True, width=1), label="",
                                         labelOpts={"color": theme.MUTED_TEXT, "position": 0.08,
                                                    "anchors": [(0, 1), (0, 1)]})
        self.rate_line.setVisible(False)
        self.plot.addItem(self.rate_line, ignoreBounds=True)
        self.rate_text = ""

    def show(self, record: RunRecord) -> None:
        rates = record.tokens_per_s()
        self.curve.setData(np.asarray(record.decode_steps(), dtype=float), np.asarray(rates, dtype=float))
        if rates:
            rate = record.decode_tokens_per_s()
            self.rate_text = decode_rate_text(rate)
            self.rate_line.setValue(rate)
            self.rate_line.label.setFormat(self.rate_text)  # no "{value}": the text is the figure
        else:
            self.rate_text = ""
        self.rate_line.setVisible(bool(rates))
        hold_range(self.plot, "x", max(record.step_span() - 1, 1))
        hold_range(self.plot, "y", max(rates, default=0.0) * 1.05)
        self.caption(record)

    def overlay(self, record, primary) -> None:
        self._overlay = record
        if record is None:
            empty(self.overlay_curve)
        else:
            self.overlay_curve.setData(np.asarray(record.decode_steps(), dtype=float),
                                       np.asarray(record.tokens_per_s(), dtype=float))
        self.caption(primary)

    def clear(self) -> None:
        empty(self.curve)
        empty(self.overlay_curve)
        self.rate_line.setVisible(False)
        self.rate_text = ""
        self._overlay = None
        self.caption(None)

    def plotted(self) -> dict:
        return {"tokens_per_s": values(self.curve), "tokens_per_s_overlay": values(self.overlay_curve),
                "tokens_per_s_label": self.rate_text}

    def has_data(self) -> bool:
        return bool(values(self.curve))
