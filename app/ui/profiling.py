"""Between the run panel, the model worker, the dashboard and the canvas.

The worker streams steps at up to ~30 batches a second; they only append to the run's
record here, and a timer redraws the plots and the canvas tint at most REFRESH_HZ times a
second, so a fast model cannot flood the UI thread. A model stays loaded between runs
while its load request does not change.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ..runtime.export import export
from ..runtime.snapshot import PROFILE_SCHEMA, ProfileSnapshot
from ..spec import ArchSpec
from ..spec.scale import explore, explore_counterparts
from ..spec.serialize import spec_from_dict
from .dashboard.record import RunRecord, SweepRecord

REFRESH_HZ = 10
MAX_SWEEPS = 2  # the latest sweep and the one before it, overlaid


class SnapshotError(ValueError):
    pass


def read_snapshot(path: str | Path) -> dict:
    """A saved profile snapshot; SnapshotError naming the file and what is wrong."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SnapshotError(f"{path}: {error}") from None
    if not isinstance(document, dict) or document.get("schema") != PROFILE_SCHEMA:
        found = document.get("schema") if isinstance(document, dict) else type(document).__name__
        raise SnapshotError(f"{path}: not an ArchScope profile snapshot (schema {found!r}, "
                            f"expected {PROFILE_SCHEMA!r})")
    for key in ("model", "steps"):
        if key not in document:
            raise SnapshotError(f"{path}: the snapshot has no {key!r} section")
    return document


def drawn_layer_times(drawn: ArchSpec, run: ArchSpec, mixer_ms: list[float],
                      ffn_ms: list[float]) -> tuple[list[float], list[float]] | None:
    """The run's per-layer times laid onto the layers of the diagram: as they are when the
    run is the drawn architecture; through each layer's shrunk twin when the run was its
    explore scale (the explore layer costs, at the drawn depth); None when they differ."""
    if not mixer_ms:
        return None
    if run == drawn:
        return mixer_ms, ffn_ms
    if run != explore(drawn):
        return None

    def mean(column: list[float], indices: list[int]) -> float:
        return sum(column[j] for j in indices) / len(indices) if indices else 0.0

    twins = explore_counterparts(drawn)
    return [mean(mixer_ms, t) for t in twins], [mean(ffn_ms, t) for t in twins]


class RunController(QObject):
    status = Signal(str)  # a line for the status bar
    failed = Signal(str)  # a failure the user must see
    modelLoaded = Signal(dict)  # the loaded model's info (its spec document included)
    busyChanged = Signal(bool)

    def __init__(self, panel, dashboard, scene, drawn_spec, parent=None):
        """drawn_spec: a callable giving the architecture on the canvas now."""
        super().__init__(parent)
        self.panel, self.dashboard, self.scene, self.drawn_spec = panel, dashboard, scene, drawn_spec
        self._worker = None  # made on the first request: importing torch waits until it is needed
        self.loaded_request: str | None = None  # the load request of the model in the worker
        self.model_info: dict | None = None
        self.pending: tuple[str, dict] | None = None  # ("run" | "sweep", settings) awaiting a load
        self.record: RunRecord | None = None
        self.snapshot: dict | None = None  # the last finished run
        self.sweeps: list[SweepRecord] = []
        self.busy = False
        self._dirty = False
        self.refresh_timer = QTimer(self, interval=1000 // REFRESH_HZ)
        self.refresh_timer.timeout.connect(self.refresh)

        panel.runRequested.connect(lambda load, settings: self.start("run", load, settings))
        panel.sweepRequested.connect(lambda load, settings: self.start("sweep", load, settings))
        panel.stopRequested.connect(self.stop)

    @property
    def worker(self):
        if self._worker is None:
            from ..worker import WorkerHandle

            self._worker = worker = WorkerHandle(self)
            worker.progress.connect(self.panel.show_progress)
            worker.loaded.connect(self._loaded)
            worker.steps.connect(self._steps)
            worker.finished.connect(self._finished)
            worker.swept.connect(self._swept)
            worker.failed.connect(self._failed)
            worker.cancelled.connect(self._cancelled)
        return self._worker

    # --- requests --------------------------------------------------------------------------

    def start(self, kind: str, load: dict, settings: dict) -> None:
        if self.busy:
            return
        self._set_busy(True)
        key = json.dumps(load, sort_keys=True)
        self.pending = (kind, settings)
        if key == self.loaded_request:
            self._dispatch()
            return
        self.loaded_request = None
        self._requested = key
        self.status.emit("Loading the model…")
        self.worker.load(load)

    def stop(self) -> None:
        if self.busy:
            self.status.emit("Stopping…")
            self.worker.cancel()

    def shutdown(self) -> None:
        self.refresh_timer.stop()
        if self._worker is not None:
            self._worker.shutdown()
            self._worker = None

    def _dispatch(self) -> None:
        kind, settings = self.pending
        self.pending = None
        if kind == "run":
            self.record = RunRecord(self.model_info)
            self.dashboard.show_record(self.record)  # empty: the last run's plots clear
            self.refresh_timer.start()
            self.status.emit(f"Running {self.model_info['name']}…")
            self.worker.run(settings)
        else:
            self.status.emit(f"Sweeping {self.model_info['name']}…")
            self.worker.sweep(settings)

    # --- what the worker says ------------------------------------------------------------

    def _loaded(self, info: dict) -> None:
        self.loaded_request = self._requested
        self.model_info = info
        self.modelLoaded.emit(info)
        if self.pending is not None:
            self._dispatch()

    def _steps(self, updates: list) -> None:
        if self.record is None:
            return
        for update in updates:
            self.record.add_step(asdict(update.record), update.text)
        self._dirty = True
        last = updates[-1]
        self.panel.show_progress("generating", last.done, last.total)

    def refresh(self) -> None:
        """Redraw from the record if steps arrived since the last redraw."""
        if not self._dirty or self.record is None:
            return
        self._dirty = False
        self.dashboard.show_record(self.record)
        self.tint(self.record)

    def tint(self, record: RunRecord) -> None:
        steps = [s for s in record.steps if s.get("mixer_ms")]
        run_spec = spec_from_dict(record.model["spec"]) if record.model.get("spec") else None
        times = None
        if steps and run_spec is not None:
            times = drawn_layer_times(self.drawn_spec(), run_spec, steps[-1]["mixer_ms"], steps[-1]["ffn_ms"])
        self.scene.show_step_times(*(times or (None,)))

    def _finished(self, document: dict) -> None:
        self.snapshot = document
        self.record = RunRecord.from_snapshot(document)
        self._dirty = True
        self.refresh()
        self.refresh_timer.stop()
        self._set_busy(False)
        self.panel.show_progress("generated", len(document["steps"]), len(document["steps"]))
        summary = ProfileSnapshot.from_dict(document).summary()
        self.status.emit(f"{len(document['steps'])} steps; decode {summary['decode_tokens_per_s']:.1f} tokens/s, "
                         f"prefill {summary['prefill_ms']:.0f} ms")

    def _swept(self, document: dict) -> None:
        self.sweeps = (self.sweeps + [SweepRecord.from_snapshot(document)])[-MAX_SWEEPS:]
        self.dashboard.show_sweep(self.sweeps)
        self._set_busy(False)
        self.status.emit(f"Swept {len(document['sweep'])} context lengths")

    def _failed(self, message: str) -> None:
        if self.loaded_request is None:
            self.model_info = None  # the load itself failed
        self.pending = None
        self.refresh_timer.stop()
        self._set_busy(False)
        self.panel.show_error(message)
        self.failed.emit(message)

    def _cancelled(self) -> None:
        self.refresh_timer.stop()
        self._dirty = True
        self.refresh()
        self._set_busy(False)
        self.panel.show_message("Stopped.")
        self.status.emit("Stopped")

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.panel.set_busy(busy)
        self.busyChanged.emit(busy)

    # --- snapshots --------------------------------------------------------------------------

    def open_snapshot(self, path: str | Path) -> dict:
        document = read_snapshot(path)
        self.show_document(document)
        return document

    def show_document(self, document: dict) -> None:
        """Show a finished run (and its sweep, if it has one) without running anything."""
        self.snapshot = document
        self.record = RunRecord.from_snapshot(document)
        self.dashboard.show_record(self.record)
        if document.get("sweep"):
            self.sweeps = [SweepRecord.from_snapshot(document)]
            self.dashboard.show_sweep(self.sweeps)
        self.tint(self.record)

    def compare_snapshot(self, path: str | Path | None) -> None:
        """Overlay a saved run on the plots (None removes it)."""
        if path is None:
            self.dashboard.overlay(None)
            return
        document = read_snapshot(path)
        self.dashboard.overlay(RunRecord.from_snapshot(document))
        if document.get("sweep"):
            self.sweeps = (self.sweeps + [SweepRecord.from_snapshot(document)])[-MAX_SWEEPS:]
            self.dashboard.show_sweep(self.sweeps)

    def pin_overlay(self) -> bool:
        """Keep the last run on the plots, dashed, under the next one."""
        if self.record is None:
            return False
        self.dashboard.overlay(self.record)
        return True

    def export(self, folder: str | Path, stem: str) -> list[Path]:
        """The last run as JSON, CSV and Chrome trace, and a PNG of each plot."""
        if self.snapshot is None:
            raise SnapshotError("Nothing to export yet: run a model or open a snapshot first")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        snapshot = ProfileSnapshot.from_dict(self.snapshot)
        written = export(snapshot, folder / f"{stem}.json", folder / f"{stem}.csv", folder / f"{stem}.trace.json")
        return written + self.dashboard.export_pngs(folder, stem)
