"""The run panel turns the user's choices into worker requests, and names the field that
cannot work before anything is sent; the canvas tints each box by its share of step time,
also when the run was the explore scale of the drawn architecture."""

import json

import pytest

from app.spec import catalog
from app.spec.scale import explore
from app.spec.serialize import spec_to_dict
from app.ui.canvas.scene import ArchitectureScene
from app.runtime.figures import StepShares
from app.ui.run_controller import SnapshotError, drawn_layer_shares, drawn_layer_times, drawn_layer_twins, read_snapshot
from app.ui.run_panel import RunPanel


@pytest.fixture
def panel(qtbot):
    spec = catalog.get("qwen3-0.6b")
    panel = RunPanel(lambda: spec_to_dict(spec))
    qtbot.addWidget(panel)
    return panel


def test_the_canvas_architecture_runs_with_random_weights_at_explore_scale(panel):
    requests = []
    panel.runRequested.connect(lambda load, settings: requests.append((load, settings)))
    panel.max_new_tokens.setValue(7)
    panel.request_run()
    (load, settings), = requests
    assert load["spec"] == spec_to_dict(catalog.get("qwen3-0.6b")) and load["scale"] == "explore"
    assert settings["max_new_tokens"] == 7 and settings["probe"] is True and settings["temperature"] == 0.0


def test_a_gguf_model_runs_low_bit_unless_asked_to_expand_and_random_weights_have_no_such_choice(panel, tmp_path):
    requests = []
    panel.runRequested.connect(lambda load, settings: requests.append(load))
    assert not panel.weights.isEnabled()  # the canvas: random weights
    panel.request_run()
    panel.set_source("embedded:smollm2-135m")
    assert panel.weights.isEnabled() and panel.weights.currentData() == "native"
    panel.request_run()
    file = tmp_path / "model.gguf"
    file.write_bytes(b"GGUF")
    panel.set_source("gguf", str(file))
    panel.weights.setCurrentIndex(panel.weights.findData("dequantize"))
    panel.request_run()
    assert "weights" not in requests[0]
    assert requests[1]["weights"] == "native" and requests[2]["weights"] == "dequantize"


def test_the_execution_mode_is_chosen_in_the_panel(panel):
    requests = []
    panel.runRequested.connect(lambda load, settings: requests.append(settings))
    panel.request_run()
    panel.mode.setCurrentIndex(panel.mode.findData("fast"))
    panel.request_run()
    assert [settings["mode"] for settings in requests] == ["eager", "fast"]
    assert "torch.compile" in panel.mode.toolTip()


@pytest.mark.parametrize("kind, location, field", [
    ("directory", "", "Folder"),
    ("directory", "/no/such/folder", "Folder"),
    ("gguf", "/no/such/model.gguf", "GGUF file"),
    ("hub", "not-a-repo-id", "Repository id"),
])
def test_a_location_that_cannot_work_is_named_and_nothing_is_sent(panel, kind, location, field):
    requests = []
    panel.runRequested.connect(lambda *args: requests.append(args))
    panel.set_source(kind, location)
    panel.request_run()
    assert requests == []
    assert panel.message.text().startswith(field)


def test_sweep_contexts_are_parsed_and_bad_ones_named(panel):
    sweeps = []
    panel.sweepRequested.connect(lambda load, settings: sweeps.append(settings))
    panel.contexts.setText("1024, 64,256")
    panel.request_sweep()
    assert sweeps[-1]["contexts"] == [64, 256, 1024]
    panel.contexts.setText("64, lots")
    panel.request_sweep()
    assert len(sweeps) == 1 and panel.message.text().startswith("Sweep at")


def test_real_weights_sources_ask_for_no_spec(panel, tmp_path):
    requests = []
    panel.runRequested.connect(lambda load, settings: requests.append(load))
    panel.set_source("embedded:smollm2-135m")
    panel.request_run()
    panel.set_source("directory", str(tmp_path))
    panel.request_run()
    assert [r["source"] for r in requests] == ["embedded:smollm2-135m", str(tmp_path)]
    assert all("spec" not in r for r in requests)


def test_explore_layer_times_map_back_onto_the_drawn_layers():
    drawn = catalog.get("deepseek-v3")
    run = explore(drawn)
    mixer = [float(i + 1) for i in range(run.num_layers)]
    ffn = [10.0 * (i + 1) for i in range(run.num_layers)]
    mapped_mixer, mapped_ffn = drawn_layer_times(drawn_layer_twins(drawn, run), mixer, ffn)
    assert len(mapped_mixer) == drawn.num_layers == 61
    dense_twins = [j for j, layer in enumerate(run.layers) if layer == run.layers[0]]
    assert mapped_ffn[0] == sum(ffn[j] for j in dense_twins) / len(dense_twins)
    assert drawn_layer_twins(catalog.get("llama3-8b"), run) is None
    same = drawn_layer_twins(drawn, drawn)
    assert drawn_layer_times(same, [1.0] * 61, [2.0] * 61) == ([1.0] * 61, [2.0] * 61)


def test_the_canvas_badges_are_each_box_share_of_the_whole_step(qtbot):
    scene = ArchitectureScene()
    spec = catalog.get("gemma3-27b")
    scene.set_spec(spec)
    layers = spec.num_layers
    # the layers took 40% of the step, the output head 30%
    scene.show_step_shares([0.1 / layers] * layers, [0.3 / layers] * layers, 0.3)
    shares = {(tuple(item.layer_indices), item.slot): item.heat[0] for item in scene.slot_items
              if item.slot in ("mixer", "ffn")}
    assert sum(shares.values()) == pytest.approx(0.4)
    assert sum(share for (_, slot), share in shares.items() if slot == "ffn") == pytest.approx(0.3)
    assert scene.head_item.heat[0] == pytest.approx(0.3)
    assert scene.profile_banner is None  # the drawn model itself: nothing to say
    scene.show_step_shares(None)
    assert all(item.heat is None for item in [*scene.slot_items, scene.head_item])


def test_explore_shares_on_the_drawn_diagram_keep_the_layers_share_and_say_explore_scale(qtbot):
    drawn = catalog.get("deepseek-v3")
    run = explore(drawn)
    per_part = 0.5 / (2 * run.num_layers)  # the layers: half the step
    shares = StepShares([per_part] * run.num_layers, [per_part] * run.num_layers, 0.3, 0.05, 0.15)
    mixer, ffn = drawn_layer_shares(drawn_layer_twins(drawn, run), shares)
    assert len(mixer) == drawn.num_layers and sum(mixer) + sum(ffn) == pytest.approx(0.5)
    scene = ArchitectureScene()
    scene.set_spec(drawn)
    scene.show_step_shares(mixer, ffn, shares.head, "explore scale: 6 layers, width 256")
    assert scene.profile_banner.text().startswith("explore scale")
    scene.toggle_expanded(0)  # a relayout keeps the note
    assert scene.profile_banner.text().startswith("explore scale")


def test_a_file_that_is_not_a_snapshot_is_refused_by_name(tmp_path):
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec_to_dict(catalog.get("qwen3-0.6b"))))
    with pytest.raises(SnapshotError, match="spec.json: not an ArchScope profile snapshot"):
        read_snapshot(spec_file)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(SnapshotError, match="broken.json"):
        read_snapshot(broken)


def test_the_image_field_is_checked_by_name_and_sent_with_the_run(panel, tmp_path):
    requests = []
    panel.runRequested.connect(lambda load, settings: requests.append(settings))
    panel.request_run()
    assert requests[-1]["image"] is None  # empty: a vision model gets a generated test card
    for text, problem in ((str(tmp_path / "missing.png"), "does not exist"), (__file__, "expected a PNG")):
        panel.image.setText(text)
        panel.request_run()
        assert len(requests) == 1 and panel.message.text().startswith("Image:") and problem in panel.message.text()
    picture = tmp_path / "cat.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")  # only the name and suffix are checked here; loading reads it
    panel.image.setText(str(picture))
    panel.request_run()
    assert requests[-1]["image"] == str(picture)


def test_batch_sizes_are_parsed_and_bad_ones_named(panel):
    sweeps = []
    panel.batchSweepRequested.connect(lambda load, settings: sweeps.append(settings))
    assert panel.batches.text() == "1, 4, 16, 64"
    panel.batches.setText("16, 1,4")
    panel.request_batch_sweep()
    assert sweeps[-1]["batches"] == [1, 4, 16]
    for bad in ("4, many", "0, 4", ""):
        panel.batches.setText(bad)
        panel.request_batch_sweep()
        assert len(sweeps) == 1 and panel.message.text().startswith("Sweep at batch"), bad


def test_a_slice_run_times_the_published_widths_and_each_drawn_layer_reads_its_kinds_time(panel):
    """Offered in the panel, and mapped back onto the diagram."""
    requests = []
    panel.runRequested.connect(lambda load, settings: requests.append(load))
    panel.scale.setCurrentIndex(panel.scale.findData("slice"))
    assert "published widths" in panel.scale.toolTip()
    panel.request_run()
    assert requests[-1]["scale"] == "slice"
    # Llama 4 Maverick interleaves dense and MoE layers (every fourth without RoPE): its
    # slice has one layer of each kind, its experts trimmed to fit -- not the drawn layers
    from app.runtime.slices import plan_slice

    drawn = catalog.get("llama4-maverick")
    run = plan_slice(drawn, budget_bytes=2 << 30, dtype_bytes=4).spec
    kinds = list(dict.fromkeys(drawn.layers))
    assert run.layers != tuple(kinds)
    assert drawn_layer_twins(drawn, run) == [[kinds.index(layer)] for layer in drawn.layers]


def test_the_worker_builds_a_slice_and_its_snapshot_extrapolates(qtbot):
    from app.runtime.session import RunConfig
    from app.worker import Worker

    worker = Worker()
    loaded = []
    worker.loaded.connect(loaded.append)
    worker.failed.connect(pytest.fail)
    worker.load({"spec": spec_to_dict(catalog.get("gpt2-small")), "scale": "slice", "device": "cpu"})
    assert loaded and loaded[0]["scale"] == "slice" and worker.session.spec.num_layers == 1
    snapshot = worker.session.run(RunConfig(max_new_tokens=3, stop_at_eos=False)).to_dict()
    assert snapshot["extrapolation"]["kinds"][0]["stands_for"] == 12  # GPT-2 small: one kind, 12 layers
