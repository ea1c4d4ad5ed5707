"""Between the run panel, the model worker, the dashboard and the canvas.

The worker streams steps at up to ~30 batches a second; they only append to the run's
record here, and a timer redraws the plots and the canvas tint at most REFRESH_HZ times a
second, so a fast model cannot flood the UI thread. A model stays loaded between runs
while its load request does not change.
"""

from __future__ import annotations

import gc
import json
from dataclasses import asdict
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ..runtime.export import export
from ..runtime.figures import StepShares, decode_step_time, decode_text, execution_text, scale_note, threads_text
from ..runtime.snapshot import ProfileSnapshot
from ..runtime.snapshot_file import SnapshotError, read_snapshot
from ..spec import ArchSpec
from ..spec.scale import explore, explore_counterparts, slice_
from ..units import human_bytes
from .dashboard.record import BatchSweepRecord, RunRecord, SweepRecord
from .dashboard.roofline_points import part_times

REFRESH_HZ = 12  # while streaming, each tick refreshes the text and one plot (see Dashboard.refresh_next)
TINT_EVERY = 4  # ticks between two repaints of the canvas tint
MAX_SWEEPS = 2  # the latest sweep and the one before it, overlaid
CANVAS_MEASURES = ("share of step", "fraction of roofline")  # what the canvas badges each box with


def hold_long_lived_objects(hold: bool) -> None:
    """While a run streams, everything alive at its start (the window, the model, some 230k
    objects from torch, Qt and pyqtgraph) is kept out of the cyclic collector's full passes
    (gc.freeze): one such pass holds the GIL for 60-200 ms, in whichever thread triggers
    it, and was the window's longest stall. Between runs they go back (gc.unfreeze), so
    nothing that has become garbage is kept."""
    if hold:
        gc.freeze()
    else:
        gc.unfreeze()


def same_model(one: dict, other: dict) -> bool:
    """Two snapshot "model" sections describe the same model run the same way."""
    keys = ("name", "source", "spec", "dtype", "device", "weights")
    return all(one.get(key) == other.get(key) for key in keys)


def drawn_layer_twins(drawn: ArchSpec, run: ArchSpec) -> list[list[int]] | None:
    """For each layer of the diagram, the run's layers that measure it: itself when the run
    is the drawn architecture; its shrunk twins when the run was its explore scale (the
    explore layer costs, at the drawn depth); its kind's one layer when the run was its
    slice; None when the run is something else."""
    if run == drawn:
        return [[index] for index in range(drawn.num_layers)]
    if run == explore(drawn):
        return explore_counterparts(drawn)
    distinct = slice_(drawn)
    if run.name == distinct.name and run.num_layers == distinct.num_layers:
        # a slice: one layer per distinct kind (experts may be trimmed to fit, so the layers
        # need not equal the drawn ones): each drawn layer is measured by its kind's
        return [[distinct.layers.index(layer)] for layer in drawn.layers]
    return None


def drawn_layer_times(twins: list[list[int]], mixer_ms: list[float],
                      ffn_ms: list[float]) -> tuple[list[float], list[float]]:
    """Per drawn layer, the mean time of its twins in the run."""
    def mean(column: list[float], indices: list[int]) -> float:
        return sum(column[j] for j in indices) / len(indices) if indices and column else 0.0

    return [mean(mixer_ms, t) for t in twins], [mean(ffn_ms, t) for t in twins]


def drawn_layer_shares(twins: list[list[int]], shares: StepShares) -> tuple[list[float], list[float]]:
    """Per drawn layer, its share of the run's step: its twins' mean, scaled so that the
    drawn layers together take the share the run's layers took (the head's and the rest's
    stay as measured)."""
    mixer, ffn = drawn_layer_times(twins, shares.mixer, shares.ffn)
    drawn = sum(mixer) + sum(ffn)
    scale = shares.layers / drawn if drawn else 0.0
    return [m * scale for m in mixer], [f * scale for f in ffn]


def run_status(document: dict) -> str:
    """The status line of a finished run: its figures as the CLI prints them."""
    run, steps = document.get("run") or {}, document["steps"]
    snapshot = ProfileSnapshot.from_dict(document)
    summary = snapshot.summary()
    decode_steps = sum(step.phase == "decode" for step in snapshot.steps)
    speed = decode_text(run, summary["decode_tokens_per_s"], decode_steps, "untick Stop at end of text to run every step")
    parts = [f"{len(steps)} steps; {speed}, prefill {summary['prefill_ms']:.0f} ms"]
    if "threads" in run:
        parts.append(threads_text(run["threads"]))
    ranks = document.get("ranks")
    if ranks:  # short: the step's shares come after it on the one status line
        parts.append(f"{ranks['world_size']} ranks on {ranks['backend']} (tp {ranks['tp']}, ep {ranks['ep']}), "
                     f"rank 0's figures")
    if execution_text(run):
        parts.append(execution_text(run))
    shares = decode_step_time(snapshot.steps).shares()
    if shares is not None:
        parts.append(shares.text())
    vision = document.get("vision")
    if vision:
        parts.append(f"image encoder {vision['encoder_ms']:.0f} ms, {100 * vision['image_kv_share']:.0f}% of the "
                     "KV cache for the image")
    note = scale_note(run, document.get("model") or {})
    if note:
        parts.append(note)
    return "; ".join(parts)


class RunController(QObject):
    status = Signal(str)  # a line for the status bar
    failed = Signal(str)  # a failure the user must see
    modelLoaded = Signal(dict)  # the info (spec document included) of the model a request uses: loaded, or kept
    busyChanged = Signal(bool)
    resultShown = Signal(str)  # the object name of the dock a finished sweep is drawn in: bring it to the front
    studied = Signal(dict)  # a study's result, as data (app/studies/study.py)

    def __init__(self, panel, dashboard, scene, drawn_spec, parent=None):
        """drawn_spec: a callable giving the architecture on the canvas now."""
        super().__init__(parent)
        self.panel, self.dashboard, self.scene, self.drawn_spec = panel, dashboard, scene, drawn_spec
        self._worker = None  # made on the first request: importing torch waits until it is needed
        self.loaded_request: str | None = None  # the load request of the model in the worker
        self.model_info: dict | None = None
        self.pending: tuple[str, dict] | None = None  # ("run" | "sweep" | "batch sweep", settings) awaiting a load
        self.record: RunRecord | None = None
        self.snapshot: dict | None = None  # the last finished run
        self.snapshot_pending: dict | None = None  # a finished run whose plots are catching up
        self.sweeps: list[SweepRecord] = []
        self.sweep: dict | None = None  # the last context sweep: {"model", "hardware", "sweep"}
        self.batch_sweep: dict | None = None  # the last batch sweep: {"model", "hardware", "batch_sweep"}
        self.busy = False
        self.calibrating_alone = False  # a calibration from the menu, not the one before a first run
        self._ticks = 0
        self._generated: tuple[int, int] | None = None  # (done, total) since the last tick
        self._twin_cache: tuple = (None, None)
        self.canvas_measure = CANVAS_MEASURES[0]
        self._roofline_cache: tuple = (None, None)  # (record state, part_times of it)
        self.refresh_timer = QTimer(self, interval=1000 // REFRESH_HZ)
        self.refresh_timer.timeout.connect(self.refresh)

        panel.runRequested.connect(lambda load, settings: self.start("run", load, settings))
        panel.parallelRunRequested.connect(self.start_parallel)
        panel.sweepRequested.connect(lambda load, settings: self.start("sweep", load, settings))
        panel.batchSweepRequested.connect(lambda load, settings: self.start("batch sweep", load, settings))
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
            worker.calibrated.connect(self._calibrated)
            worker.batch_swept.connect(self._batch_swept)
            worker.studied.connect(self._studied)
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
            # the model is still loaded, but the canvas may have moved on since its load
            self.modelLoaded.emit(self.model_info)
            self._dispatch()
            return
        self.loaded_request = None
        self._requested = key
        self.status.emit("Loading the model…")
        self.worker.load(load)

    def start_parallel(self, settings: dict) -> None:
        """A tensor- or expert-parallel run (the worker's parallel_run): its ranks build their
        own models, so nothing is loaded first, and the worker lets go of the model it held.
        The steps come at the end, with the snapshot: the progress bar counts them meanwhile."""
        if self.busy:
            return
        self._set_busy(True)
        self.loaded_request, self.model_info, self.pending = None, None, None
        self.record = None  # the finished snapshot makes the run's record
        name = settings["spec"].get("name", "the model")
        self.status.emit(f"Running {name} over tensor parallel {settings['tp']}, expert parallel {settings['ep']}…")
        self.worker.parallel_run(settings)

    def calibrate(self) -> None:
        """Measure the run panel's device in full and save its roofs (a run measures an
        uncalibrated device quickly by itself)."""
        if self.busy:
            return
        self._set_busy(True)
        self.calibrating_alone = True
        self.status.emit("Calibrating the device…")
        self.worker.calibrate({"device": self.panel.device.currentData(), "quick": False})

    def run_study(self, name: str, quick: bool, size: str = "published") -> None:
        """Run one of the article's studies on the run panel's device; it builds its own models
        beside the loaded one and can be stopped like a run. size "tiny": at explore widths
        (what the tests run)."""
        if self.busy:
            return
        self._set_busy(True)
        self.status.emit(f"Running the {name} study{' (quick)' if quick else ''}…")
        self.worker.study({"name": name, "quick": quick, "size": size, "device": self.panel.device.currentData()})

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
        hold_long_lived_objects(True)  # the model is loaded: from here on the run streams
        if kind == "run":
            # The plots move to the new record one per tick (refresh), like every update:
            # clearing them all at once would repaint every plot in one stall.
            self.record = RunRecord(self.model_info, scale=self.model_info.get("scale"))
            self.record.planned_steps = int(settings.get("max_new_tokens") or 0)
            self._generated = None  # the last run's count must not show on this one's first tick
            self.refresh_timer.start()
            self.status.emit(f"Running {self.model_info['name']}…")
            self.worker.run(settings)
        elif kind == "batch sweep":
            self.status.emit(f"Sweeping batch sizes of {self.model_info['name']}…")
            self.worker.batch_sweep(settings)
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
        self._generated = (updates[-1].done, updates[-1].total)  # shown on the next tick

    def refresh(self) -> None:
        """A tick: the progress bar, the text and one stale plot, or every few ticks the
        canvas tint instead of a plot (each repaint is its own stall: together they add up).
        After the run, ticks go on until every plot shows the whole run, then it is over."""
        if self.record is None:
            return
        self._ticks += 1
        if self._generated is not None:  # QProgressBar repaints at once on every new value
            self.panel.show_progress("generating", *self._generated)
            self._generated = None
        if self._ticks % TINT_EVERY == 0 and self.snapshot_pending is None:
            self.tint(self.record)
            self.dashboard.text.show(self.record)
            return
        drew = self.dashboard.refresh_next(self.record, hidden_too=self.snapshot_pending is not None)
        if not drew and self.snapshot_pending is not None:
            self._end_run(self.snapshot_pending)

    def _finished(self, document: dict) -> None:
        """The run is done; its plots catch up over the next ticks (see refresh)."""
        if self.record is None or len(self.record.steps) != len(document["steps"]):
            self.record = RunRecord.from_snapshot(document)
        self.record.planned_steps = 0  # the axes fit the run as it went
        self.record.run = dict(document.get("run") or {})
        self.record.text = document["run"].get("completion", self.record.text)
        self.snapshot_pending = document
        if not self.refresh_timer.isActive():
            self.refresh_timer.start()

    def _end_run(self, document: dict) -> None:
        self.refresh_timer.stop()
        self.snapshot, self.snapshot_pending = document, None
        self.tint(self.record)
        self._set_busy(False)
        self.panel.show_progress("generated", len(document["steps"]), len(document["steps"]))
        self.status.emit(self.canvas_note() + run_status(document))
        if document.get("ranks"):
            self.resultShown.emit(self.dashboard.ranks.object_name)

    def canvas_note(self) -> str:
        """A warning that the canvas draws another architecture than the run shown, whose
        boxes then carry none of its shares; "" when it draws the run's. The window keeps a
        canvas with unsaved edits rather than draw a run's model over them."""
        if self.record is None or not self.record.model.get("spec") or self._twins(self.record) is not None:
            return ""
        return f"The plots show {self.record.model['name']}; the canvas keeps {self.drawn_spec().name}. "

    def refresh_all(self) -> None:
        if self.record is not None:
            self.dashboard.show_record(self.record)
            self.tint(self.record)

    def set_canvas_measure(self, measure: str) -> None:
        """What the canvas badges each box with: "share of step" or "fraction of roofline"."""
        if measure not in CANVAS_MEASURES:
            raise ValueError(f"canvas measure: expected one of {CANVAS_MEASURES}, found {measure!r}")
        self.canvas_measure = measure
        if self.record is not None:
            self.tint(self.record)

    def tint(self, record: RunRecord) -> None:
        """The canvas shows the shares of the run's timed decode steps so far (the figures
        the status line gives at the end), or their fractions of roofline."""
        if self.canvas_measure == "fraction of roofline":
            self._tint_roofline(record)
            return
        shares = record.step_time().shares()
        twins = self._twins(record) if shares is not None else None
        if twins is None:
            self.scene.show_step_shares(None)
        else:
            note = scale_note({"scale": record.scale}, record.model)
            self.scene.show_step_shares(*drawn_layer_shares(twins, shares), shares.head, note)

    def _tint_roofline(self, record: RunRecord) -> None:
        """Each box's roofline time over its measured time, over the run's decode steps: once
        the run has ended (its roofs are in its run section), costed once per run (step_cost
        of up to MAX_COSTED_STEPS steps is too slow for every tick)."""
        state = (id(record), len(record.steps), record.run is not None)
        if self._roofline_cache[0] != state:
            self._roofline_cache = (state, part_times(record) if record.run is not None else None)
        times = self._roofline_cache[1]
        twins = self._twins(record) if times is not None else None
        if twins is None:
            self.scene.show_roofline_fractions(None)
            return
        predicted, measured = ((*drawn_layer_times(twins, part.mixer_ms, part.ffn_ms), part.head_ms) for part in times)
        self.scene.show_roofline_fractions(predicted, measured, scale_note({"scale": record.scale}, record.model))

    def _twins(self, record: RunRecord) -> list[list[int]] | None:
        """drawn_layer_twins for this record and the canvas now, remembered: comparing and
        shrinking specs takes longer than a frame."""
        drawn = self.drawn_spec()
        key = (id(record.model), drawn)
        if self._twin_cache[0] != key:
            spec = record.spec()
            self._twin_cache = (key, drawn_layer_twins(drawn, spec) if spec is not None else None)
        return self._twin_cache[1]

    def _swept(self, document: dict) -> None:
        self.sweep = document
        self._add_sweep(document)
        self._set_busy(False)
        sweep = self.sweeps[-1]
        if not sweep.contexts:
            self.status.emit("The sweep measured no context length")
            return
        self.panel.show_progress("swept", len(sweep.contexts), len(sweep.contexts))
        self.status.emit(f"Swept {len(sweep.contexts)} context lengths: decode {sweep.decode_ms[0]:.2f} ms per token "
                         f"at {sweep.contexts[0]:,} tokens, {sweep.decode_ms[-1]:.2f} ms at {sweep.contexts[-1]:,}; "
                         f"KV cache {human_bytes(sweep.kv_bytes[0])} to {human_bytes(sweep.kv_bytes[-1])}")
        self.resultShown.emit(self.dashboard.sweep.object_name)

    def _add_sweep(self, document: dict) -> None:
        """Show a sweep over the previous one (the oldest beyond MAX_SWEEPS goes)."""
        self.sweeps = (self.sweeps + [SweepRecord.from_snapshot(document)])[-MAX_SWEEPS:]
        self.dashboard.show_sweep(self.sweeps)

    def _calibrated(self, document: dict) -> None:
        calibration = document["calibration"]
        flops = ", ".join(f"{dtype} {rate / 1e9:.1f}" for dtype, rate in calibration["matmul_flops_per_s"].items())
        line = (f"Calibrated {document['device']}: {calibration['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s, "
                f"GFLOP/s {flops}; saved to {document['saved_to']}")
        if document["note"]:
            self.panel.show_message(document["note"])
        self.status.emit(line)
        if self.calibrating_alone:
            self.calibrating_alone = False
            self._set_busy(False)
            self.panel.show_progress("calibrated", 1, 1)

    def _batch_swept(self, document: dict) -> None:
        self._show_batch_sweep(document)
        self._set_busy(False)
        points = document["batch_sweep"]
        self.panel.show_progress("swept", len(points), len(points))
        self.resultShown.emit(self.dashboard.batch_sweep.object_name)
        fastest = max(points, key=lambda point: point["tokens_per_s"])
        self.status.emit(f"Swept {len(points)} batch sizes: {points[0]['ms_per_token']:.2f} ms per token at batch "
                         f"{points[0]['batch']}, {fastest['tokens_per_s']:.0f} tokens/s at batch {fastest['batch']}")

    def _studied(self, document: dict) -> None:
        self._set_busy(False)
        self.panel.show_progress("study done", 1, 1)
        self.studied.emit(document)
        self.status.emit(f"{document['study']}: {document['answer']}")

    def _show_batch_sweep(self, document: dict) -> None:
        self.batch_sweep = {"model": document["model"], "hardware": document.get("hardware", {}),
                            "batch_sweep": document["batch_sweep"]}
        self.dashboard.show_batch_sweep(BatchSweepRecord.from_snapshot(document))

    def _failed(self, message: str) -> None:
        if self.loaded_request is None:
            self.model_info = None  # the load itself failed
        self.pending = None
        self.refresh_timer.stop()
        if self.record is not None:
            self.record.planned_steps = 0  # the plots show the steps it took before it failed
            self.refresh_all()
        self._set_busy(False)
        self.panel.show_error(message)
        self.failed.emit(message)

    def _cancelled(self) -> None:
        self.refresh_timer.stop()
        if self.record is not None:
            self.record.planned_steps = 0  # the axes fit the steps it took
        self.refresh_all()
        self._set_busy(False)
        self.panel.show_message("Stopped.")
        self.status.emit("Stopped")

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        if not busy:
            self.calibrating_alone = False
        if not busy:
            hold_long_lived_objects(False)
        self.panel.set_busy(busy)
        self.busyChanged.emit(busy)

    # --- snapshots --------------------------------------------------------------------------

    def open_snapshot(self, path: str | Path) -> dict:
        document = read_snapshot(path)
        self.show_document(document)
        return document

    def show_document(self, document: dict) -> None:
        """Show a finished run (and its sweep, if it has one) without running anything.
        Everything is built before anything is assigned: a document that fails to build
        leaves the last run shown (and exported) as it was."""
        record = RunRecord.from_snapshot(document)
        sweeps = [SweepRecord.from_snapshot(document)] if document.get("sweep") else None
        self.snapshot, self.record = document, record
        self.dashboard.show_record(self.record)
        # its own sweep, or none: a live sweep of another model must not stay beside it
        self.sweeps = sweeps or []
        self.sweep = document if sweeps else None
        self.dashboard.show_sweep(self.sweeps)
        if document.get("batch_sweep"):
            self._show_batch_sweep(document)
        self.tint(self.record)
        if document.get("ranks"):
            self.resultShown.emit(self.dashboard.ranks.object_name)

    def compare_snapshot(self, path: str | Path | None) -> None:
        """Overlay a saved run on the plots (None removes it)."""
        if path is None:
            self.dashboard.overlay(None)
            return
        document = read_snapshot(path)
        self.dashboard.overlay(RunRecord.from_snapshot(document))
        if document.get("sweep"):
            self._add_sweep(document)

    def pin_overlay(self) -> bool:
        """Keep the last run on the plots, dashed, under the next one."""
        if self.record is None:
            return False
        self.dashboard.overlay(self.record)
        return True

    def export(self, folder: str | Path, stem: str) -> list[Path]:
        """The last run as JSON, CSV and Chrome trace, and a PNG of each plot. The last context
        and batch sweeps go into the JSON with it when they measured the same model."""
        if self.snapshot is None:
            raise SnapshotError("Nothing to export yet: run a model or open a snapshot first")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        snapshot = ProfileSnapshot.from_dict(self.snapshot)
        if self.sweep is not None and same_model(self.sweep["model"], self.snapshot["model"]):
            snapshot.extra["sweep"] = self.sweep["sweep"]
        if self.batch_sweep is not None and same_model(self.batch_sweep["model"], self.snapshot["model"]):
            snapshot.extra["batch_sweep"] = self.batch_sweep["batch_sweep"]
        written = export(snapshot, folder / f"{stem}.json", folder / f"{stem}.csv", folder / f"{stem}.trace.json")
        return written + self.dashboard.export_pngs(folder, stem)
