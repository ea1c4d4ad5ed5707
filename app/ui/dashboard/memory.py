"""Memory over the run: torch's allocated and reserved, the device's used (NVML) and the
process' RSS, per step."""

from __future__ import annotations

import numpy as np

from .plots import PlotView, add_legend, colour, empty, hold_range, pen, styled_plot, values
from .record import MEMORY_KEYS, RunRecord

MIB = 2**20


class MemoryView(PlotView):
    title, object_name, slug = "Memory", "memoryDock", "memory"
    COLOURS = {"allocated": colour("attention"), "reserved": colour("mla"), "device_used": colour("linear"),
               "rss": colour("embedding")}
    NAMES = {"allocated": "allocated (torch)", "reserved": "reserved (torch)", "device_used": "device used",
             "rss": "process RSS"}

    def __init__(self):
        super().__init__()
        self.plot = styled_plot(self.layout, 0, "step", "memory", y_units="MiB", whole_numbers="x")
        add_legend(self.plot)
        self._titled = [self.plot]
        self.curves = {key: self.plot.plot(pen=pen(self.COLOURS[key]), name=self.NAMES[key]) for key in MEMORY_KEYS}
        self.overlays = {key: self.plot.plot(pen=pen(self.COLOURS[key], dashed=True)) for key in MEMORY_KEYS}

    def show(self, record: RunRecord) -> None:
        steps = np.asarray(record.step_index, dtype=float)
        top = 0.0
        for key, series in record.memory.items():
            mib = np.asarray(series, dtype=float) / MIB
            self.curves[key].setData(steps, mib)
            top = max(top, float(mib.max(initial=0.0)))
        hold_range(self.plot, "x", max(record.step_span() - 1, 1))
        hold_range(self.plot, "y", top * 1.05)
        self.caption(record)

    def overlay(self, record, primary) -> None:
        self._overlay = record
        for key, curve in self.overlays.items():
            if record is None:
                empty(curve)
            else:
                curve.setData(np.asarray(record.step_index, dtype=float),
                              np.asarray(record.memory[key], dtype=float) / MIB)
        self.caption(primary)

    def clear(self) -> None:
        for curve in (*self.curves.values(), *self.overlays.values()):
            empty(curve)
        self._overlay = None
        self.caption(None)

    def plotted(self) -> dict:
        def in_bytes(curve):
            return [int(round(v * MIB)) for v in values(curve)]

        return {"memory": {key: in_bytes(curve) for key, curve in self.curves.items()},
                "memory_overlay": {key: in_bytes(curve) for key, curve in self.overlays.items() if values(curve)}}

    def has_data(self) -> bool:
        return bool(values(self.curves["rss"]))
