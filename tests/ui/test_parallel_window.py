"""Parallel runs in the window: the run panel's tensor- and expert-parallel fields (random
weights only, a split that does not divide named before Run), the Ranks dock drawing each
rank's layers, the communication share and the expert load, and a tp 2 run from Run to the
dock through the worker."""

import pytest
from PySide6.QtWidgets import QDockWidget

from app.runtime.snapshot_file import read_snapshot
from app.spec import catalog
from app.spec.scale import explore
from app.spec.serialize import spec_to_dict
from app.ui.dashboard import RunRecord
from app.ui.dashboard.ranks import NO_RANKS
from app.ui.run_panel import RunPanel
from tests.ui.test_rank_figures import section, step

RUN_TIMEOUT_MS = 180_000  # generous: two ranks spawn, import torch and build; only a hang should trip it


@pytest.fixture
def panel(qtbot):
    spec = catalog.get("qwen3-0.6b")
    panel = RunPanel(lambda: spec_to_dict(spec))
    qtbot.addWidget(panel)
    return panel


# --- the run panel ------------------------------------------------------------------------------

def test_ranks_are_asked_for_random_weights_of_the_canvas_or_a_local_folder(panel):
    assert panel.tensor_parallel.value() == panel.expert_parallel.value() == 1
    assert panel.tensor_parallel.maximum() == 8 and "gloo" in panel.tensor_parallel.toolTip()
    assert "not yet GGUF files" in panel.expert_parallel.toolTip()
    assert panel.tensor_parallel.isEnabled()
    panel.set_source("embedded:gemma3-270m")
    assert not panel.tensor_parallel.isEnabled() and not panel.expert_parallel.isEnabled()
    panel.tensor_parallel.setValue(2)
    assert panel.ranks() == (1, 1)  # a real model runs on one process whatever the field says
    panel.set_source("canvas")
    panel.scale.setCurrentIndex(panel.scale.findData("slice"))
    assert not panel.tensor_parallel.isEnabled() and panel.ranks() == (1, 1)


def test_a_tp2_run_sends_the_explore_spec_to_the_parallel_run_and_turns_the_sweeps_off(panel):
    parallel, single = [], []
    panel.parallelRunRequested.connect(parallel.append)
    panel.runRequested.connect(lambda load, settings: single.append(settings))
    panel.tensor_parallel.setValue(2)
    assert not panel.sweep_button.isEnabled() and not panel.batch_sweep_button.isEnabled()
    panel.max_new_tokens.setValue(3)
    panel.request_run()
    (settings,), = [parallel]
    assert single == []
    assert settings["spec"] == spec_to_dict(explore(catalog.get("qwen3-0.6b"))) and settings["scale"] == "explore"
    assert (settings["tp"], settings["ep"], settings["max_new_tokens"]) == (2, 1, 3)
    panel.tensor_parallel.setValue(1)
    assert panel.sweep_button.isEnabled()


def test_a_local_folder_splits_its_own_config_and_the_ranks_read_its_weights(panel, tmp_path):
    import json

    from app.spec.hf import hf_config_from_spec

    folder = tmp_path / "tiny-qwen3"
    folder.mkdir()
    spec = explore(catalog.get("qwen3-0.6b"))
    (folder / "config.json").write_text(json.dumps(hf_config_from_spec(spec)))
    sent = []
    panel.parallelRunRequested.connect(sent.append)
    panel.set_source("directory", str(folder))
    assert panel.tensor_parallel.isEnabled()
    panel.tensor_parallel.setValue(3)  # checked against the folder's config, before any rank starts
    assert panel.message.text().startswith("Tensor parallel 3, expert parallel 1: the folder's model does not split:")
    panel.tensor_parallel.setValue(2)
    panel.request_run()
    (settings,), = [sent]
    assert settings["checkpoint"] == str(folder) and settings["scale"] == "real weights"
    assert settings["spec"]["layers"] == spec_to_dict(spec)["layers"]
    panel.set_source("directory", str(tmp_path / "missing"))
    panel.request_run()
    assert len(sent) == 1 and "has no config.json" in panel.message.text()


def test_a_split_that_does_not_divide_is_named_at_once_and_blocks_run(panel):
    sent = []
    panel.parallelRunRequested.connect(sent.append)
    panel.tensor_parallel.setValue(3)
    shown = panel.message.text()
    assert shown.startswith("Tensor parallel 3, expert parallel 1: the canvas architecture does not split:")
    assert "layers[0].mixer.num_heads 8 does not split over 3 ranks" in shown and "more)" in shown
    panel.request_run()
    assert sent == [] and "layers[0].mixer.num_heads 8 does not split over 3 ranks" in panel.message.text()
    panel.tensor_parallel.setValue(2)
    assert panel.message.text() == ""  # the problem went with the count


def test_fast_mode_and_an_image_are_refused_for_a_parallel_run_naming_the_field(panel, tmp_path):
    sent = []
    panel.parallelRunRequested.connect(sent.append)
    panel.tensor_parallel.setValue(2)
    panel.mode.setCurrentIndex(panel.mode.findData("fast"))
    panel.request_run()
    assert panel.message.text().startswith("Mode: a parallel run (tensor 2, expert 1) runs eager")
    panel.mode.setCurrentIndex(panel.mode.findData("eager"))
    panel.image.setText(str(tmp_path / "card.png"))
    panel.request_run()
    assert panel.message.text().startswith("Image: a parallel run")
    assert sent == []


# --- the Ranks view ---------------------------------------------------------------------------

def ranks_shown(dashboard) -> dict:
    """The Ranks view's part of what the dashboard plots, without its "ranks_" prefix."""
    return {key.removeprefix("ranks_"): value for key, value in dashboard.plotted().items()
            if key.startswith("ranks_")}


def test_the_ranks_view_draws_each_ranks_layers_the_shares_and_the_expert_load(dashboard):
    rank0 = [step(0, "prefill", [9.0, 9.0], [], {"1": [3, 0, 1, 0]}),
             step(1, "decode", [4.0, 2.0], [(0, 1.0), (1, 0.5)], {"1": [1, 0, 0, 0]})]
    rank1 = [step(0, "prefill", [9.0, 9.0], [], {"1": [0, 4, 0, 0]}),
             step(1, "decode", [2.0, 4.0], [(1, 2.0)], {"1": [0, 0, 0, 1]})]
    record = RunRecord.from_snapshot({"model": {"name": "m"}, "run": {}, "steps": rank0,
                                      "ranks": section([rank0, rank1], tp=1, ep=2)})
    dashboard.show_record(record)
    shown = ranks_shown(dashboard)
    assert shown["compute_ms"] == [[3.0, 1.5], [2.0, 2.0]] and shown["comm_ms"] == [[1.0, 0.5], [0.0, 2.0]]
    assert shown["comm_share_labels"] == ["17%", "42%"]  # 1 of 6 ms, 2.5 of 6 ms
    assert shown["expert_tokens"] == [[4, 0, 1, 0], [0, 4, 0, 1]]
    assert shown["legend"] == ["rank 0 compute", "rank 1 compute", "communication"]
    assert shown["note"] == "" and shown["expert_plot_shown"]


def test_a_run_on_one_process_says_it_has_no_ranks(dashboard):
    dashboard.show_record(RunRecord.from_snapshot({"model": {"name": "m"}, "run": {},
                                                   "steps": [step(0, "prefill", [1.0], [])]}))
    shown = ranks_shown(dashboard)
    assert shown["note"] == NO_RANKS and shown["compute_ms"] == [] and shown["comm_share_labels"] == []
    assert not shown["expert_plot_shown"]


# --- from Run to the dock -----------------------------------------------------------------------

def test_a_tp2_run_from_the_window_shows_every_rank_in_the_ranks_dock(open_window, qtbot, tmp_path):
    window = open_window("qwen3-0.6b")
    panel = window.run_panel
    panel.set_source("canvas")
    panel.device.setCurrentIndex(panel.device.findData("cpu"))
    panel.max_new_tokens.setValue(3)
    panel.tensor_parallel.setValue(2)
    shown = []
    window.runs.resultShown.connect(shown.append)
    with qtbot.waitSignal(window.runs.busyChanged, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda busy: not busy):
        panel.request_run()
    assert window.runs.snapshot is not None, panel.message.text()
    assert shown == ["ranksDock"] and window.findChild(QDockWidget, "ranksDock").isVisible()
    ranks = ranks_shown(window.dashboard)
    layers = explore(catalog.get("qwen3-0.6b")).num_layers
    assert [len(row) for row in ranks["compute_ms"]] == [layers, layers] and len(ranks["comm_ms"]) == 2
    # tp 2 all-reduces in every layer; a dense model has no expert load to show
    assert len(ranks["comm_share_labels"]) == layers and all(label.endswith("%") for label in
                                                             ranks["comm_share_labels"])
    assert not ranks["expert_plot_shown"]
    assert "2 ranks on gloo" in window.statusBar().currentMessage()
    # the snapshot saved from the window opens again with its ranks
    written = window.runs.export(tmp_path, "tp2")
    document = read_snapshot(written[0])
    assert document["ranks"]["tp"] == 2 and len(document["ranks"]["per_rank"]) == 2
