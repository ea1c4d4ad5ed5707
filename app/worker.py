"""The model worker: a QObject living on its own QThread that owns the runtime Session.

The UI never touches torch: it asks through `WorkerHandle` (load, run, cancel) and hears
back through signals carrying plain data -- progress, loaded, steps (coalesced to at most
~30 emissions a second), finished, calibrated, failed, cancelled. Any exception,
out-of-memory included, becomes `failed(message)`; the thread stays usable afterwards. A
run on a device (and thread count) never calibrated first measures its roofs, quickly
(app/runtime/calibrate.py). A parallel run (`parallel_run`) starts its ranks as child
processes; cancel reaches them too.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
import time
import traceback

from dataclasses import asdict, replace

import torch
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from .runtime.batch_sweep import batch_sweep
from .runtime.calibrate import calibrate_and_save, device_name, saved_roofs
from .runtime.generate import Sampling
from .runtime.memory import hardware
from .runtime.probe import Cancelled
from .runtime.roofs_file import RoofsFileError
from .runtime.session import RunConfig, Session, StepUpdate, resolve_device
from .runtime.sweep import context_sweep
from .spec.scale import explore
from .spec.serialize import spec_from_dict

MAX_EMISSIONS_PER_S = 30
_WORKER_SIGNALS = ("progress", "loaded", "steps", "finished", "swept", "calibrated", "batch_swept", "studied",
                   "failed", "cancelled")
# How long closing the window waits for the model thread before leaving it to finish alone:
# longer than a layer of any runnable model takes between two cancel checks, short enough
# that the window does not look frozen.
SHUTDOWN_WAIT_MS = 2000
# Threads that did not stop within SHUTDOWN_WAIT_MS, with their workers: held here until the
# process exits, so that neither is deleted while its code still runs (a QThread destroyed
# while running aborts the process). A finished one holds no model: it drops its session.
_abandoned: list[tuple[QThread, Worker]] = []
ABANDONED_EXIT_WAIT_MS = 10_000


def leave_a_core_for_the_window() -> None:
    """Run this thread's torch ops on one core fewer than the machine has. Its intra-op
    threads spin between ops; on all cores they leave the window's thread waiting for one:
    on 2 cores the longest stall of a streaming run was 68-88 ms with 2 threads and 38-47
    with 1, at the same tokens/s. OpenMP's thread count is per calling thread, so the
    worker thread itself calls this."""
    cores = os.cpu_count() or 1
    if cores > 1 and torch.get_num_threads() >= cores:
        torch.set_num_threads(cores - 1)


class Worker(QObject):
    progress = Signal(str, int, int)  # what, done, total
    loaded = Signal(dict)  # the session's model info (spec document, params, device) and its "scale"
    steps = Signal(list)  # [StepUpdate, ...] since the last emission
    finished = Signal(dict)  # the snapshot document
    swept = Signal(dict)  # a context sweep: {"model", "hardware", "sweep": [point, ...]}
    calibrated = Signal(dict)  # {"device", "threads", "quick", "calibration", "saved_to", "note"}
    batch_swept = Signal(dict)  # a batch sweep: {"model", "hardware", "batch_sweep": [point, ...]}
    studied = Signal(dict)  # a study's result (app/studies/study.py StudyResult, as data.json holds it)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self):
        super().__init__()
        self.session: Session | None = None
        self._cancel = threading.Event()  # set from the UI thread, read between layers
        self._pending: list[StepUpdate] = []
        self._last_emit = 0.0

    def request_cancel(self) -> None:
        self._cancel.set()

    @Slot(dict)
    def load(self, request: dict) -> None:
        """request: {"source": ...} for weights; {"arch": name, "scale": ...} or {"spec": spec
        document, "scale": "explore" | "slice" | "as drawn"} for random ones; optional "device", "dtype",
        "seed", and for weights "weights" ("native" | "dequantize": a GGUF file's low bits kept or expanded)."""
        self._cancel.clear()
        leave_a_core_for_the_window()
        try:
            self._release()
            device, dtype = request.get("device", "auto"), request.get("dtype", "float32")
            if "arch" in request or "spec" in request:
                self.progress.emit("building", 0, 1)
                arch, scale = request.get("arch"), request.get("scale", "explore")
                published = None
                if arch is None and scale == "slice":  # the drawing's published widths, one layer per kind
                    self.session = Session.from_slice(spec_from_dict(request["spec"]), device, dtype,
                                                      request.get("seed", 0))
                else:
                    if arch is None:
                        drawn = spec_from_dict(request["spec"])
                        arch, published = (explore(drawn), drawn) if scale == "explore" else (drawn, None)
                        scale = "explore" if scale == "explore" else "full"  # "as drawn": the drawing's own size
                    self.session = Session.from_arch(arch, scale, device, dtype, request.get("seed", 0),
                                                     published=published)
                self.progress.emit("building", 1, 1)
            else:
                self.session = Session.from_source(request["source"], device, dtype,
                                                   progress=lambda done, total: self.progress.emit("loading", done,
                                                                                                   total),
                                                   weights=request.get("weights", "native"))
            self.loaded.emit({**self.session.model_info(), "scale": self.session.scale})
        except Exception as error:  # noqa: BLE001 - every failure must reach the UI as a message
            self._fail("loading failed", error)

    @Slot(dict)
    def run(self, settings: dict) -> None:
        """settings: RunConfig fields (prompt, max_new_tokens, batch, probe, chat, stop_at_eos,
        mode) plus temperature, top_k, top_p, seed."""
        self._cancel.clear()
        if self.session is None:
            self.failed.emit("No model is loaded: load one before running.")
            return
        sampling_keys = ("temperature", "top_k", "top_p", "seed")
        sampling = Sampling(**{k: settings[k] for k in sampling_keys if k in settings})
        config = RunConfig(sampling=sampling, **{k: v for k, v in settings.items() if k not in sampling_keys})
        if not self._calibrated_before_run():
            return
        config = replace(config, roofs=self._saved_roofs())
        try:
            snapshot = self.session.run(config, on_step=self._on_step, cancelled=self._cancel.is_set,
                                        on_progress=self.progress.emit)
        except Cancelled:
            self._flush()
            self.cancelled.emit()
            return
        except Exception as error:  # noqa: BLE001
            self._pending.clear()
            self._fail("the run failed", error)
            return
        self._flush()
        self.finished.emit(snapshot.to_dict())

    @Slot(dict)
    def parallel_run(self, settings: dict) -> None:
        """A tensor- and expert-parallel run (app/parallel/profile.py): settings "spec" (the
        spec document at the run's scale), "scale" (its name, for the snapshot), "tp", "ep",
        "prompt", "max_new_tokens", optional "batch", "seed", "dtype", "device", "temperature",
        "top_k", "top_p", "checkpoint" (a Hugging Face folder whose config gives the spec: each rank
        reads its share of the weights). The ranks are child processes that build their own shares; cancel
        reaches them through the same flag as a run's, and they stop together at their next
        step. progress("ranks", done, total) per step; finished(snapshot) with its "ranks"."""
        from .parallel.launch import RankFailed
        from .parallel.plan import PlanError
        from .parallel.profile import profile_parallel, threads_per_rank

        self._cancel.clear()
        # The ranks build their own models: the worker's goes first, so that a full-size
        # model is never held here beside its shares in the ranks.
        self._release()
        try:
            spec = spec_from_dict(settings["spec"])
            world_size = max(settings["tp"], settings["ep"])
            sampling = Sampling(**{key: settings[key] for key in ("temperature", "top_k", "top_p", "seed")
                                   if key in settings})
            snapshot = profile_parallel(
                spec, settings["tp"], settings["ep"], prompt_text=settings["prompt"], scale=settings["scale"],
                batch=settings.get("batch", 1), max_new_tokens=settings["max_new_tokens"],
                seed=settings.get("seed", 0), dtype=settings.get("dtype", "float32"),
                device_request=settings.get("device", "auto"),
                # one core fewer for the window, as leave_a_core_for_the_window does for a run
                threads=threads_per_rank(world_size, max(1, (os.cpu_count() or 1) - 1)),
                sampling=sampling, cancel=self._cancel,
                on_step=lambda done, total: self.progress.emit("ranks", done, total),
                on_start=lambda line: self.progress.emit(line, 0, 0), checkpoint=settings.get("checkpoint"))
        except Cancelled:
            self.cancelled.emit()
            return
        except (PlanError, RankFailed) as error:
            # their text names the field or the rank: it is the message, without a traceback
            self.failed.emit(f"the parallel run failed: {error}")
            return
        except Exception as error:  # noqa: BLE001
            self._fail("the parallel run failed", error)
            return
        self.finished.emit(snapshot.to_dict())

    @Slot(dict)
    def sweep(self, settings: dict) -> None:
        """settings: "contexts" (token counts), optional "decode_steps" and "probe"."""
        self._cancel.clear()
        if self.session is None:
            self.failed.emit("No model is loaded: load one before sweeping.")
            return
        contexts = sorted(settings["contexts"])
        points = self._sweep_points("sweeping", "the sweep", len(contexts), lambda on_point: context_sweep(
            self.session, contexts, settings.get("decode_steps", 4), settings.get("probe", True),
            cancelled=self._cancel.is_set, on_point=on_point))
        if points is not None:
            self.swept.emit({"model": self.session.model_info(), "hardware": hardware(self.session.device),
                             "sweep": [asdict(point) for point in points]})

    def _sweep_points(self, label: str, what: str, total: int, measure) -> list | None:
        """measure(on_point) with the progress bar counting its points; None when it was
        cancelled or failed (and said so)."""
        done = []

        def point_done(point) -> None:
            done.append(point)
            self.progress.emit(label, len(done), total)

        self.progress.emit(label, 0, total)
        try:
            return measure(point_done)
        except Cancelled:
            self.cancelled.emit()
        except Exception as error:  # noqa: BLE001
            self._fail(f"{what} failed", error)
        return None

    @Slot(dict)
    def calibrate(self, settings: dict) -> None:
        """settings: "device" ("auto", "cpu", "cuda:N"), "quick" (default False): measure
        the device's roofs at this thread's thread count and save them."""
        self._cancel.clear()
        leave_a_core_for_the_window()  # the thread count runs use: the roofs are keyed by it
        try:
            self._measure_roofs(resolve_device(settings.get("device", "auto")), settings.get("quick", False))
        except Cancelled:
            self.cancelled.emit()
        except Exception as error:  # noqa: BLE001
            self._fail("calibration failed", error)

    def _saved_roofs(self):
        """The session's device's roofs for its dtype, or None (a file that cannot be read
        included: the run is then measured without a prediction, never failed for it)."""
        try:
            return saved_roofs(self.session.device, str(self.session.dtype).removeprefix("torch."))
        except RoofsFileError:
            return None

    def _calibrated_before_run(self) -> bool:
        """Before a run on a device never calibrated at this thread count, the quick
        calibration, so the run has roofs to predict from. False when it was cancelled or
        failed (and said so)."""
        dtype = str(self.session.dtype).removeprefix("torch.")
        try:
            if saved_roofs(self.session.device, dtype) is not None:
                return True
        except RoofsFileError:
            pass  # calibrating rewrites it, keeping the unreadable one aside; "note" says so
        try:
            self._measure_roofs(self.session.device, quick=True)
        except Cancelled:
            self.cancelled.emit()
            return False
        except Exception as error:  # noqa: BLE001
            self._fail("calibration failed", error)
            return False
        return True

    def _measure_roofs(self, device: torch.device, quick: bool) -> None:
        label = f"Calibrating {device_name(device)}…"
        calibration, saved = calibrate_and_save(device, quick=quick, cancelled=self._cancel.is_set,
                                                progress=lambda done, total: self.progress.emit(label, done, total))
        self.calibrated.emit({"device": calibration.device, "threads": calibration.threads, "quick": quick,
                              "calibration": calibration.to_dict(), "saved_to": str(saved.path), "note": saved.note})

    @Slot(dict)
    def batch_sweep(self, settings: dict) -> None:
        """settings: "batches" (batch sizes), optional "context", "decode_steps" and "probe"."""
        self._cancel.clear()
        if self.session is None:
            self.failed.emit("No model is loaded: load one before sweeping.")
            return
        batches = sorted(settings["batches"])
        if not self._calibrated_before_run():  # the roofs the prediction beside each point needs
            return
        roofs = self._saved_roofs()  # None: measured only; the plot says to calibrate
        options = {key: settings[key] for key in ("context", "decode_steps", "probe") if key in settings}
        points = self._sweep_points("batch sweep", "the batch sweep", len(batches), lambda on_point: batch_sweep(
            self.session, batches, roofs=roofs, cancelled=self._cancel.is_set, on_point=on_point, **options))
        if points is not None:
            self.batch_swept.emit({"model": self.session.model_info(), "hardware": hardware(self.session.device),
                                   "batch_sweep": [asdict(point) for point in points]})

    @Slot(dict)
    def study(self, settings: dict) -> None:
        """settings: "name" (a study of app/studies/registry.py), optional "quick",
        "device", "dtype" and "size". It builds the models it needs beside the loaded one;
        progress counts in percent, and cancel stops it between layers."""
        from .studies.registry import STUDIES
        from .studies.study import Settings

        self._cancel.clear()
        study = STUDIES.get(settings.get("name"))
        if study is None:
            self.failed.emit(f"Unknown study {settings.get('name')!r}; expected one of {', '.join(STUDIES)}.")
            return
        leave_a_core_for_the_window()
        label = f"Study: {study.name}"
        options = {key: settings[key] for key in ("quick", "device", "dtype", "size") if key in settings}
        progress = (lambda text, fraction: self.progress.emit(f"{label}: {text}", round(100 * fraction), 100))
        try:
            result = study.run(Settings(**options, progress=progress, cancelled=self._cancel.is_set))
        except Cancelled:
            self.cancelled.emit()
            return
        except Exception as error:  # noqa: BLE001
            self._fail(f"the {study.name} study failed", error)
            return
        self.studied.emit(result.to_dict())

    def _on_step(self, update: StepUpdate) -> None:
        self._pending.append(update)
        if time.monotonic() - self._last_emit >= 1.0 / MAX_EMISSIONS_PER_S:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self.steps.emit(self._pending)
            self._pending = []
            self._last_emit = time.monotonic()

    def _fail(self, what: str, error: BaseException) -> None:
        if isinstance(error, torch.cuda.OutOfMemoryError):
            message = f"{what}: out of GPU memory ({error}). Try a smaller scale, a shorter run or bfloat16."
        else:
            message = f"{what}: {error}"
        traceback.print_exception(error)
        # The traceback's frames hold the failed step's tensors: let them go now. (No
        # gc.collect() here: collecting on this thread may finalize Qt objects of the UI
        # thread, which crashes; WorkerHandle collects in the UI thread instead.)
        error.__traceback__ = None
        self.failed.emit(message)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _release(self) -> None:
        """Drop the current model before building another, so two never share memory
        (its modules hold no reference cycles, so dropping the session frees them)."""
        self.session = None


class WorkerHandle(QObject):
    """Owns the thread. The UI calls load/run/cancel here and listens to the handle's own
    signals, which re-emit the worker's in the UI thread (queued across the threads)."""

    load_requested = Signal(dict)
    run_requested = Signal(dict)
    parallel_run_requested = Signal(dict)
    sweep_requested = Signal(dict)
    calibrate_requested = Signal(dict)
    batch_sweep_requested = Signal(dict)
    study_requested = Signal(dict)
    progress = Signal(str, int, int)
    loaded = Signal(dict)
    steps = Signal(list)
    finished = Signal(dict)
    swept = Signal(dict)
    calibrated = Signal(dict)
    batch_swept = Signal(dict)
    studied = Signal(dict)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("archscope-model-worker")
        self.worker = Worker()
        self.worker.moveToThread(self.thread)
        self.load_requested.connect(self.worker.load)
        self.run_requested.connect(self.worker.run)
        self.parallel_run_requested.connect(self.worker.parallel_run)
        self.sweep_requested.connect(self.worker.sweep)
        self.calibrate_requested.connect(self.worker.calibrate)
        self.batch_sweep_requested.connect(self.worker.batch_sweep)
        self.study_requested.connect(self.worker.study)
        for name in _WORKER_SIGNALS:
            getattr(self.worker, name).connect(getattr(self, name))
        self.failed.connect(lambda message: gc.collect())  # re-emitted in the UI thread: collect here (Worker._fail)
        self.thread.start()

    def load(self, request: dict) -> None:
        self.load_requested.emit(request)

    def run(self, settings: dict) -> None:
        self.run_requested.emit(settings)

    def parallel_run(self, settings: dict) -> None:
        self.parallel_run_requested.emit(settings)

    def sweep(self, settings: dict) -> None:
        self.sweep_requested.emit(settings)

    def calibrate(self, settings: dict) -> None:
        self.calibrate_requested.emit(settings)

    def batch_sweep(self, settings: dict) -> None:
        self.batch_sweep_requested.emit(settings)

    def study(self, settings: dict) -> None:
        self.study_requested.emit(settings)

    def cancel(self) -> None:
        self.worker.request_cancel()  # a flag, not a queued call: the worker thread is busy

    def shutdown(self) -> bool:
        """Stop the thread without blocking the window: cancel, then wait at most
        SHUTDOWN_WAIT_MS. A thread still busy then (inside one long operation that cancel
        cannot interrupt) is abandoned: it stops at its next cancel check, its signals no
        longer reach this handle, and it is kept alive until it does. True when it stopped."""
        self.worker.request_cancel()
        self.thread.quit()  # taken once the current slot returns to the thread's event loop
        if self.thread.wait(SHUTDOWN_WAIT_MS):
            return True
        for name in _WORKER_SIGNALS:
            getattr(self.worker, name).disconnect(getattr(self, name))
        _abandon(self.thread, self.worker)
        return False


def _abandon(thread: QThread, worker: Worker) -> None:
    # Direct: in the worker's own thread, as its last act, so the model is freed even when
    # the window lives on (a closed profiling dialog)
    thread.finished.connect(worker._release, Qt.DirectConnection)
    if not _abandoned:
        atexit.register(_wait_for_abandoned_threads)
    _abandoned.append((thread, worker))


def _wait_for_abandoned_threads() -> None:
    """At exit, give abandoned threads a last chance to reach their cancel check; one still
    running after that would abort the process when Python deletes its QThread, so the
    process ends here instead (the window is gone and nothing of the user's is pending:
    autosave ran when the window closed)."""
    for thread, _ in _abandoned:
        if thread.isRunning() and not thread.wait(ABANDONED_EXIT_WAIT_MS):
            sys.stderr.write("archscope: the model thread did not stop; exiting without it\n")
            sys.stderr.flush()
            os._exit(0)
    _abandoned.clear()
