"""The live dashboard's plots hold exactly what the run measured: a record built step by
step equals the one re-opened from the snapshot, and every plot, read back from its
pyqtgraph items, equals the snapshot's layers, steps, KV bytes, memory and routing."""

import dataclasses
import math

import pytest
from PySide6.QtGui import QImage

from app.runtime.batch_sweep import batch_sweep
from app.runtime.session import RunConfig, Session
from app.runtime.sweep import context_sweep
from app.ui.dashboard import BatchSweepRecord, RunRecord, SweepRecord

DOCK_TITLES = ["Layer latency", "Memory", "KV cache", "Expert routing", "Throughput", "Output text", "Context sweep",
               "Roofline", "Batch sweep", "Ranks"]


@pytest.fixture(scope="module")
def moe_run():
    """A profiled DeepSeek V3 (explore) run: the snapshot and the updates as they streamed."""
    session = Session.from_arch("deepseek-v3", "explore", device="cpu")
    updates = []
    snapshot = session.run(RunConfig(max_new_tokens=6, prompt="hello"), on_step=updates.append)
    return session.model_info(), snapshot.to_dict(), updates


@pytest.fixture(scope="module")
def dense_session():
    return Session.from_arch("gemma3-270m", "explore", device="cpu")


@pytest.fixture(scope="module")
def dense_snapshot(dense_session):
    return dense_session.run(RunConfig(max_new_tokens=5, prompt="a window")).to_dict()


@pytest.fixture(scope="module")
def sweep_snapshot(dense_session):
    # 40 tokens pass the explore model's 32-token window: the sliding layers stop growing.
    points = context_sweep(dense_session, [8, 24, 40], decode_steps=2)
    return {"model": dense_session.model_info(), "sweep": [dataclasses.asdict(p) for p in points]}


@pytest.fixture(scope="module")
def batch_snapshot():
    session = Session.from_arch("qwen3-30b-a3b", "explore", device="cpu")  # attention and MoE layers
    points = batch_sweep(session, [4, 1, 16], context=8, decode_steps=2)
    return {"model": session.model_info(), "batch_sweep": [dataclasses.asdict(p) for p in points]}


def summed_routing(snapshot):
    totals = {}
    for step in snapshot["steps"]:
        for layer, counts in step["routing"].items():
            row = totals.setdefault(int(layer), [0] * len(counts))
            for expert, tokens in enumerate(counts):
                row[expert] += tokens
    return totals


def test_a_streamed_record_equals_the_snapshot_reopened(moe_run):
    info, snapshot, updates = moe_run
    streamed = RunRecord(info)
    for update in updates:
        streamed.add_step(dataclasses.asdict(update.record), update.text)
    from_records = RunRecord(info)
    from_records.add_updates(updates)  # StepRecords as the worker sends them
    reopened = RunRecord.from_snapshot(snapshot)

    for record in (streamed, from_records):
        assert record.steps == reopened.steps == snapshot["steps"]
        assert record.routing_totals() == reopened.routing_totals()
        assert record.text == reopened.text == snapshot["run"]["completion"]
    assert reopened.num_layers == 7 and reopened.moe_layers == [3, 4, 5, 6]
    assert reopened.layer_ms_matrix().tolist() == [s["layer_ms"] for s in snapshot["steps"]]
    assert reopened.decode_mask().tolist() == [s["phase"] == "decode" for s in snapshot["steps"]]
    assert streamed.tokens_per_s() == reopened.tokens_per_s() and len(reopened.decode_steps()) == 5
    assert reopened.kv_total() == [sum(s["kv_bytes"]) for s in snapshot["steps"]]
    assert reopened.kv_predicted_total() == [sum(s["kv_bytes_predicted"]) for s in snapshot["steps"]]
    assert reopened.seq_len == [s["seq_len"] for s in snapshot["steps"]]
    assert reopened.memory["rss"] == [s["memory"]["rss"] for s in snapshot["steps"]]
    assert reopened.label == info["name"]


def test_growing_rows_double_their_storage_and_a_ragged_row_voids_the_view():
    from app.ui.dashboard.record import GrowingRows

    rows = GrowingRows()
    for step in range(200):  # past 64 and 128 rows: the storage grows twice
        rows.append([step, step + 0.5, -step])
    assert rows.view().shape == (200, 3) and rows.view()[150].tolist() == [150, 150.5, -150]
    rows.append([1.0, 2.0])  # a step timed with another layer count
    assert rows.view() is None


def test_routing_totals_count_every_token_top_k_times_and_balance_is_max_over_mean(moe_run):
    _info, snapshot, _updates = moe_run
    record = RunRecord.from_snapshot(snapshot)
    tokens = snapshot["run"]["prompt_tokens"] + len(snapshot["steps"]) - 1  # prefill, then one per decode step
    totals = record.routing_totals()
    assert totals == summed_routing(snapshot)
    for layer, counts in totals.items():
        assert sum(counts) == tokens * snapshot["run"]["batch"] * record.top_k(layer)
        assert record.load_balance()[layer] == pytest.approx(max(counts) / (sum(counts) / len(counts)))
        assert 1.0 <= record.load_balance()[layer] <= len(counts) / record.top_k(layer)


def test_the_runs_rate_and_shares_are_the_snapshots(moe_run):
    _info, snapshot, _updates = moe_run
    record = RunRecord.from_snapshot(snapshot)
    decode = [s for s in snapshot["steps"] if s["phase"] == "decode"]
    assert record.tokens_per_s() == pytest.approx([1000.0 / s["wall_ms"] for s in decode])
    assert record.decode_steps() == [s["index"] for s in decode]
    # the run's figure is tokens over decode time, as the summary has it, not the mean rate
    assert record.decode_tokens_per_s() == snapshot["summary"]["decode_tokens_per_s"]
    shares = record.step_time().shares()
    assert shares.layers + shares.head + shares.sample + shares.rest == pytest.approx(1.0)
    assert shares.head > 0 and record.step_time().steps == len(decode)
    assert RunRecord({}).step_time().shares() is None


def test_every_plot_holds_the_snapshot(dashboard, moe_run):
    _info, snapshot, _updates = moe_run
    steps = snapshot["steps"]
    dashboard.show_record(RunRecord.from_snapshot(snapshot))
    shown = dashboard.plotted()

    last = steps[-1]
    assert shown["latency_layers"] == list(range(7))
    assert shown["latency_bars"] == last["layer_ms"]
    assert shown["mixer_ms"] == last["mixer_ms"] and shown["ffn_ms"] == last["ffn_ms"]
    assert shown["latency_heatmap"] == [s["layer_ms"] for s in steps]  # steps x layers
    assert shown["memory"] == {key: [s["memory"][key] for s in steps]
                               for key in ("allocated", "reserved", "device_used", "rss")}
    assert shown["kv_seq_len"] == [s["seq_len"] for s in steps]
    assert shown["kv_total"] == [sum(s["kv_bytes"]) for s in steps]
    assert shown["kv_predicted_total"] == [sum(s["kv_bytes_predicted"]) for s in steps]
    assert shown["kv_per_layer"] == last["kv_bytes"]
    assert shown["kv_per_layer_predicted"] == last["kv_bytes_predicted"]
    assert shown["routing"] == summed_routing(snapshot)
    assert shown["load_balance"] == pytest.approx(RunRecord.from_snapshot(snapshot).load_balance())
    assert shown["routing_note"] == ""
    assert shown["tokens_per_s"] == pytest.approx([1000.0 / s["wall_ms"] for s in steps if s["phase"] == "decode"])
    assert shown["tokens_per_s_label"] == f"decode {snapshot['summary']['decode_tokens_per_s']:.1f} tokens/s"
    assert shown["text"] == snapshot["run"]["completion"]
    assert shown["sweep"] == []


def test_streaming_refreshes_reuse_the_plot_items(dashboard, moe_run):
    info, snapshot, updates = moe_run
    record = RunRecord(info)
    items = [len(plot.items) for plot in (dashboard.latency.bars_plot, dashboard.kv.total_plot,
                                          dashboard.memory.plot, dashboard.routing.heat_plot)]
    heat = dashboard.latency.heat
    for count, update in enumerate(updates, start=1):
        record.add_step(update.record, update.text)
        dashboard.show_record(record)
        assert len(dashboard.plotted()["latency_heatmap"]) == count
        assert len(dashboard.plotted()["kv_total"]) == count
    assert [len(plot.items) for plot in (dashboard.latency.bars_plot, dashboard.kv.total_plot,
                                         dashboard.memory.plot, dashboard.routing.heat_plot)] == items
    assert dashboard.latency.heat is heat
    assert dashboard.plotted()["routing"] == summed_routing(snapshot)


def test_while_a_run_streams_the_step_axes_span_the_planned_run(dashboard, moe_run):
    info, snapshot, updates = moe_run
    record = RunRecord(info)
    record.planned_steps = 40
    step_axes = [dashboard.memory.plot, dashboard.throughput.plot, dashboard.latency.heat_plot]
    prompt = snapshot["steps"][0]["seq_len"]
    ranges, kv_tops = [], []
    for update in updates:
        record.add_step(update.record, update.text)
        dashboard.show_record(record)
        ranges.append([plot.vb.viewRange()[0] for plot in step_axes] + [dashboard.kv.total_plot.vb.viewRange()[0]])
        kv_tops.append(dashboard.kv.total_plot.vb.viewRange()[1][1])
        assert all(high >= 39 for _low, high in ranges[-1][:3])  # room for step 39 from the start
        assert ranges[-1][3][0] == prompt and ranges[-1][3][1] >= prompt + 39  # context, likewise
    assert all(r == ranges[0] for r in ranges)  # no axis moved while the run grew
    assert len(set(kv_tops[1:])) == 1  # from the first decode step, the KV axis holds the planned run's total
    planned_total = record.kv_predicted_total()[-1] + (40 - len(updates)) * (
        record.kv_predicted_total()[-1] - record.kv_predicted_total()[-2])
    assert kv_tops[-1] * dashboard.kv._scales[dashboard.kv.total_plot] >= planned_total
    record.planned_steps = 0  # the run ended after 6 steps: the axes fit them
    dashboard.show_record(record)
    assert all(plot.vb.viewRange()[0][1] <= 8 for plot in step_axes)


def test_a_dense_model_shows_an_empty_routing_plot_with_a_note(dashboard, dense_snapshot):
    dashboard.show_record(RunRecord.from_snapshot(dense_snapshot))
    shown = dashboard.plotted()
    assert shown["routing"] == {} and shown["load_balance"] == {}
    assert shown["routing_note"] == "no MoE layers"
    # the note alone: no tick values of an empty range ("-0.4 ... 0.4") under it
    routing = dashboard.routing
    assert not any(plot.getAxis(side).style["showValues"] for plot in (routing.heat_plot, routing.balance_plot)
                   for side in ("left", "bottom"))
    assert len(shown["latency_bars"]) == 12
    # The sliding layers hold at most their window, the global ones every token: both as predicted.
    assert shown["kv_per_layer"] == dense_snapshot["steps"][-1]["kv_bytes_predicted"]


def test_a_run_without_the_probe_has_no_layer_times(dashboard, dense_session):
    snapshot = dense_session.run(RunConfig(max_new_tokens=3, probe=False)).to_dict()
    dashboard.show_record(RunRecord.from_snapshot(snapshot))
    shown = dashboard.plotted()
    assert shown["latency_bars"] == [] and shown["latency_heatmap"] == []
    assert dashboard.latency.bars_note.text == "per-layer times need the probe on"
    assert shown["kv_total"] == [sum(s["kv_bytes"]) for s in snapshot["steps"]]


def test_an_overlay_adds_a_dashed_second_run_and_none_removes_it(dashboard, moe_run, dense_snapshot):
    _info, snapshot, _updates = moe_run
    dashboard.show_record(RunRecord.from_snapshot(snapshot))
    other = RunRecord.from_snapshot(dense_snapshot, label="Gemma 3 270M")
    dashboard.overlay(other)
    shown = dashboard.plotted()
    steps = dense_snapshot["steps"]
    assert shown["latency_overlay"] == steps[-1]["layer_ms"]
    assert shown["latency_overlay_layers"] == list(range(12))
    assert shown["kv_overlay_total"] == [sum(s["kv_bytes"]) for s in steps]
    assert shown["kv_overlay_seq_len"] == [s["seq_len"] for s in steps]
    assert shown["memory_overlay"]["rss"] == [s["memory"]["rss"] for s in steps]
    assert shown["tokens_per_s_overlay"] == pytest.approx(other.tokens_per_s())
    # The primary run is untouched, and the title says which is which.
    assert shown["kv_total"] == [sum(s["kv_bytes"]) for s in snapshot["steps"]]
    assert "Gemma 3 270M (dashed)" in dashboard.kv.total_plot.titleLabel.text

    dashboard.overlay(None)
    shown = dashboard.plotted()
    assert shown["latency_overlay"] == [] and shown["kv_overlay_total"] == []
    assert shown["memory_overlay"] == {} and shown["tokens_per_s_overlay"] == []
    assert not dashboard.kv.total_plot.titleLabel.isVisible() or not dashboard.kv.total_plot.titleLabel.text


def test_the_sweep_plot_holds_each_sweeps_contexts_and_values(dashboard, sweep_snapshot):
    windowed = SweepRecord.from_snapshot(sweep_snapshot, label="with window")
    assert windowed.contexts == [8, 24, 40]
    halved = dataclasses.replace(windowed, label="half", decode_ms=[v / 2 for v in windowed.decode_ms])
    dashboard.show_sweep([windowed, halved])
    shown = dashboard.plotted()["sweep"]
    assert [s["label"] for s in shown] == ["with window", "half"]
    for drawn, sweep in zip(shown, (windowed, halved)):
        assert drawn["contexts"] == [p["context_len"] for p in sweep_snapshot["sweep"]]
        assert drawn["decode_ms"] == pytest.approx(sweep.decode_ms)
        assert drawn["kv_bytes"] == [p["kv_bytes"] for p in sweep_snapshot["sweep"]]
        assert drawn["kv_bytes_predicted"] == [p["kv_bytes_predicted"] for p in sweep_snapshot["sweep"]]
    assert len(dashboard.sweep.time_legend.items) == 2
    dashboard.show_sweep([windowed])
    assert len(dashboard.plotted()["sweep"]) == 1 and len(dashboard.sweep.time_legend.items) == 1
    with pytest.raises(KeyError, match="sweep"):
        SweepRecord.from_snapshot({"model": {}})


def test_the_batch_sweep_plot_holds_each_kinds_time_per_token_and_the_memory(dashboard, batch_snapshot):
    points = batch_snapshot["batch_sweep"]
    dashboard.show_batch_sweep(BatchSweepRecord.from_snapshot(batch_snapshot))
    shown = dashboard.plotted()["batch_sweep"]
    assert shown["batches"] == [1, 4, 16]
    assert shown["ms_per_token"]["whole step"] == pytest.approx([p["ms_per_token"] for p in points])
    for kind in ("attention", "MoE"):
        assert shown["ms_per_token"][kind] == pytest.approx([p["kind_ms"][kind] / p["batch"] for p in points])
    assert shown["kv_bytes"] == shown["kv_bytes_predicted"] == [p["kv_bytes"] for p in points]
    assert shown["memory_bytes"] == pytest.approx([p["memory_bytes"] for p in points], rel=1e-6)
    # no calibration here: measured only, and the plot says how to get the prediction
    assert shown["predicted_ms_per_token"] == {} and "calibrate" in shown["note"]
    labels = [label.text for _sample, label in dashboard.batch_sweep.time_legend.items]
    assert labels == ["whole step", "attention", "MoE"]
    axis_labels = [label for level in dashboard.batch_sweep.time_plot.getAxis("bottom")._tickLevels
                   for _position, label in level]
    assert axis_labels == ["1", "4", "16"]


def test_the_roofline_prediction_is_drawn_beside_each_kind(dashboard, batch_snapshot):
    points = [dict(p, predicted_ms_per_token=0.5 / p["batch"],
                   kind_ms_predicted={"attention": 0.1, "MoE": 0.3}) for p in batch_snapshot["batch_sweep"]]
    dashboard.show_batch_sweep(BatchSweepRecord.from_snapshot({**batch_snapshot, "batch_sweep": points}))
    shown = dashboard.plotted()["batch_sweep"]
    assert shown["predicted_ms_per_token"]["whole step"] == pytest.approx([0.5, 0.125, 0.03125])
    assert shown["predicted_ms_per_token"]["MoE"] == pytest.approx([0.3, 0.075, 0.01875])
    assert shown["note"] == ""
    dashboard.show_batch_sweep(BatchSweepRecord.from_snapshot(batch_snapshot))  # a sweep without: none left over
    assert dashboard.plotted()["batch_sweep"]["predicted_ms_per_token"] == {}
    with pytest.raises(KeyError, match="batch_sweep"):
        BatchSweepRecord.from_snapshot({"model": {}})


def test_export_writes_one_png_per_plot(dashboard, moe_run, sweep_snapshot, batch_snapshot, tmp_path):
    _info, snapshot, _updates = moe_run
    dashboard.show_record(RunRecord.from_snapshot(snapshot))
    dashboard.show_sweep([SweepRecord.from_snapshot(sweep_snapshot)])
    dashboard.show_batch_sweep(BatchSweepRecord.from_snapshot(batch_snapshot))
    written = dashboard.export_pngs(tmp_path / "pngs", "deepseek v3/explore")
    assert [path.name for path in written] == [f"deepseek-v3-explore-{slug}.png" for slug in
                                               ("latency", "memory", "kv", "routing", "throughput", "sweep",
                                                "roofline", "batch-sweep")]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5_000
        image = QImage(str(path))
        assert image.width() >= 400 and image.height() >= 250


def test_clear_empties_every_plot(dashboard, moe_run, dense_snapshot, sweep_snapshot, batch_snapshot):
    _info, snapshot, _updates = moe_run
    dashboard.show_record(RunRecord.from_snapshot(snapshot))
    dashboard.overlay(RunRecord.from_snapshot(dense_snapshot))
    dashboard.show_sweep([SweepRecord.from_snapshot(sweep_snapshot)])
    dashboard.show_batch_sweep(BatchSweepRecord.from_snapshot(batch_snapshot))
    dashboard.clear()
    shown = dashboard.plotted()
    for key, value in shown.items():
        if key == "memory":
            assert all(series == [] for series in value.values())
        else:
            assert not value, key
    dashboard.show_record(RunRecord.from_snapshot(snapshot))  # and it draws again afterwards
    assert dashboard.plotted()["kv_total"] == [sum(s["kv_bytes"]) for s in snapshot["steps"]]


def test_docks_and_the_streaming_text_follow_the_end(qtbot, dashboard):
    docks = dashboard.docks()
    assert [title for title, _widget, _name in docks] == DOCK_TITLES
    assert len({name for _title, _widget, name in docks}) == len(DOCK_TITLES)
    text = dashboard.text.widget
    assert text.isReadOnly()
    text.resize(300, 120)
    text.show()
    record = RunRecord({"name": "words"})
    words = ""
    for index in range(200):
        words += f"word{index} "
        record.text = words
        record.add_step({"index": index, "phase": "decode", "seq_len": index + 1, "wall_ms": 1.0})
        dashboard.show_record(record)
    bar = text.verticalScrollBar()
    assert text.toPlainText() == words
    assert bar.maximum() > 0 and bar.value() == bar.maximum()


def test_record_load_balance_skips_layers_without_tokens():
    record = RunRecord({})
    record.add_step({"index": 0, "phase": "prefill", "seq_len": 4, "wall_ms": 2.0,
                     "routing": {"1": [4, 0, 0, 0], "2": [0, 0, 0, 0]}})
    assert record.load_balance() == {1: 4.0}
    assert math.isclose(record.routing_totals()[1][0], 4)
    assert record.moe_layers == [1, 2]  # no spec: the layers that reported routing


def test_an_axis_range_moves_only_when_the_data_outgrows_it(qtbot):
    import pyqtgraph as pg

    from app.ui.dashboard.plots import hold_range, nice_ceiling

    assert [nice_ceiling(v) for v in (0.7, 1.0, 1.3, 37, 101, 5e6)] == [0.8, 1.0, 1.5, 40, 120, 5e6]
    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    plot = widget.addPlot()
    spans = []
    for steps in range(1, 130):  # a run's step axis, one refresh per step
        hold_range(plot, "x", steps)
        low, high = plot.vb.viewRange()[0]
        assert low == 0 and steps <= high <= steps * 4 / 3  # the widest gap in 1, 1.2, 1.5, 2, 2.5, 3, 4, ...
        spans.append(high)
    assert len(set(spans)) <= 21  # re-laid out ~20 times over 129 steps, not at every step
    hold_range(plot, "x", 3)  # a new, shorter run: the range comes back down
    assert plot.vb.viewRange()[0][1] == 3


def test_a_spiky_value_does_not_flip_the_scale_until_it_stays_low(qtbot):
    import pyqtgraph as pg

    from app.ui.dashboard.plots import hold_range

    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    plot = widget.addPlot()
    tops = []
    for value in [2.0, 2.1, 19.0, 2.2, 2.0, 23.0, 2.1] + [2.0] * 9:  # latest-step times, two interrupted
        hold_range(plot, "y", value, patience=8)
        tops.append(plot.vb.viewRange()[1][1])
    assert tops[:2] == [2.0, 2.5] and tops[2:5] == [20.0] * 3
    assert tops[5:14] == [25.0] * 9  # a spike raises it at once; 8 low refreshes in a row keep it
    assert tops[14] == 2.0  # the ninth brings it back to the data


def test_the_grid_follows_the_left_axis_ticks_without_the_axis_drawing_it(qtbot):
    import numpy as np
    import pyqtgraph as pg

    from app.ui.dashboard.plots import hold_range, styled_plot

    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    widget.resize(500, 300)
    plot = styled_plot(widget.ci, 0, "step", "time", y_units="ms")
    widget.show()
    qtbot.waitExposed(widget)
    axis = plot.getAxis("left")
    assert axis.grid is False  # pyqtgraph's own grid re-renders with every axis change
    for top in (3.0, 40.0, 250.0):
        hold_range(plot, "y", top)
        hold_range(plot, "x", 10)
        (x_low, x_high), (y_low, y_high) = plot.vb.viewRange()
        major = axis.tickValues(y_low, y_high, axis.size().height())[0][1]
        x, y = plot.grid_lines.getData()
        assert len(major) >= 3 and np.array_equal(y, np.repeat(major, 2))
        assert np.array_equal(x, np.tile([x_low, x_high], len(major)))  # each line spans the view


def test_the_heatmaps_colours_follow_the_usual_layer_times_not_an_interrupted_step(dashboard):
    record = RunRecord({"name": "m"})
    for index in range(40):
        layer_ms = [1.0, 1.0, 2.0, 2.0] if index != 17 else [1.0, 48.0, 2.0, 2.0]  # step 17: held up
        record.add_step({"index": index, "phase": "prefill" if index == 0 else "decode", "seq_len": 8 + index,
                         "wall_ms": 7.0, "layer_ms": [30.0] * 4 if index == 0 else layer_ms,
                         "mixer_ms": [0.5] * 4, "ffn_ms": [0.5] * 4, "kv_bytes": [1] * 4,
                         "kv_bytes_predicted": [1] * 4})
    dashboard.show_record(record)
    low, high = dashboard.latency.heat.levels
    assert low == 0 and 2.0 <= high <= 2.5  # the MoE-like layers' 2 ms is the darkest colour, not 48 ms


def test_a_new_record_scales_the_latency_bars_afresh(dashboard):
    def record_of(layer_ms: float) -> RunRecord:
        record = RunRecord({"name": "m"})
        for index in range(3):
            record.add_step({"index": index, "phase": "decode", "seq_len": 8 + index, "wall_ms": 9.0,
                             "layer_ms": [layer_ms] * 4, "mixer_ms": [0.0] * 4, "ffn_ms": [0.0] * 4,
                             "kv_bytes": [1] * 4, "kv_bytes_predicted": [1] * 4})
        return record

    dashboard.show_record(record_of(30.0))
    assert dashboard.latency.bars_plot.vb.viewRange()[1][1] >= 30
    dashboard.clear()
    dashboard.show_record(record_of(1.0))  # shown once: no run of low refreshes to wait out
    assert dashboard.latency.bars_plot.vb.viewRange()[1][1] <= 2
