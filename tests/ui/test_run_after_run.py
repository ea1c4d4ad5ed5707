"""One run after another in the window, as a user drives it: after each run (or an opened
snapshot) the canvas, its tint, the catalog's selection and the latency plot's scale are
the latest run's, never the one before it."""

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from app.runtime.figures import decode_step_time
from app.runtime.snapshot import ProfileSnapshot
from app.spec import catalog
from app.spec.serialize import spec_from_dict
from app.ui.app import run_and_wait
from app.ui.commands import SpecEdit
from app.ui.dashboard.plots import LEGEND_HEADROOM
from app.ui.run_controller import drawn_layer_shares, drawn_layer_twins

TOKENS = 3
RUN_TIMEOUT_MS = 300_000  # generous: only a hang should trip it


@pytest.fixture
def window(open_window):
    window = open_window("llama3-8b")
    window.run_panel.device.setCurrentIndex(window.run_panel.device.findData("cpu"))
    yield window
    window.runs.shutdown()


def assert_canvas_shows(window, snapshot: dict) -> None:
    """The canvas draws the run's architecture (or the one the run was the explore scale
    of), tinted by this run's shares, and the catalog claims no other entry."""
    drawn, run = window.document.spec, spec_from_dict(snapshot["model"]["spec"])
    scene = window.canvas.arch_scene
    assert scene.spec == drawn
    twins = drawn_layer_twins(drawn, run)
    assert twins is not None, f"the canvas shows {drawn.name}, the run was {run.name}"
    shares = decode_step_time(ProfileSnapshot.from_dict(snapshot).steps).shares()
    mixer, ffn = drawn_layer_shares(twins, shares)
    assert scene.step_shares is not None
    assert scene.step_shares[0] == pytest.approx(mixer) and scene.step_shares[1] == pytest.approx(ffn)
    claimed = [item.data(Qt.UserRole) for item in window.browser.list.selectedItems()]
    assert all(catalog.get(name) == drawn for name in claimed), f"the catalog claims {claimed}, the canvas {drawn.name}"


def assert_latency_scale_fits(window, snapshot: dict) -> None:
    last = snapshot["steps"][-1]
    tallest = max(last["layer_ms"] + (last.get("predicted_ms") or []))
    top = window.dashboard.latency.bars_plot.viewRange()[1][1]
    assert tallest <= top <= 3 * tallest * LEGEND_HEADROOM, f"bars up to {tallest:.2f} ms on a 0-{top:.2f} ms axis"


def assert_window_shows(window, snapshot: dict) -> None:
    assert_canvas_shows(window, snapshot)
    assert_latency_scale_fits(window, snapshot)


def test_each_run_of_another_model_replaces_the_last_on_canvas_catalog_and_plots(window):
    gemma = run_and_wait(window, TOKENS, "embedded:gemma3-270m")
    assert window.document.spec == spec_from_dict(gemma["model"]["spec"])
    assert_window_shows(window, gemma)
    assert window.browser.list.currentItem().data(Qt.UserRole) == "gemma3-270m"  # the catalog's own Gemma 3 270M
    smollm = run_and_wait(window, TOKENS, "embedded:smollm2-135m")
    assert window.document.spec == spec_from_dict(smollm["model"]["spec"])
    assert_window_shows(window, smollm)
    # the canvas architecture with random weights, after the real weights put SmolLM2 on it
    explore_run = run_and_wait(window, TOKENS)
    assert_window_shows(window, explore_run)


def test_a_model_still_loaded_comes_back_on_the_canvas_when_run_again(window):
    run_and_wait(window, TOKENS, "embedded:smollm2-135m")
    window.open_entry("gemma3-1b")
    again = run_and_wait(window, TOKENS, "embedded:smollm2-135m")  # the model in memory: no new load
    assert window.document.spec == spec_from_dict(again["model"]["spec"])
    assert_window_shows(window, again)


def test_an_opened_snapshot_of_another_model_replaces_the_run_shown(window, tmp_path):
    run_and_wait(window, TOKENS, "embedded:gemma3-270m")
    window.export_profile(tmp_path, "gemma")
    smollm = run_and_wait(window, TOKENS, "embedded:smollm2-135m")
    assert window.open_snapshot(tmp_path / "gemma.json")
    gemma = window.runs.snapshot
    assert window.document.spec == spec_from_dict(gemma["model"]["spec"])
    assert_window_shows(window, gemma)
    assert smollm["model"]["name"] != gemma["model"]["name"]


def run_the_canvas_at_slice_scale(window, qtbot) -> dict:
    """run_and_wait runs the canvas at explore scale; a slice keeps the published widths."""
    panel = window.run_panel
    panel.set_source("canvas")
    panel.scale.setCurrentIndex(panel.scale.findData("slice"))
    panel.max_new_tokens.setValue(TOKENS)
    with qtbot.waitSignal(window.runs.busyChanged, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda busy: not busy):
        panel.request_run()
    return window.runs.snapshot


def test_a_small_model_after_a_wide_one_gets_a_latency_scale_of_its_own(window, qtbot):
    window.open_entry("smollm2-1.7b")
    wide = run_the_canvas_at_slice_scale(window, qtbot)  # published widths: tens of ms a layer on a CPU
    assert_window_shows(window, wide)
    # on a quiet CPU SmolLM2 135M's layers take about a tenth of those: the wide run's scale,
    # had it stayed, would hold its bars in the bottom tenth of the plot
    small = run_and_wait(window, TOKENS, "embedded:smollm2-135m")
    assert_window_shows(window, small)


def edit_the_canvas(window) -> None:
    spec = window.document.spec
    window.document.undo_stack.push(SpecEdit(window.document, replace(spec, vocab_size=spec.vocab_size + 64),
                                             "Vocabulary size"))
    assert window.document.modified


def test_unsaved_edits_stay_on_the_canvas_and_the_status_bar_says_the_run_is_another_model(window, tmp_path):
    run_and_wait(window, TOKENS, "embedded:smollm2-135m")
    window.export_profile(tmp_path, "smollm")
    edit_the_canvas(window)
    edited = window.document.spec
    gemma = run_and_wait(window, TOKENS, "embedded:gemma3-270m")
    assert window.document.spec == edited
    status = window.statusBar().currentMessage()
    assert gemma["model"]["name"] in status and "canvas" in status, status
    assert window.canvas.arch_scene.step_shares is None  # no other model's shares on these boxes
    assert_latency_scale_fits(window, gemma)

    assert window.open_snapshot(tmp_path / "smollm.json")
    assert window.document.spec == edited
    status = window.statusBar().currentMessage()
    assert window.runs.snapshot["model"]["name"] in status and "canvas" in status, status
