"""The live profiling dashboard: the plot views that the main window places as docks,
refreshed from a RunRecord by a coalescing timer that the window owns."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from .batch_sweep import BatchSweepView
from .kv import KvView
from .latency import LatencyView
from .memory import MemoryView
from .output_text import OutputText
from .ranks import RanksView
from .record import BatchSweepRecord, RunRecord, SweepRecord
from .roofline import RooflineView
from .routing import RoutingView
from .sweep import SweepView
from .throughput import ThroughputView


class Dashboard(QObject):
    """Owns one view per dock. `show_record` is cheap (every pyqtgraph item is made once
    and refreshed in place) and does nothing when the record has not grown since the last
    call, so a timer may call it freely while a run streams."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.latency = LatencyView()
        self.memory = MemoryView()
        self.kv = KvView()
        self.routing = RoutingView()
        self.throughput = ThroughputView()
        self.text = OutputText()
        self.sweep = SweepView()
        self.roofline = RooflineView()
        self.batch_sweep = BatchSweepView()
        self.ranks = RanksView()
        self.views = (self.latency, self.memory, self.kv, self.routing, self.throughput, self.text, self.sweep,
                      self.roofline, self.batch_sweep, self.ranks)
        self.plots = (self.latency, self.memory, self.kv, self.routing, self.throughput, self.sweep, self.roofline,
                      self.batch_sweep, self.ranks)
        self.sweeps = (self.sweep, self.batch_sweep)  # shown from their own records, not from a run's
        self.record: RunRecord | None = None
        self.overlay_record: RunRecord | None = None
        self._shown: tuple | None = None  # (record, steps, text) of the last refresh
        self._turn = 0  # refresh_next's place in the rotation
        self._drawn: dict = {}  # plot view -> the record state refresh_next last drew in it

    def docks(self) -> list[tuple[str, QWidget, str]]:
        """(title, widget, objectName) per dock, in the order they read best."""
        return [(view.title, view.widget, view.object_name) for view in self.views]

    def show_record(self, record: RunRecord) -> None:
        state = (record, len(record.steps), record.text, record.label, record.planned_steps, record.run is not None)
        if self._shown is not None and self._shown[0] is state[0] and self._shown[1:] == state[1:]:
            return
        self._shown = state
        self.record = record
        for view in self.views:
            if view not in self.sweeps:
                view.show(record)

    def refresh_next(self, record: RunRecord, hidden_too: bool = False) -> bool:
        """While a run streams: bring the text and the next stale plot on screen up to date;
        False when every one already shows the record. A plot's repaint (axes, text) costs
        tens of ms in software rendering, and Qt paints all that changed in one pass, so
        one plot per call bounds each stall of the event loop by one plot's repaint. Plots
        in a hidden tab are not painted: hidden_too refreshes them all at once."""
        self.record = record
        self._shown = None
        self.text.show(record)
        state = (id(record), len(record.steps), record.label, record.planned_steps, record.run is not None)
        stale = [view for view in self.plots if view not in self.sweeps and self._drawn.get(view) != state]
        if hidden_too:
            for view in [view for view in stale if not view.widget.isVisible()]:
                view.show(record)
                self._drawn[view] = state
                stale.remove(view)
        if not stale:
            return False
        self._turn = (self._turn + 1) % len(stale)
        view = stale[self._turn]
        view.show(record)
        self._drawn[view] = state
        return True

    def overlay(self, record: RunRecord | None) -> None:
        """Draw another run dashed over latency per layer, KV total, memory and tokens/s;
        None takes it away."""
        self.overlay_record = record
        for view in (self.latency, self.kv, self.memory, self.throughput):
            view.overlay(record, self.record)

    def show_sweep(self, sweeps: list[SweepRecord]) -> None:
        self.sweep.show_sweeps(sweeps)

    def show_batch_sweep(self, record: BatchSweepRecord | None) -> None:
        self.batch_sweep.show_batch_sweep(record)

    def clear(self, keep_overlay: bool = False) -> None:
        """Empty every plot, the text, the overlay and the sweeps (keep_overlay: all but the
        overlaid run, for a new run compared with the same reference)."""
        keep = self.overlay_record if keep_overlay else None
        for view in self.views:
            view.clear()
        self.record = None
        self._shown = None
        self.overlay_record = None
        if keep is not None:
            self.overlay(keep)

    def export_pngs(self, folder: Path, stem: str) -> list[Path]:
        """One PNG per plot that holds data: FOLDER/STEM-latency.png, ...-memory.png, ..."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.-]+", "-", stem).strip("-") or "archscope"
        return [view.export_png(folder / f"{safe}-{view.slug}.png") for view in self.plots if view.has_data()]

    def plotted(self) -> dict:
        """What each plot holds now, read back from its pyqtgraph items, as plain lists."""
        shown: dict = {}
        for view in self.views:
            if view not in self.sweeps:
                shown.update(view.plotted())
        shown["sweep"] = self.sweep.plotted()
        shown["batch_sweep"] = self.batch_sweep.plotted()
        return shown
