"""`archscope profile` snapshots: valid against the schema kept in the repository, with
measured KV bytes equal to the analysis at every step, and a trace Perfetto can open."""

import csv
import json
from importlib import resources

import jsonschema
import pytest

from app.cli import main
from app.spec import catalog

SCHEMA = json.loads(resources.files("app.resources").joinpath("profile.schema.json").read_text())
NEW_TOKENS = 6


@pytest.fixture(scope="module", params=["gemma3-27b", "olmo3-7b", "gpt2-small"])
def profiled(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    argv = ["profile", "--arch", request.param, "--max-new-tokens", str(NEW_TOKENS), "--batch", "2",
            "--device", "cpu", "--out", str(out / "run.json"), "--csv", str(out / "run.csv"),
            "--trace", str(out / "run.trace.json")]
    assert main(argv) == 0
    return request.param, out


def test_snapshot_validates_against_the_schema(profiled):
    _, out = profiled
    snapshot = json.loads((out / "run.json").read_text())
    jsonschema.validate(snapshot, SCHEMA)
    assert snapshot["run"]["new_tokens"] == NEW_TOKENS
    assert [step["phase"] for step in snapshot["steps"]] == ["prefill"] + ["decode"] * (NEW_TOKENS - 1)


def test_kv_bytes_equal_the_prediction_at_every_step_and_layer_ms_has_every_layer(profiled):
    name, out = profiled
    snapshot = json.loads((out / "run.json").read_text())
    layers = catalog.get(name, "explore").num_layers
    for step in snapshot["steps"]:
        assert step["kv_bytes"] == step["kv_bytes_predicted"]
        assert len(step["kv_bytes"]) == len(step["layer_ms"]) == layers
        assert all(ms > 0 for ms in step["layer_ms"])
    assert snapshot["summary"]["kv_bytes_final"] == sum(snapshot["steps"][-1]["kv_bytes"])


def test_csv_has_a_row_per_step_and_layer(profiled):
    name, out = profiled
    with open(out / "run.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == NEW_TOKENS * catalog.get(name, "explore").num_layers
    assert rows[0]["layer_ms"] and rows[0]["kv_bytes"] == rows[0]["kv_bytes_predicted"]


def test_chrome_trace_is_valid_trace_event_format_with_a_track_per_layer(profiled):
    name, out = profiled
    trace = json.loads((out / "run.trace.json").read_text())
    events = trace["traceEvents"]
    for event in events:
        assert event["ph"] in {"M", "X", "C"}
        assert isinstance(event["pid"], int) and isinstance(event["name"], str)
        if event["ph"] in {"X", "C"}:
            assert event["ts"] >= 0
        if event["ph"] == "X":
            assert event["dur"] >= 0 and isinstance(event["tid"], int)
    tracks = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    layers = catalog.get(name, "explore").num_layers
    assert sum(track.startswith("layer ") for track in tracks) == layers
    slices_per_layer = {}
    for event in events:
        if event["ph"] == "X" and event["tid"] > 0 and event["name"].startswith("step "):
            slices_per_layer[event["tid"]] = slices_per_layer.get(event["tid"], 0) + 1
    assert slices_per_layer == {tid: NEW_TOKENS for tid in range(1, layers + 1)}
    assert any(e["ph"] == "C" and e["name"] == "KV cache bytes" for e in events)


def test_no_probe_still_records_kv_and_memory(tmp_path):
    assert main(["profile", "--arch", "llama3-8b", "--max-new-tokens", "3", "--no-probe", "--device", "cpu",
                 "--out", str(tmp_path / "r.json")]) == 0
    snapshot = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(snapshot, SCHEMA)
    assert snapshot["run"]["probe"] is False
    assert all(step["layer_ms"] == [] and step["kv_bytes"] for step in snapshot["steps"])
