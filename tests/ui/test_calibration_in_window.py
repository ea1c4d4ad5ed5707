"""Calibration from the window: a first run on a device never calibrated measures it
first, with the run panel's bar saying so, then runs; the next run does not measure again;
the menu's full calibration can be stopped like a run."""

import pytest
from PySide6.QtGui import QAction

from app.runtime.calibrate import cpu_model_name
from app.ui.app import run_and_wait

TIMEOUT_MS = 300_000  # generous: only a hang should trip it


@pytest.fixture
def window(open_window, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSCOPE_CONFIG_DIR", str(tmp_path / "config"))  # nothing calibrated yet
    window = open_window("gpt2-small")
    window.run_panel.device.setCurrentIndex(window.run_panel.device.findData("cpu"))
    panel, shown = window.run_panel, []  # the bar's text after each update
    show_progress = panel.show_progress

    def show_and_note(what, done, total):
        show_progress(what, done, total)
        shown.append(panel.progress.format())

    panel.show_progress = show_and_note  # before the worker is made: it connects to this
    assert window.runs._worker is None
    window.shown_progress = shown
    yield window
    window.runs.shutdown()


def test_a_first_run_calibrates_with_the_bar_showing_it_then_runs(window, tmp_path):
    calibrations = []
    window.runs.worker.calibrated.connect(calibrations.append)
    snapshot = run_and_wait(window, 2)
    assert len(snapshot["steps"]) == 2
    calibrating = [text for text in window.shown_progress if text.startswith("Calibrating")]
    assert calibrating and cpu_model_name() in calibrating[0]
    total = calibrating[-1].rsplit("/", 1)[1].strip()
    assert calibrating[-1].endswith(f"{total} / {total}")  # the bar reached its end before the run began
    after = window.shown_progress[window.shown_progress.index(calibrating[-1]) + 1:]
    assert after and all(text.startswith("generat") for text in after)  # then the run's own
    assert [c["quick"] for c in calibrations] == [True]
    assert calibrations[0]["saved_to"] == str(tmp_path / "config" / "roofs.json")
    assert calibrations[0]["calibration"]["roofs"]["float32"]["flops_per_s"] > 0
    assert (tmp_path / "config" / "roofs.json").is_file()
    # the run predicts from the roofs it just measured: each step's least time per layer
    assert snapshot["run"]["roofs"]["flops_per_s"] == calibrations[0]["calibration"]["roofs"]["float32"]["flops_per_s"]
    assert all(len(step["predicted_ms"]) == len(step["layer_ms"]) > 0 for step in snapshot["steps"])

    window.shown_progress.clear()
    assert len(run_and_wait(window, 2)["steps"]) == 2
    assert not [text for text in window.shown_progress if text.startswith("Calibrating")]
    assert len(calibrations) == 1  # the saved roofs served the second run


def test_the_menu_calibration_stops_like_a_run(window, qtbot, tmp_path):
    action = next(a for a in window.findChildren(QAction) if a.text() == "Cali&brate device")
    assert "bandwidth" in action.toolTip()
    action.trigger()
    assert window.run_panel.stop_button.isEnabled() and not window.run_panel.run_button.isEnabled()
    qtbot.waitUntil(lambda: any(t.startswith("Calibrating") for t in window.shown_progress), timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.runs.busyChanged, timeout=TIMEOUT_MS):
        window.stop_action.trigger()
    assert window.run_panel.message.text() == "Stopped."
    assert window.run_panel.run_button.isEnabled()
    assert not (tmp_path / "config" / "roofs.json").exists()  # a stopped calibration saves nothing
