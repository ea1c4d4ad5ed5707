"""The dashboard end to end, through the window as a user drives it: the run panel asks,
the worker runs on its thread, the plots fill. Every plot holds the run's snapshot; an
export writes the four formats and its JSON re-opens into the same plots; Stop ends a run
and the app runs again; a failure is shown and leaves the app usable; real weights stream
their text into the window."""

import gc
import json
import os

import pytest
import torch
from PySide6.QtWidgets import QMessageBox, QTabBar

from app.cli import main
from app.runtime.figures import threads_text
from app.spec.scale import explore
from app.ui.app import run_and_wait

RUN_TIMEOUT_MS = 300_000  # generous: only a hang should trip it


@pytest.fixture
def window(open_window):
    window = open_window("deepseek-v3")
    window.resize(1600, 1000)
    window.run_panel.device.setCurrentIndex(window.run_panel.device.findData("cpu"))
    yield window
    window.runs.shutdown()


def assert_plots_hold(plotted: dict, snapshot: dict) -> None:
    steps = snapshot["steps"]
    layers = len(snapshot["model"]["layers"])
    assert plotted["latency_bars"] == pytest.approx(steps[-1]["layer_ms"])
    assert len(plotted["latency_heatmap"]) == len(steps)
    assert all(len(row) == layers for row in plotted["latency_heatmap"])
    assert plotted["latency_heatmap"] == [pytest.approx(s["layer_ms"]) for s in steps]
    assert plotted["mixer_ms"] == pytest.approx(steps[-1]["mixer_ms"])
    assert plotted["ffn_ms"] == pytest.approx(steps[-1]["ffn_ms"])
    assert plotted["kv_total"] == [sum(s["kv_bytes"]) for s in steps]
    assert plotted["kv_predicted_total"] == [sum(s["kv_bytes_predicted"]) for s in steps]
    assert plotted["kv_per_layer"] == steps[-1]["kv_bytes"]
    assert plotted["memory"]["rss"] == [s["memory"]["rss"] for s in steps]
    routing = {}
    for step in steps:
        for layer, counts in step["routing"].items():
            routing[int(layer)] = [a + b for a, b in zip(routing.get(int(layer), [0] * len(counts)), counts)]
    assert plotted["routing"] == routing


def test_deepseek_v3_explore_run_fills_every_plot_and_exports(window, qtbot, tmp_path):
    snapshot = run_and_wait(window, 24)
    assert len(snapshot["steps"]) == 24
    # the model's thread leaves a core to the window's (see worker.leave_a_core_for_the_window)
    cores = os.cpu_count() or 1
    threads = min(torch.get_num_threads(), cores - 1) if cores > 1 else torch.get_num_threads()
    assert f"({threads} torch threads)" in snapshot["hardware"]["cpu"]
    assert snapshot["run"]["threads"] == threads and snapshot["run"]["scale"] == "explore"
    status = window.statusBar().currentMessage()
    assert f"decode {snapshot['summary']['decode_tokens_per_s']:.1f} tokens/s" in status
    assert threads_text(threads) in status and "of step" in status and "explore scale: " in status
    assert window.canvas.arch_scene.profile_banner.text().startswith("explore scale")
    spec = explore(window.document.spec)
    moe_layers = [i for i, layer in enumerate(spec.layers) if layer.ffn.kind == "moe"]
    plotted = window.dashboard.plotted()
    assert_plots_hold(plotted, snapshot)
    top_k = spec.layers[moe_layers[0]].ffn.top_k
    prompt_tokens = snapshot["run"]["prompt_tokens"]
    assert sorted(plotted["routing"]) == moe_layers
    # every token of the run (the prompt, then each generated token but the last) routed once per layer
    assert all(sum(counts) == (prompt_tokens + 23) * top_k for counts in plotted["routing"].values())
    assert len(plotted["tokens_per_s"]) == 23
    # the run's end draws the roofline: a point for each kind DeepSeek V3's layers have, under
    # the roofs its first run measured, and the latency bars outlined by each layer's prediction
    assert {"MLA", "dense MLP", "MoE"} <= set(plotted["roofline_points"])
    assert snapshot["run"]["roofs"] is not None and len(plotted["roofline_roof_labels"]) == 2
    assert plotted["latency_predicted"] == pytest.approx(snapshot["steps"][-1]["predicted_ms"])
    # the diagram is the profile: every attention and feed-forward box carries its share
    shares = [item.heat[0] for item in window.canvas.arch_scene.slot_items if item.slot in ("mixer", "ffn")]
    assert shares and all(share is not None for share in shares)

    written = window.export_profile(tmp_path / "export", "run")
    names = {path.name for path in written}
    assert {"run.json", "run.csv", "run.trace.json", "run-window.png"} <= names
    assert len([n for n in names if n.endswith(".png")]) >= 5
    assert all(path.stat().st_size > 0 for path in written)
    trace = json.loads((tmp_path / "export" / "run.trace.json").read_text())
    assert trace["traceEvents"]

    window.dashboard.clear()
    assert window.open_snapshot(tmp_path / "export" / "run.json")
    assert_plots_hold(window.dashboard.plotted(), snapshot)


def test_stop_ends_a_run_and_the_app_runs_again(window, qtbot):
    window.run_panel.max_new_tokens.setValue(5000)
    seen = []
    window.runs.worker.steps.connect(seen.append)
    window.run_panel.request_run()
    qtbot.waitUntil(lambda: bool(seen), timeout=RUN_TIMEOUT_MS)
    assert window.run_panel.stop_button.isEnabled() and not window.run_panel.run_button.isEnabled()
    assert gc.get_freeze_count() > 0  # while a run streams, no full collection pass stalls the window
    with qtbot.waitSignal(window.runs.busyChanged, timeout=RUN_TIMEOUT_MS):
        window.stop_action.trigger()
    assert window.run_panel.run_button.isEnabled()
    assert gc.get_freeze_count() == 0  # and after it, garbage is collected as usual
    assert window.run_panel.message.text() == "Stopped."
    snapshot = run_and_wait(window, 3)
    assert len(snapshot["steps"]) == 3


def test_a_failure_is_shown_and_the_app_stays_usable(window, qtbot, monkeypatch):
    run_and_wait(window, 2)  # loads the model
    model = window.runs.worker.worker.session.model
    original = model.forward

    def broken(*args, **kwargs):
        raise RuntimeError("injected failure in layer 3")

    model.forward = broken
    with pytest.raises(RuntimeError, match="injected failure in layer 3"):
        run_and_wait(window, 4)
    assert "injected failure in layer 3" in window.run_panel.message.text()
    assert gc.get_freeze_count() == 0
    boxes = [w for w in window.findChildren(QMessageBox) if w.isVisible()]
    assert boxes and "injected failure" in boxes[0].text()
    boxes[0].close()
    model.forward = original
    assert len(run_and_wait(window, 4)["steps"]) == 4


def test_embedded_gemma_streams_its_text_into_the_window(window, qtbot):
    snapshot = run_and_wait(window, 12, "embedded:gemma3-270m")
    completion = snapshot["run"]["completion"]
    assert completion.strip()
    assert window.dashboard.plotted()["text"].endswith(completion)
    assert_plots_hold(window.dashboard.plotted(), snapshot)
    # real weights bring their architecture onto the canvas, tinted by the run
    assert window.document.spec.name.startswith("gemma3") or "gemma" in window.document.spec.family.lower()
    assert all(item.heat is not None for item in window.canvas.arch_scene.slot_items if item.slot == "mixer")


def test_a_sweep_from_the_panel_is_plotted_over_the_previous_one(window, qtbot):
    panel = window.run_panel
    panel.set_source("canvas")
    panel.contexts.setText("16, 48")
    for _ in range(2):
        with qtbot.waitSignal(window.runs.busyChanged, timeout=RUN_TIMEOUT_MS,
                              check_params_cb=lambda busy: not busy):
            panel.request_sweep()
    shown = window.dashboard.plotted()["sweep"]
    assert len(shown) == 2  # the new sweep and the one before it, on the same axes
    # a finished sweep says what it found and brings its plot to the front
    assert window.statusBar().currentMessage().startswith("Swept 2 context lengths: decode ")
    assert "KV cache " in window.statusBar().currentMessage()
    assert panel.progress.format() == "swept 2 / 2"
    raised = {bar.tabText(bar.currentIndex()) for bar in window.findChildren(QTabBar) if bar.isVisible()}
    assert "Context sweep" in raised
    assert all(series["contexts"] == [16, 48] for series in shown)
    assert all(series["kv_bytes"] == series["kv_bytes_predicted"] for series in shown)


def test_a_context_sweep_is_saved_with_the_run_and_an_opened_snapshot_replaces_it(window, qtbot, tmp_path):
    panel = window.run_panel
    panel.set_source("canvas")
    panel.contexts.setText("16, 48")
    run_and_wait(window, 3)
    with qtbot.waitSignal(window.runs.busyChanged, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda busy: not busy):
        panel.request_sweep()
    window.export_profile(tmp_path / "export", "run")
    saved = json.loads((tmp_path / "export" / "run.json").read_text())
    assert [point["context_len"] for point in saved["sweep"]] == [16, 48]
    # a snapshot without a sweep: the live sweep does not stay beside it
    del saved["sweep"]
    (tmp_path / "bare.json").write_text(json.dumps(saved))
    assert window.open_snapshot(tmp_path / "bare.json")
    assert window.dashboard.plotted()["sweep"] == []
    assert window.open_snapshot(tmp_path / "export" / "run.json")
    assert [series["contexts"] for series in window.dashboard.plotted()["sweep"]] == [[16, 48]]


def test_a_batch_sweep_from_the_panel_is_plotted_saved_with_the_run_and_reopened(window, qtbot, tmp_path):
    panel = window.run_panel
    panel.set_source("canvas")
    panel.max_new_tokens.setValue(3)
    panel.batches.setText("1, 4")
    run_and_wait(window, 3)
    with qtbot.waitSignal(window.runs.busyChanged, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda busy: not busy):
        panel.request_batch_sweep()
    shown = window.dashboard.plotted()["batch_sweep"]
    assert shown["batches"] == [1, 4]
    assert {"whole step", "MLA", "MoE", "dense MLP"} <= set(shown["ms_per_token"])  # DeepSeek V3's kinds
    assert shown["kv_bytes"] == shown["kv_bytes_predicted"]
    assert "batch sizes" in window.statusBar().currentMessage()

    window.export_profile(tmp_path / "export", "run")
    saved = json.loads((tmp_path / "export" / "run.json").read_text())
    assert [point["batch"] for point in saved["batch_sweep"]] == [1, 4]
    window.dashboard.clear()
    assert window.dashboard.plotted()["batch_sweep"] == {}
    assert window.open_snapshot(tmp_path / "export" / "run.json")
    assert window.dashboard.plotted()["batch_sweep"] == shown


def test_a_vision_model_runs_on_the_users_image_from_the_window(window, qtbot, tmp_path):
    from PySide6.QtGui import QColor, QImage

    picture = QImage(64, 48, QImage.Format_RGB888)
    picture.fill(QColor(200, 120, 40))
    path = tmp_path / "picture.png"
    assert picture.save(str(path))
    window.open_entry("gemma3-4b-vision")
    window.run_panel.image.setText(str(path))
    snapshot = run_and_wait(window, 3)
    vision = snapshot["vision"]
    assert vision["image"] == str(path) and vision["encoder_ms"] > 0
    assert vision["image_kv_bytes"] == vision["image_kv_bytes_predicted"]
    assert "image encoder" in window.statusBar().currentMessage()


def test_one_run_gives_one_decode_rate_in_the_cli_the_snapshot_the_plot_and_the_status_line(
        open_window, tmp_path, capsys):
    path = tmp_path / "run.json"
    assert main(["profile", "--arch", "smollm2-135m", "--max-new-tokens", "6", "--device", "cpu",
                 "--out", str(path)]) == 0
    printed = capsys.readouterr().out
    snapshot = json.loads(path.read_text())
    figure = f"decode {snapshot['summary']['decode_tokens_per_s']:.1f} tokens/s"
    window = open_window("smollm2-135m")
    assert window.open_snapshot(path)
    assert figure in printed
    assert window.dashboard.plotted()["tokens_per_s_label"] == figure
    assert figure in window.statusBar().currentMessage()
    # the run was the explore scale: the canvas and the status line say so
    assert window.canvas.arch_scene.profile_banner.text().startswith("explore scale")
    assert "explore scale: " in window.statusBar().currentMessage()
