"""`archscope --selftest`: prove that an installation (a bundle above all) works, end to end.

It opens the main window (offscreen where there is no display), loads the embedded default
model through the model worker on its thread, profiles 8 tokens with the per-layer probe
on, writes the snapshot (JSON, CSV, Chrome trace) to a temporary folder, reads it back and
checks it. One line on stdout says what passed, with the start-up time (process start to
the window's first show event); on a failure, one line on stderr says why, and the exit
status is 1.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from . import __version__
from .defaults import DEFAULT_MODEL

SELFTEST_TOKENS = 8
LOAD_TIMEOUT_S = 300  # a slow shared machine loads Gemma 3 270M in ~15 s; only a hang trips these
RUN_TIMEOUT_S = 300
PROFILE_SCHEMA = "archscope.profile/1"


class SelftestFailure(Exception):
    """What went wrong, in one line."""


def process_start_time() -> float:
    """When this process started (seconds since the epoch), from the OS."""
    import psutil

    return psutil.Process().create_time()


def check_snapshot(document: dict, num_layers: int, new_tokens: int, probe: bool = True) -> list[str]:
    """Every way `document` falls short of a profile snapshot of `new_tokens` tokens on a
    model of `num_layers` layers ("archscope.profile/1"); an empty list when it does not."""
    problems: list[str] = []
    if document.get("schema") != PROFILE_SCHEMA:
        problems.append(f"schema: expected {PROFILE_SCHEMA!r}, found {document.get('schema')!r}")
    for section in ("created", "app_version", "model", "hardware", "run", "steps", "summary"):
        if section not in document:
            problems.append(f"{section}: missing")
    if problems:
        return problems
    run, steps, summary = document["run"], document["steps"], document["summary"]
    if run.get("new_tokens") != new_tokens:
        problems.append(f"run.new_tokens: expected {new_tokens}, found {run.get('new_tokens')}")
    if run.get("probe") is not probe:
        problems.append(f"run.probe: expected {probe}, found {run.get('probe')}")
    if len(steps) != new_tokens:
        problems.append(f"steps: expected {new_tokens} steps, found {len(steps)}")
    if not isinstance(document["model"].get("spec"), dict):
        problems.append("model.spec: missing")
    prompt_tokens = run.get("prompt_tokens", 0)
    for index, step in enumerate(steps):
        where = f"steps[{index}]"
        phase = "prefill" if index == 0 else "decode"
        if step.get("index") != index or step.get("phase") != phase:
            problems.append(f"{where}: expected index {index} ({phase}), found {step.get('index')} "
                            f"({step.get('phase')})")
        if step.get("seq_len") != prompt_tokens + index:
            problems.append(f"{where}.seq_len: expected {prompt_tokens + index}, found {step.get('seq_len')}")
        if not (isinstance(step.get("wall_ms"), (int, float)) and step["wall_ms"] > 0):
            problems.append(f"{where}.wall_ms: expected a positive time, found {step.get('wall_ms')!r}")
        layer_ms = step.get("layer_ms", [])
        if probe and len(layer_ms) != num_layers:
            problems.append(f"{where}.layer_ms: expected one entry per layer ({num_layers}), found {len(layer_ms)}")
        elif any(not (isinstance(ms, (int, float)) and math.isfinite(ms) and ms >= 0) for ms in layer_ms):
            problems.append(f"{where}.layer_ms: a time that is not a finite non-negative number")
        kv_bytes, predicted = step.get("kv_bytes", []), step.get("kv_bytes_predicted", [])
        if len(kv_bytes) != num_layers:
            problems.append(f"{where}.kv_bytes: expected one entry per layer ({num_layers}), found {len(kv_bytes)}")
        elif kv_bytes != predicted:
            layer = next(i for i, (a, b) in enumerate(zip(kv_bytes, predicted)) if a != b) if len(predicted) == \
                len(kv_bytes) else 0
            problems.append(f"{where}.kv_bytes: measured {kv_bytes[layer]} bytes at layer {layer}, the analysis "
                            f"predicts {predicted[layer] if layer < len(predicted) else 'nothing'}")
    if probe and len(summary.get("layer_ms_mean", [])) != num_layers:
        problems.append(f"summary.layer_ms_mean: expected {num_layers} entries, found "
                        f"{len(summary.get('layer_ms_mean', []))}")
    if summary.get("kv_bytes_final") != summary.get("kv_bytes_final_predicted"):
        problems.append(f"summary.kv_bytes_final: {summary.get('kv_bytes_final')} measured, "
                        f"{summary.get('kv_bytes_final_predicted')} predicted")
    if new_tokens > 1 and not summary.get("decode_tokens_per_s", 0) > 0:
        problems.append("summary.decode_tokens_per_s: expected a positive speed")
    return problems


def _show_window(scratch: Path):
    """The main window, shown, with its settings and autosave in `scratch` (the user's are
    left alone); returns it and when its first show event came."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject, QSettings

    from .ui.app import _application, application_icon

    app = _application()

    class FirstShow(QObject):
        at: float | None = None

        def eventFilter(self, watched, event):  # noqa: N802 - Qt's name
            if event.type() == QEvent.Show and self.at is None:
                self.at = time.time()
            return False

    from .ui.main_window import MainWindow

    settings = QSettings(str(scratch / "settings.ini"), QSettings.IniFormat)
    window = MainWindow(settings=settings, autosave_dir=scratch, entry=DEFAULT_MODEL.removeprefix("embedded:"))
    first_show = FirstShow(window)
    window.installEventFilter(first_show)
    window.show()
    for _ in range(3):
        app.processEvents()
    if first_show.at is None or not window.isVisible():
        raise SelftestFailure("the main window did not show")
    if window.grab().isNull():
        raise SelftestFailure("the main window did not render")
    if application_icon().isNull():
        raise SelftestFailure("the application icon is missing (app/resources/icons)")
    return app, window, first_show.at


def _profile(window, model: str, tokens: int) -> tuple[dict, dict, float]:
    """Load `model` and run `tokens` tokens through the window's own run panel, worker and
    dashboard, as a user's Run does; returns the model info, the snapshot document and the
    load time in seconds."""
    from .ui.app import run_and_wait

    started = time.perf_counter()
    loaded: list[float] = []
    window.runs.modelLoaded.connect(lambda info: loaded.append(time.perf_counter() - started))
    try:
        document = run_and_wait(window, tokens, model, LOAD_TIMEOUT_S + RUN_TIMEOUT_S, stop_at_eos=False)
    except RuntimeError as error:
        if not loaded:
            raise SelftestFailure(f"loading {model}: {str(error).removeprefix('loading failed: ')}") from None
        raise SelftestFailure(f"profiling {model}: {error}") from None
    if len(window.dashboard.plotted()["latency_heatmap"]) != len(document["steps"]):
        raise SelftestFailure("the dashboard does not show every step of the run")
    return document["model"], document, loaded[0] if loaded else 0.0


def _write_and_check(document: dict, num_layers: int, tokens: int, out_dir: Path) -> None:
    from .runtime.export import export
    from .runtime.snapshot import ProfileSnapshot

    paths = [out_dir / "selftest.json", out_dir / "selftest.csv", out_dir / "selftest.trace.json"]
    export(ProfileSnapshot.from_dict(document), *paths)
    try:
        written = json.loads(paths[0].read_text(encoding="utf-8"))
        csv_rows = list(csv.DictReader(paths[1].open(encoding="utf-8")))
        trace = json.loads(paths[2].read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SelftestFailure(f"reading the snapshot back: {error}") from None
    problems = check_snapshot(written, num_layers, tokens)
    if written.get("app_version") != __version__:
        problems.append(f"app_version: expected {__version__}, found {written.get('app_version')}")
    if len(csv_rows) != tokens * num_layers:
        problems.append(f"CSV: expected {tokens * num_layers} rows (a step per layer), found {len(csv_rows)}")
    slices = [event for event in trace.get("traceEvents", []) if event.get("ph") == "X"]
    layer_slices = [event for event in slices if 0 < event.get("tid", 0) <= num_layers]
    if len(layer_slices) != 3 * tokens * num_layers:  # a layer slice with its mixer and feed-forward slices
        problems.append(f"trace: expected {3 * tokens * num_layers} layer slices, found {len(layer_slices)}")
    closing = [event for event in slices if event.get("name", "").startswith(("head ", "sample "))]
    if len(closing) != 2 * tokens:  # the output head's and the sampling's slice of every step
        problems.append(f"trace: expected {2 * tokens} head and sampling slices, found {len(closing)}")
    if problems:
        raise SelftestFailure(f"the snapshot in {paths[0].name} is wrong: " + "; ".join(problems[:3])
                              + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""))


def run_selftest(model: str = DEFAULT_MODEL, tokens: int = SELFTEST_TOKENS) -> int:
    """The `--selftest` command: 0 when everything passed, 1 with the reason on stderr."""
    process_started = process_start_time()
    try:
        with tempfile.TemporaryDirectory(prefix="archscope-selftest-") as scratch:
            scratch = Path(scratch)
            app, window, shown_at = _show_window(scratch)
            try:
                info, document, load_s = _profile(window, model, tokens)
                num_layers = len(info["layers"])
                _write_and_check(document, num_layers, tokens, scratch)
            finally:
                window.runs.shutdown()
                window.close()
                window.deleteLater()
                app.processEvents()
    except SelftestFailure as failure:
        print(f"archscope selftest: FAILED: {failure}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the reason must reach the user in one line
        print(f"archscope selftest: FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    summary = document["summary"]
    print(f"archscope selftest: ok: window shown {shown_at - process_started:.2f} s after start; {model} "
          f"({num_layers} layers) loaded in {load_s:.1f} s; {tokens} tokens profiled, decode "
          f"{summary['decode_tokens_per_s']:.1f} tokens/s on {info['device']}; snapshot written and checked")
    return 0
