"""The roofline beside the measurement: the Roofline dock places one point per layer kind
where the run's FLOPs, bytes and measured time put it, under the device's two roofs; the
latency plot outlines each layer's predicted time -- only where the run had roofs; and the
canvas badges each box with its share of the step or, chosen in the View menu, its fraction
of roofline. Records are built here as a snapshot carries them; no model runs."""

import json
import math

import pytest

from app.runtime.snapshot import ProfileSnapshot
from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.roofline import Roofs, predict_ms, step_cost
from app.spec.serialize import spec_to_dict
from app.ui.canvas.scene import ArchitectureScene
from app.ui.dashboard import RunRecord
from app.ui.dashboard.roofline import CALIBRATE_HINT
from app.ui.labels import percent

ROOFS = Roofs(device="test CPU", dtype="float32", bandwidth_bytes_per_s=20e9, flops_per_s=100e9, threads=4)
PROMPT_TOKENS = 5
BATCH = 2


def snapshot(name: str, roofs: Roofs | None = ROOFS, steps: int = 6, with_head: bool = True) -> dict:
    """A snapshot of `name` (explore scale): a prefill then decode steps whose layers took
    distinct times; MoE layers route their tokens over the first two experts."""
    spec = catalog.get(name, "explore")
    count = spec.num_layers
    moe = [i for i, layer in enumerate(spec.layers) if getattr(layer.ffn, "num_experts", 0)]
    analysis = analyze(spec)
    model = {"name": name, "source": "random weights, seed 0", "spec": spec_to_dict(spec), "dtype": "float32",
             "device": "cpu", "params_total": analysis.total_params, "params_active": analysis.active_params,
             "layers": [{"mixer": row.mixer, "ffn": row.ffn} for row in analysis.layers]}
    hardware = {"device_name": "cpu", "cuda": False, "gpu_memory_total": 0, "cpu": "test", "ram_total": 0}
    document = {"model": model, "hardware": hardware, "steps": [],
                "run": {"batch": BATCH, "prompt_tokens": PROMPT_TOKENS, "new_tokens": steps, "sampling": {},
                        "probe": True, "roofs": roofs.to_dict() if roofs else None}}
    for index in range(steps):
        phase = "prefill" if index == 0 else "decode"
        slow = 50.0 if phase == "prefill" else 1.0  # a prefill counted by mistake would move every point
        mixer_ms = [slow * (0.2 + 0.01 * layer + 0.003 * index) for layer in range(count)]
        ffn_ms = [slow * (0.3 + 0.02 * layer) for layer in range(count)]
        step = {"index": index, "phase": phase, "seq_len": PROMPT_TOKENS + index, "wall_ms": 10.0,
                "layer_ms": [m + f + 0.01 for m, f in zip(mixer_ms, ffn_ms)], "mixer_ms": mixer_ms, "ffn_ms": ffn_ms,
                "kv_bytes": [0] * count, "kv_bytes_predicted": [0] * count, "tokens": [1] * BATCH,
                "memory": {"allocated": 0, "reserved": 0, "device_used": 0, "rss": 1},
                "routing": {str(i): [BATCH, BATCH] + [0] * (spec.layers[i].ffn.num_experts - 2) for i in moe}}
        if with_head:
            step["head_ms"] = 0.4 + 0.01 * index
            step["sample_ms"] = 0.05
        if roofs is not None:
            tokens = PROMPT_TOKENS if phase == "prefill" else 1
            rows = step_cost(spec, phase, tokens, step["seq_len"] - tokens, BATCH, 4, step["routing"])
            step["predicted_ms"] = [predict_ms(row, roofs) for row in rows if row.layer is not None]
        document["steps"].append(step)
    return ProfileSnapshot.from_dict(document).to_dict()  # as the app writes it: every field a reader checks


def expected_points(document: dict, roofs: Roofs | None) -> dict:
    """Per kind over the decode steps: [sum FLOPs / sum bytes, sum FLOPs / sum measured
    seconds] and sum predicted / sum measured time."""
    spec = catalog.get(document["model"]["name"], "explore")
    sums: dict = {}
    for step in document["steps"]:
        if step["phase"] != "decode":
            continue
        rows = step_cost(spec, "decode", 1, step["seq_len"] - 1, BATCH, 4, step["routing"])
        for row in rows:
            parts = ([(row.mixer_kind, row.mixer, step["mixer_ms"][row.layer]),
                      (row.ffn_kind, row.ffn, step["ffn_ms"][row.layer])] if row.layer is not None
                     else [("head", row, step.get("head_ms"))] if row.name == "head" else [])
            for kind, cost, measured_ms in parts:
                if not measured_ms:  # untimed (a snapshot from before the head was timed holds 0)
                    continue
                flops, moved, seconds, predicted = sums.get(kind, (0, 0, 0.0, 0.0))
                sums[kind] = (flops + cost.flops, moved + cost.bytes, seconds + measured_ms / 1e3,
                              predicted + (predict_ms(cost, roofs) / 1e3 if roofs else 0.0))
    return {kind: ([flops / moved, flops / seconds], predicted / seconds)
            for kind, (flops, moved, seconds, predicted) in sums.items()}


def test_one_point_per_kind_at_the_runs_decode_intensity_and_rate_under_both_roofs(dashboard):
    document = snapshot("deepseek-v3")
    dashboard.show_record(RunRecord.from_snapshot(document))
    shown = dashboard.plotted()

    expected = expected_points(document, ROOFS)
    assert list(shown["roofline_points"]) == ["MLA", "dense MLP", "MoE", "head"]  # DeepSeek V3: dense first layers
    for kind, (point, _fraction) in expected.items():
        assert shown["roofline_points"][kind] == pytest.approx(point, rel=1e-9), kind
    assert shown["roofline_legend"] == [f"{kind}: {fraction:.0%} of roofline"
                                        for kind, (_point, fraction) in expected.items()]

    (left, ridge, right), (slope_start, compute, compute_again) = shown["roofline_roof"]
    assert ridge == pytest.approx(100e9 / 20e9)  # the roofs meet at 5 FLOP/byte
    assert slope_start == pytest.approx(20e9 * left) and compute == compute_again == 100e9
    assert left < min(x for x, _y in shown["roofline_points"].values()) and right > ridge
    assert shown["roofline_roof_labels"] == ["20 GB/s", "100 GFLOP/s"]
    assert shown["roofline_hint"] == "" and shown["roofline_note"] == ""


def test_without_roofs_the_points_stay_and_a_line_says_how_to_calibrate(dashboard):
    document = snapshot("gemma3-270m", roofs=None, with_head=False)  # a snapshot from before the roofs
    dashboard.show_record(RunRecord.from_snapshot(document))
    shown = dashboard.plotted()

    expected = expected_points(document, None)
    assert list(shown["roofline_points"]) == ["attention", "sliding window", "dense MLP"]
    for kind, (point, _fraction) in expected.items():
        assert shown["roofline_points"][kind] == pytest.approx(point, rel=1e-9), kind
    assert shown["roofline_legend"] == ["attention", "sliding window", "dense MLP"]
    assert shown["roofline_hint"] == CALIBRATE_HINT
    assert shown["roofline_roof"] == [] and shown["roofline_roof_labels"] == []


def test_the_roofline_waits_for_the_run_to_end_and_clears(dashboard):
    document = snapshot("gemma3-270m")
    streaming = RunRecord(document["model"], batch=BATCH)
    for step in document["steps"]:
        streaming.add_step(step)
    dashboard.show_record(streaming)
    assert dashboard.plotted()["roofline_points"] == {}
    assert dashboard.plotted()["roofline_note"] == "the roofline is drawn when the run ends"

    streaming.run = document["run"]  # the run has ended: its snapshot's run section is known
    dashboard.show_record(streaming)
    assert set(dashboard.plotted()["roofline_points"]) == {"attention", "sliding window", "dense MLP", "head"}
    assert dashboard.roofline.has_data()

    dashboard.clear()
    shown = dashboard.plotted()
    assert not any(shown[key] for key in shown if key.startswith("roofline"))


def test_a_log_axis_labels_its_decades_with_si_prefixes_and_small_fractions_keep_a_digit(dashboard):
    axis = dashboard.roofline.plot.getAxis("left")
    assert axis.logTickStrings([8.0, math.log10(2e8), 9.0, 12.0], 1.0, 1.0) == ["100M", "", "1G", "1T"]
    assert [percent(f) for f in (0.123, 0.01, 0.004, 0.00042)] == ["12%", "1%", "0.4%", "0.04%"]


def test_the_latency_bars_are_outlined_by_the_prediction_only_when_the_run_has_one(dashboard):
    with_roofs = snapshot("deepseek-v3")
    dashboard.show_record(RunRecord.from_snapshot(with_roofs))
    legend = [label.text for _sample, label in dashboard.latency.legend.items]
    assert dashboard.plotted()["latency_predicted"] == pytest.approx(with_roofs["steps"][-1]["predicted_ms"])
    assert legend[-1] == "roofline"

    dashboard.show_record(RunRecord.from_snapshot(snapshot("deepseek-v3", roofs=None)))
    assert dashboard.plotted()["latency_predicted"] == []
    assert "roofline" not in [label.text for _sample, label in dashboard.latency.legend.items]
    assert dashboard.plotted()["latency_bars"]  # the measured bars stay


def badges(scene) -> dict:
    """{(layers, slot): badge text} of every badged attention and feed-forward box, and the head's."""
    shown = {(tuple(item.layer_indices), item.slot): item.badge_text() for item in scene.slot_items
             if item.heat is not None}
    if scene.head_item is not None and scene.head_item.heat is not None:
        shown["head"] = scene.head_item.badge_text()
    return shown


def test_a_box_standing_for_several_layers_badges_their_summed_roofline_over_measured_time(qtbot):
    scene = ArchitectureScene()
    spec = catalog.get("gemma3-27b")
    scene.set_spec(spec)
    layers = spec.num_layers
    predicted = ([0.1] * layers, [0.3] * layers, 0.2)
    measured = ([0.1 * (i + 1) for i in range(layers)], [0.6] * layers, 0.8)
    scene.show_roofline_fractions(predicted, measured)

    for item in scene.slot_items:
        if item.slot in ("mixer", "ffn"):
            column = 0 if item.slot == "mixer" else 1
            expected = (sum(predicted[column][i] for i in item.layer_indices)
                        / sum(measured[column][i] for i in item.layer_indices))
            assert item.heat[0] == pytest.approx(expected)
            assert item.badge_text() == f"{percent(expected)} of roofline"
    assert scene.head_item.badge_text() == "25% of roofline"
    ffn = next(item for item in scene.slot_items if item.slot == "ffn")
    assert ffn.badge_text() == "50% of roofline"

    scene.show_step_shares([0.01] * layers, [0.01] * layers, 0.3)  # back to shares: the badges say so
    assert all(text.endswith(" of step") for text in badges(scene).values())
    scene.show_roofline_fractions(None)
    assert badges(scene) == {}


def test_the_view_menu_switches_the_canvas_badges_to_fraction_of_roofline_and_back(open_window, tmp_path):
    document = snapshot("gemma3-270m")
    path = tmp_path / "run.json"
    path.write_text(json.dumps(document))
    window = open_window("gemma3-270m")
    assert window.open_snapshot(path)
    scene = window.canvas.arch_scene
    assert badges(scene) and all(text.endswith(" of step") for text in badges(scene).values())

    window.canvas_measure_actions["fraction of roofline"].trigger()
    spec = catalog.get("gemma3-270m", "explore")
    predicted, measured = {}, {}  # per (layers, slot), summed over the decode steps, computed here
    for step in document["steps"][1:]:
        rows = step_cost(spec, "decode", 1, step["seq_len"] - 1, BATCH, 4, step["routing"])
        for item in scene.slot_items:
            if item.slot in ("mixer", "ffn"):
                key = (tuple(item.layer_indices), item.slot)
                part = "mixer" if item.slot == "mixer" else "ffn"
                predicted[key] = predicted.get(key, 0.0) + sum(predict_ms(getattr(rows[i], part), ROOFS)
                                                               for i in item.layer_indices)
                measured[key] = measured.get(key, 0.0) + sum(step[f"{part}_ms"][i] for i in item.layer_indices)
        predicted["head"] = predicted.get("head", 0.0) + predict_ms(rows[-2], ROOFS)
        measured["head"] = measured.get("head", 0.0) + step["head_ms"]
    assert badges(scene) == {key: f"{percent(predicted[key] / measured[key])} of roofline" for key in predicted}

    window.canvas_measure_actions["share of step"].trigger()
    assert all(text.endswith(" of step") for text in badges(scene).values())
