"""Small valid profile snapshot documents, built without running a model, for the tests
that open, break and export them."""

from __future__ import annotations

from dataclasses import replace

from app.runtime.snapshot import ProfileSnapshot, StepRecord
from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.serialize import spec_to_dict


def snapshot_document(name: str = "tiny", decode_steps: int = 3, entry: str = "qwen3-0.6b") -> dict:
    """A prefill and `decode_steps` timed decode steps of `entry` at explore scale."""
    spec = replace(catalog.get(entry, scale="explore"), name=name)
    analysis = analyze(spec)
    layers = len(analysis.layers)
    model = {"name": name, "source": "random", "spec": spec_to_dict(spec), "params_total": analysis.total_params,
             "params_active": analysis.active_params, "dtype": "float32", "device": "cpu",
             "layers": [{"mixer": row.mixer, "ffn": row.ffn} for row in analysis.layers]}
    hardware = {"device_name": "cpu", "cuda": False, "gpu_memory_total": 0, "cpu": "test", "ram_total": 2**30}
    run = {"prompt_tokens": 4, "new_tokens": decode_steps + 1, "batch": 1, "sampling": {}, "probe": True,
           "completion": "a b c"}
    steps = [StepRecord(index, "prefill" if index == 0 else "decode", 4 + index, 2.0 + index,
                        [0.5] * layers, [0.2] * layers, [0.3] * layers, [1024 * (4 + index)] * layers,
                        [1024 * (4 + index)] * layers, {"allocated": 0, "reserved": 0, "device_used": 0, "rss": 2**20},
                        tokens=[7], head_ms=0.1, sample_ms=0.05)
             for index in range(decode_steps + 1)]
    return ProfileSnapshot(model, hardware, run, steps, created="2026-01-01T00:00:00+00:00").to_dict()
