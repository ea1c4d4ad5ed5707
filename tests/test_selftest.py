"""`archscope --selftest`: the window, the worker, a real model, a checked snapshot, an
exit status and one line that says why."""

import copy
import subprocess
import sys

import pytest

from app.selftest import check_snapshot, run_selftest


def test_selftest_passes_on_the_embedded_default():
    result = subprocess.run([sys.executable, "-m", "app", "--selftest"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    line = result.stdout.strip()
    assert line.startswith("archscope selftest: ok: window shown ") and "\n" not in line
    assert "embedded:gemma3-270m (18 layers)" in line and "8 tokens profiled" in line


def test_a_model_that_cannot_load_fails_with_the_reason(qapp, capsys):
    assert run_selftest(model="embedded:no-such-model") == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the worker's traceback
    assert err.startswith("archscope selftest: FAILED: loading embedded:no-such-model: ")
    assert "no such embedded model" in err


def good_snapshot(layers=3, tokens=4, prompt=5):
    steps = [{"index": i, "phase": "prefill" if i == 0 else "decode", "seq_len": prompt + i, "wall_ms": 1.5,
              "layer_ms": [0.4] * layers, "kv_bytes": [64 * (prompt + i)] * layers,
              "kv_bytes_predicted": [64 * (prompt + i)] * layers} for i in range(tokens)]
    return {"schema": "archscope.profile/1", "created": "now", "app_version": "0", "model": {"spec": {}},
            "hardware": {}, "run": {"new_tokens": tokens, "probe": True, "prompt_tokens": prompt}, "steps": steps,
            "summary": {"layer_ms_mean": [0.4] * layers, "kv_bytes_final": 1, "kv_bytes_final_predicted": 1,
                        "decode_tokens_per_s": 600.0}}


def test_a_sound_snapshot_has_no_problems():
    assert check_snapshot(good_snapshot(), num_layers=3, new_tokens=4) == []


@pytest.mark.parametrize("break_it, problem", [
    (lambda d: d.update(schema="other/1"), "schema: expected 'archscope.profile/1'"),
    (lambda d: d["steps"].pop(), "steps: expected 4 steps, found 3"),
    (lambda d: d["steps"][2]["layer_ms"].pop(), "steps[2].layer_ms: expected one entry per layer (3), found 2"),
    (lambda d: d["steps"][1]["kv_bytes"].__setitem__(2, 1), "steps[1].kv_bytes: measured 1 bytes at layer 2"),
    (lambda d: d["steps"][3].update(phase="prefill"), "steps[3]: expected index 3 (decode)"),
    (lambda d: d["summary"].update(kv_bytes_final=2), "summary.kv_bytes_final: 2 measured, 1 predicted"),
])
def test_each_defect_is_named(break_it, problem):
    document = copy.deepcopy(good_snapshot())
    break_it(document)
    problems = check_snapshot(document, num_layers=3, new_tokens=4)
    assert any(p.startswith(problem) for p in problems), problems
