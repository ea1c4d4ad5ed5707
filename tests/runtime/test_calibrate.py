"""Calibration on this CPU: the quick micro-benchmarks give positive, finite roofs for the
dtypes asked, at the thread count asked, report their progress, stop when cancelled, and
`archscope calibrate` saves what it prints."""

import json
import math

import pytest
import torch

from app.cli import main
from app.runtime.calibrate import computed_dtypes, cpu_model_name, measure_roofs, saved_roofs
from app.runtime.probe import Cancelled
from app.runtime.roofs_file import roofs_path


def test_quick_roofs_for_float32_and_bfloat16_at_the_threads_asked():
    threads_before = torch.get_num_threads()
    seen = []
    roofs = measure_roofs("cpu", dtypes=("float32", "bfloat16"), threads=1, quick=True,
                          progress=lambda done, total: seen.append((done, total)))
    assert set(roofs) == {"float32", "bfloat16"}
    for dtype, roof in roofs.items():
        assert roof.dtype == dtype and roof.threads == 1 and roof.device == cpu_model_name()
        assert math.isfinite(roof.bandwidth_bytes_per_s) and roof.bandwidth_bytes_per_s > 0
        assert math.isfinite(roof.flops_per_s) and roof.flops_per_s > 0
        assert roof.measured
    # one bandwidth: memory does not know the matmuls' dtype
    assert roofs["float32"].bandwidth_bytes_per_s == roofs["bfloat16"].bandwidth_bytes_per_s
    total = seen[-1][1]
    assert seen == [(done, total) for done in range(total + 1)]  # a bar can show every step
    assert torch.get_num_threads() == threads_before  # the caller's setting is restored


def test_cancelling_stops_between_micro_benchmarks():
    asked = []

    def cancelled():
        asked.append(True)
        return len(asked) > 1

    with pytest.raises(Cancelled):
        measure_roofs("cpu", threads=1, quick=True, cancelled=cancelled)
    assert len(asked) == 2


def test_the_cpu_computes_all_three_dtypes():
    assert computed_dtypes(torch.device("cpu")) == ("float32", "bfloat16", "float16")


def test_calibrate_quick_json_saves_what_it_prints(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHSCOPE_CONFIG_DIR", str(tmp_path))
    assert saved_roofs("cpu", "float32", threads=1) is None
    assert main(["calibrate", "--device", "cpu", "--threads", "1", "--quick", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["saved_to"] == str(roofs_path())
    assert printed["threads"] == 1
    assert {"float32 matrix-vector", "float32 sum", "bfloat16 matrix-vector", "bfloat16 sum"} <= set(
        printed["read_bytes_per_s"])
    assert printed["bandwidth_bytes_per_s"] == max(printed["read_bytes_per_s"].values())
    for dtype in ("float32", "bfloat16", "float16"):
        saved = saved_roofs("cpu", dtype, threads=1)
        assert saved is not None and saved.to_dict() == printed["roofs"][dtype]


def test_calibrate_prints_the_roofs_and_the_file(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHSCOPE_CONFIG_DIR", str(tmp_path))
    assert main(["calibrate", "--device", "cpu", "--threads", "1", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "bandwidth roof:" in out and "GB/s" in out
    for dtype in ("float32", "bfloat16", "float16"):
        assert dtype in out
    assert "FLOPs/byte" in out
    assert f"saved to {tmp_path / 'roofs.json'}" in out


def test_a_thread_count_below_one_is_refused(capsys):
    assert main(["calibrate", "--threads", "0", "--quick"]) == 2
    assert "--threads" in capsys.readouterr().err
