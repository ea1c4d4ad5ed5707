"""The batch sweep: one point per batch size whose figures agree with each other (the layer
kinds' times within the step, the cache bytes equal to the analysis' at that batch), MoE
routing counted per point, and the CLI flag that writes the snapshot's section."""

import json
from importlib import resources

import jsonschema
import pytest

from app.cli import main
from app.runtime.batch_sweep import batch_sweep
from app.runtime.probe import Cancelled
from app.runtime.session import Session
from app.spec.roofline import Roofs, ffn_point_kind, predict_ms, step_cost

SCHEMA = json.loads(resources.files("app.resources").joinpath("profile.schema.json").read_text())
BATCHES = [1, 4, 16]
CONTEXT = 16


@pytest.fixture(scope="module")
def dense_points():
    session = Session.from_arch("qwen3-0.6b", "explore", device="cpu")
    return session, batch_sweep(session, [16, 1, 4], context=CONTEXT, decode_steps=3)


@pytest.fixture(scope="module")
def moe_points():
    session = Session.from_arch("qwen3-30b-a3b", "explore", device="cpu")
    return session, batch_sweep(session, BATCHES, context=CONTEXT, decode_steps=3)


def test_one_point_per_batch_with_consistent_times(dense_points):
    _, points = dense_points
    assert [point.batch for point in points] == BATCHES  # sorted, whatever order they were asked in
    for point in points:
        assert point.context_len == CONTEXT
        assert set(point.kind_ms) == {"attention", "dense MLP"}
        # one real step is reported, so its parts fit inside it
        assert sum(point.kind_ms.values()) <= point.decode_ms + 1e-3
        assert sum(point.layer_ms) <= point.decode_ms + 1e-3
        assert point.ms_per_token == pytest.approx(point.decode_ms / point.batch, abs=1e-3)
        assert point.tokens_per_s == pytest.approx(point.batch * 1e3 / point.decode_ms, rel=1e-3)
        assert point.memory_bytes > 0


def test_kv_bytes_are_the_analysis_times_the_batch(dense_points):
    _, points = dense_points
    for point in points:
        assert point.kv_bytes == point.kv_bytes_predicted > 0
    per_row = points[0].kv_bytes
    assert [point.kv_bytes for point in points] == [per_row * point.batch for point in points]


def test_without_roofs_nothing_is_predicted(dense_points):
    _, points = dense_points
    assert all(point.predicted_ms_per_token is None and point.kind_ms_predicted is None for point in points)


def test_moe_routing_counts_one_step_of_the_batch(moe_points):
    session, points = moe_points
    moe_layers = {str(i): layer.ffn for i, layer in enumerate(session.spec.layers)
                  if ffn_point_kind(layer.ffn) == "MoE"}
    reached = []
    for point in points:
        assert set(point.kind_ms) == {"attention", "MoE"}
        assert set(point.routing) == set(moe_layers)
        for layer, counts in point.routing.items():
            assert sum(counts) == point.batch * moe_layers[layer].top_k
        reached.append(sum(1 for counts in point.routing.values() for count in counts if count))
    # one token reaches its top-k experts per layer; a larger batch spreads over more
    assert reached[0] == sum(ffn.top_k for ffn in moe_layers.values())
    assert reached == sorted(reached) and reached[-1] > reached[0]


def test_without_the_probe_only_whole_steps_are_timed():
    session = Session.from_arch("qwen3-30b-a3b", "explore", device="cpu")
    (point,) = batch_sweep(session, [2], context=CONTEXT, decode_steps=1, probe=False)
    assert point.layer_ms == [] and point.kind_ms == {} and point.routing == {}
    assert point.decode_ms > 0 and point.kv_bytes == point.kv_bytes_predicted


def test_a_cancelled_sweep_stops():
    session = Session.from_arch("qwen3-0.6b", "explore", device="cpu")
    with pytest.raises(Cancelled):
        batch_sweep(session, [1, 4], context=CONTEXT, cancelled=lambda: True)


def test_with_roofs_each_point_carries_the_roofline_prediction():
    session = Session.from_arch("qwen3-30b-a3b", "explore", device="cpu")
    roofs = Roofs("test device", "float32", bandwidth_bytes_per_s=20e9, flops_per_s=100e9)
    points = batch_sweep(session, BATCHES, context=CONTEXT, decode_steps=1, roofs=roofs)
    for point in points:
        assert set(point.kind_ms_predicted) == set(point.kind_ms) == {"attention", "MoE"}
        assert point.predicted_ms_per_token * point.batch > sum(point.kind_ms_predicted.values())  # + head, ...
        # the MoE layers are costed with the experts the batch really reached
        rows = step_cost(session.spec, "decode", context=CONTEXT, batch=point.batch, dtype_bytes=4,
                         routing=point.routing)
        moe_ms = sum(predict_ms(row.ffn, roofs) for row in rows if row.ffn_kind == "MoE")
        assert point.kind_ms_predicted["MoE"] == pytest.approx(moe_ms, rel=1e-4)
    # the weights read once serve the whole batch: per token, a larger batch costs less
    per_token = [point.predicted_ms_per_token for point in points]
    assert per_token == sorted(per_token, reverse=True)


def test_the_cli_flag_writes_the_batch_sweep_section(tmp_path, capsys):
    out = tmp_path / "batch.json"
    assert main(["profile", "--arch", "qwen3-30b-a3b", "--max-new-tokens", "2", "--device", "cpu",
                 "--batch-sweep", "4,1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "batch sweep" in printed and "MoE ms/token" in printed
    snapshot = json.loads(out.read_text())
    jsonschema.validate(snapshot, SCHEMA)
    assert [point["batch"] for point in snapshot["batch_sweep"]] == [1, 4]
    assert all(point["kv_bytes"] == point["kv_bytes_predicted"] for point in snapshot["batch_sweep"])


def test_the_cli_predicts_from_the_saved_roofs(tmp_path, monkeypatch, capsys):
    import torch

    from app.runtime.batch_sweep import BatchPoint, predicted_times
    from app.runtime.calibrate import device_name
    from app.runtime.roofs_file import save_roofs

    monkeypatch.setenv("ARCHSCOPE_CONFIG_DIR", str(tmp_path / "config"))
    roofs = Roofs(device_name(torch.device("cpu")), "float32", bandwidth_bytes_per_s=20e9, flops_per_s=100e9,
                  threads=torch.get_num_threads())
    save_roofs([roofs])
    out = tmp_path / "batch.json"
    assert main(["profile", "--arch", "qwen3-0.6b", "--max-new-tokens", "2", "--device", "cpu",
                 "--batch-sweep", "1,2", "--out", str(out)]) == 0
    assert "predicted ms/token" in capsys.readouterr().out
    snapshot = json.loads(out.read_text())
    jsonschema.validate(snapshot, SCHEMA)
    spec = Session.from_arch("qwen3-0.6b", "explore", device="cpu").spec
    for point in snapshot["batch_sweep"]:
        per_token, per_kind = predicted_times(spec, BatchPoint(**point), roofs, dtype_bytes=4)
        assert point["predicted_ms_per_token"] == pytest.approx(per_token)
        assert point["kind_ms_predicted"] == pytest.approx(per_kind)
        assert set(per_kind) == {"attention", "dense MLP"}


@pytest.mark.parametrize("value", ["1,x,4", "0", "4,-2", ","])
def test_the_cli_flag_rejects_what_is_not_a_batch_size(value, capsys):
    with pytest.raises(SystemExit):
        main(["profile", "--arch", "qwen3-0.6b", "--batch-sweep", value])
    error = capsys.readouterr().err
    assert "--batch-sweep" in error and "batch size" in error
