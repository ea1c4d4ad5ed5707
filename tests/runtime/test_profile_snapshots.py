"""`archscope profile` snapshots: valid against the schema kept in the repository, with
measured KV bytes equal to the analysis at every step, and a trace Perfetto can open."""

import csv
import json
from importlib import resources

import jsonschema
import pytest

from app.cli import main
from app.runtime.snapshot_file import read_snapshot
from app.spec import catalog

SCHEMA = json.loads(resources.files("app.resources").joinpath("profile.schema.json").read_text())
NEW_TOKENS = 6


@pytest.fixture(scope="module", params=["deepseek-v3", "gemma3-27b", "olmo3-7b", "embedded:gemma3-270m"])
def profiled(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param.replace(":", "-"))
    source = ["--model", request.param] if request.param.startswith("embedded:") else ["--arch", request.param]
    argv = ["profile", *source, "--max-new-tokens", str(NEW_TOKENS), "--batch", "2", "--device", "cpu",
            "--out", str(out / "run.json"), "--csv", str(out / "run.csv"), "--trace", str(out / "run.trace.json")]
    if request.param.startswith("embedded:"):
        argv += ["--prompt", "The capital of France is"]
    assert main(argv) == 0
    return request.param, out


def layer_count(name):
    return catalog.get(name.removeprefix("embedded:"), "full" if name.startswith("embedded:") else "explore").num_layers


def test_snapshot_validates_against_the_schema(profiled):
    _, out = profiled
    snapshot = json.loads((out / "run.json").read_text())
    jsonschema.validate(snapshot, SCHEMA)
    assert snapshot["run"]["new_tokens"] == NEW_TOKENS
    assert [step["phase"] for step in snapshot["steps"]] == ["prefill"] + ["decode"] * (NEW_TOKENS - 1)
    if snapshot["model"]["source"].startswith("embedded:"):
        assert snapshot["run"]["completion"].strip()  # a real model writes real text


def test_the_window_opens_every_snapshot_the_app_writes(profiled):
    _, out = profiled
    assert read_snapshot(out / "run.json") == json.loads((out / "run.json").read_text())


def test_kv_bytes_equal_the_prediction_at_every_step_and_layer_ms_has_every_layer(profiled):
    name, out = profiled
    snapshot = json.loads((out / "run.json").read_text())
    layers = layer_count(name)
    for step in snapshot["steps"]:
        assert step["kv_bytes"] == step["kv_bytes_predicted"]
        assert len(step["kv_bytes"]) == len(step["layer_ms"]) == layers
        assert all(ms > 0 for ms in step["layer_ms"])
    assert snapshot["summary"]["kv_bytes_final"] == sum(snapshot["steps"][-1]["kv_bytes"])


def test_csv_has_a_row_per_step_and_layer(profiled):
    name, out = profiled
    with open(out / "run.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == NEW_TOKENS * layer_count(name)
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
    layers = layer_count(name)
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


def test_routing_counts_sum_to_tokens_times_top_k_at_every_step(profiled):
    name, out = profiled
    snapshot = json.loads((out / "run.json").read_text())
    spec = catalog.get(name.removeprefix("embedded:"), "explore")
    moe_layers = {str(i): layer.ffn.top_k for i, layer in enumerate(spec.layers) if layer.ffn_kind == "moe"}
    if name.startswith("embedded:") or not moe_layers:
        assert all(step["routing"] == {} for step in snapshot["steps"])
        return
    batch = snapshot["run"]["batch"]
    for step in snapshot["steps"]:
        tokens = batch * (snapshot["run"]["prompt_tokens"] if step["phase"] == "prefill" else 1)
        assert set(step["routing"]) == set(moe_layers)
        for layer, counts in step["routing"].items():
            assert sum(counts) == tokens * moe_layers[layer]


def test_context_sweep_and_full_width_slice(tmp_path):
    assert main(["profile", "--arch", "gemma3-270m", "--scale", "slice", "--max-new-tokens", "3", "--device", "cpu",
                 "--sweep", "16,600", "--out", str(tmp_path / "s.json")]) == 0
    snapshot = json.loads((tmp_path / "s.json").read_text())
    jsonschema.validate(snapshot, SCHEMA)
    full = catalog.get("gemma3-270m")
    kinds = snapshot["extrapolation"]["kinds"]
    assert sum(kind["stands_for"] for kind in kinds) == full.num_layers == 18
    assert len(kinds) == 2  # one sliding and one global layer at published width
    assert snapshot["extrapolation"]["decode_ms_per_token"] > sum(kind["measured_ms"] for kind in kinds)
    short, long = snapshot["sweep"]
    assert short["kv_bytes"] == short["kv_bytes_predicted"] and long["kv_bytes"] == long["kv_bytes_predicted"]
    # The sliding layer stops at its 512-token window: past it only the global layer grows.
    assert long["kv_bytes"] < (long["context_len"] + 4) / (short["context_len"] + 4) * short["kv_bytes"]


def test_peak_memory_is_the_gpus_on_a_gpu_and_the_process_on_the_cpu():
    from app.runtime.snapshot import ProfileSnapshot

    def snapshot(memories):
        steps = [{"index": i, "phase": "decode", "seq_len": 4 + i, "wall_ms": 1.0, "layer_ms": [], "mixer_ms": [],
                  "ffn_ms": [], "kv_bytes": [], "kv_bytes_predicted": [],
                  "memory": memory} for i, memory in enumerate(memories)]
        return ProfileSnapshot.from_dict({"model": {}, "run": {"batch": 1}, "steps": steps}).summary()

    gpu = snapshot([{"allocated": 2 << 30, "reserved": 3 << 30, "rss": 5 << 30},
                    {"allocated": 3 << 30, "reserved": 3 << 30, "rss": 4 << 30}])
    assert gpu["peak_memory_bytes"] == 3 << 30  # not the host process' 5 GiB (CUDA context, libraries)
    assert gpu["peak_rss_bytes"] == 5 << 30
    cpu = snapshot([{"allocated": 0, "rss": 700 << 20}, {"allocated": 0, "rss": 900 << 20}])
    assert cpu["peak_memory_bytes"] == cpu["peak_rss_bytes"] == 900 << 20


def test_every_step_has_the_rooflines_least_time_beside_its_measured_one(profiled):
    from app.spec.roofline import MatrixBytes, Roofs, predict_step
    from app.spec.serialize import spec_from_dict

    source, out = profiled
    snapshot = json.loads((out / "run.json").read_text())
    roofs = Roofs.from_dict(snapshot["run"]["roofs"])
    assert roofs.bandwidth_bytes_per_s > 0 and roofs.flops_per_s > 0 and roofs.dtype == "float32"
    spec = spec_from_dict(snapshot["model"]["spec"])
    # a GGUF file's matrices run low-bit where the kernel can (else they are expanded, and the
    # load says why): the roofline counts the bytes they really hold
    from app.model import cpu_kernels

    low_bit = source.startswith("embedded:") and cpu_kernels.unavailable() is None
    assert (snapshot["model"]["weights"] == "low-bit") == low_bit
    assert ("matrix_bytes" in snapshot["model"]) == low_bit
    matrices = MatrixBytes.from_dict(snapshot["model"]["matrix_bytes"]) if low_bit else None
    if low_bit:
        assert all(0.5 < size < 1.5 for size in matrices.mixer + matrices.ffn)  # 4 to 8 bits and their scales
    for step in snapshot["steps"]:
        tokens = snapshot["run"]["prompt_tokens"] if step["phase"] == "prefill" else 1
        expected = predict_step(spec, roofs, step["phase"], tokens, step["seq_len"] - tokens,
                                snapshot["run"]["batch"], 4, step["routing"] or None, matrices)
        assert step["predicted_ms"] == pytest.approx(expected.layer_ms, abs=1e-4)
        assert step["predicted_head_ms"] == pytest.approx(expected.head_ms, abs=1e-4)
        assert len(step["predicted_ms"]) == len(step["layer_ms"])


def test_a_steps_predicted_whole_is_its_layers_embedding_head_and_sampling(profiled):
    _, out = profiled
    snapshot = json.loads((out / "run.json").read_text())
    for step in snapshot["steps"]:
        parts = sum(step["predicted_ms"]) + step["predicted_head_ms"] + step["predicted_sample_ms"]
        # the embedding lookup adds a row per token (each figure is rounded to 0.1 us)
        assert parts - 1e-3 <= step["predicted_step_ms"] < parts + 1.0
