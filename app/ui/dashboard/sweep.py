"""Context sweep: decode time per token and KV bytes against the context length, for one
run or two overlaid (Gemma 3 with and without its sliding window, MLA against GQA)."""

from __future__ import annotations

import numpy as np

from .. import theme
from .plots import PlotView, add_legend, byte_unit, colour, empty, pen, styled_plot, values, xs
from .record import SweepRecord

# One colour per sweep; the second is also dashed so that it reads in grey print.
SWEEP_COLOURS = (colour("attention"), theme.HIGHLIGHT, colour("mla"), colour("ffn"))


class SweepView(PlotView):
    title, object_name, slug = "Context sweep", "sweepDock", "sweep"

    def __init__(self):
        super().__init__()
        self.time_plot = styled_plot(self.layout, 0, "context", "decode time per token", x_units="tokens",
                                     y_units="ms")
        self.kv_plot = styled_plot(self.layout, 1, "context", "KV cache", x_units="tokens")
        self.time_legend = add_legend(self.time_plot, offset=(10, 10), columns=1)
        self.kv_legend = add_legend(self.kv_plot, offset=(10, 10), columns=1)
        self._series: list[tuple] = []  # per sweep: (time curve, kv curve, predicted kv curve), made once
        self._sweeps: list[SweepRecord] = []
        self._kv_unit = 1

    def _curves(self, index: int) -> tuple:
        while len(self._series) <= index:
            tint = SWEEP_COLOURS[len(self._series) % len(SWEEP_COLOURS)]
            dashed = len(self._series) % 2 == 1
            style = {"symbol": "o", "symbolSize": 6, "symbolBrush": tint, "symbolPen": None, "antialias": True}
            self._series.append((self.time_plot.plot(pen=pen(tint, dashed=dashed), **style),
                                 self.kv_plot.plot(pen=pen(tint, dashed=dashed), **style),
                                 self.kv_plot.plot(pen=pen(tint, dotted=True, width=1.5), antialias=True)))
        return self._series[index]

    def show_sweeps(self, sweeps: list[SweepRecord]) -> None:
        self.clear()
        self._sweeps = list(sweeps)
        largest = max((max(s.kv_bytes + s.kv_bytes_predicted, default=0) for s in sweeps), default=0)
        unit, self._kv_unit = byte_unit(largest)
        self.kv_plot.setLabel("left", "KV cache", units=unit, color=theme.MUTED_TEXT)
        for index, sweep in enumerate(sweeps):
            time_curve, kv_curve, predicted_curve = self._curves(index)
            contexts = np.asarray(sweep.contexts, dtype=float)
            time_curve.setData(contexts, np.asarray(sweep.decode_ms, dtype=float))
            kv_curve.setData(contexts, np.asarray(sweep.kv_bytes, dtype=float) / self._kv_unit)
            predicted_curve.setData(contexts, np.asarray(sweep.kv_bytes_predicted, dtype=float) / self._kv_unit)
            self.time_legend.addItem(time_curve, sweep.label)
            self.kv_legend.addItem(kv_curve, sweep.label)
            if index == 0:  # every sweep's prediction is dotted in its colour: one entry says so
                self.kv_legend.addItem(predicted_curve, "predicted (dotted)")

    def show(self, record) -> None:
        """A run record does not change the sweep: it is shown by show_sweeps."""

    def clear(self) -> None:
        for curves in self._series:
            for curve in curves:
                empty(curve)
        self.time_legend.clear()
        self.kv_legend.clear()
        self._sweeps = []

    def plotted(self) -> list[dict]:
        shown = []
        for sweep, (time_curve, kv_curve, predicted_curve) in zip(self._sweeps, self._series):
            shown.append({
                "label": sweep.label,
                "contexts": [int(v) for v in xs(time_curve)],
                "decode_ms": values(time_curve),
                "kv_bytes": [int(round(v * self._kv_unit)) for v in values(kv_curve)],
                "kv_bytes_predicted": [int(round(v * self._kv_unit)) for v in values(predicted_curve)],
            })
        return shown

    def has_data(self) -> bool:
        return bool(self._sweeps)
