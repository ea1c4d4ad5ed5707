"""Snapshot files: JSON, CSV (a row per step and layer) and Chrome Trace Event JSON
(Perfetto, chrome://tracing). The files of one export are written as a set, all of them
or none (app/files.py), so a killed export never leaves half a file, nor a new JSON beside
an old CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..files import write_set_atomic
from .snapshot import ProfileSnapshot


def to_json(snapshot: ProfileSnapshot) -> str:
    return json.dumps(snapshot.to_dict(), indent=1)


CSV_COLUMNS = ["step", "phase", "seq_len", "layer", "mixer", "ffn", "layer_ms", "mixer_ms", "ffn_ms", "kv_bytes",
               "kv_bytes_predicted", "step_wall_ms", "step_head_ms", "step_sample_ms"]


def to_csv(snapshot: ProfileSnapshot) -> str:
    rows = [layer_row for step in snapshot.steps for layer_row in _csv_rows(snapshot, step)]
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _csv_rows(snapshot: ProfileSnapshot, step):
    kinds = snapshot.model.get("layers", [])
    for layer, kv in enumerate(step.kv_bytes):
        timed = bool(step.layer_ms)
        yield {
            "step": step.index, "phase": step.phase, "seq_len": step.seq_len, "layer": layer,
            "mixer": kinds[layer]["mixer"] if layer < len(kinds) else "",
            "ffn": kinds[layer]["ffn"] if layer < len(kinds) else "",
            "layer_ms": step.layer_ms[layer] if timed else "", "mixer_ms": step.mixer_ms[layer] if timed else "",
            "ffn_ms": step.ffn_ms[layer] if timed else "", "kv_bytes": kv,
            "kv_bytes_predicted": step.kv_bytes_predicted[layer], "step_wall_ms": step.wall_ms,
            "step_head_ms": step.head_ms if timed else "", "step_sample_ms": step.sample_ms if timed else "",
        }


def to_chrome_trace(snapshot: ProfileSnapshot) -> str:
    """Trace Event Format: one track (thread) per layer with a slice per step, the mixer
    and feed-forward as nested slices; after the layers, the output head and the sampling
    on tracks of their own; counter tracks for memory and KV bytes."""
    pid = 1
    events: list[dict] = [{"ph": "M", "pid": pid, "name": "process_name",
                           "args": {"name": f"ArchScope: {snapshot.model.get('name', '')}"}}]
    layers = len(snapshot.steps[0].kv_bytes) if snapshot.steps else 0
    kinds = snapshot.model.get("layers", [])
    events.append({"ph": "M", "pid": pid, "tid": 0, "name": "thread_name", "args": {"name": "steps"}})
    for layer in range(layers):
        label = f"layer {layer}" + (f" ({kinds[layer]['mixer']})" if layer < len(kinds) else "")
        events.append({"ph": "M", "pid": pid, "tid": layer + 1, "name": "thread_name", "args": {"name": label}})
        events.append({"ph": "M", "pid": pid, "tid": layer + 1, "name": "thread_sort_index",
                       "args": {"sort_index": layer + 1}})
    # after the layers' tracks (the vision encoder's, when there is one, is layers + 1)
    head_tid, sample_tid = layers + 2, layers + 3
    for tid, label in ((head_tid, "output head"), (sample_tid, "sampling")):
        events.append({"ph": "M", "pid": pid, "tid": tid, "name": "thread_name", "args": {"name": label}})
        events.append({"ph": "M", "pid": pid, "tid": tid, "name": "thread_sort_index", "args": {"sort_index": tid}})
    clock_us = 0.0
    vision = snapshot.extra.get("vision")
    if vision:  # a vision model's encoder: a track of its own, before the prefill
        tid = layers + 1
        events.append({"ph": "M", "pid": pid, "tid": tid, "name": "thread_name", "args": {"name": "vision encoder"}})
        events.append({"ph": "M", "pid": pid, "tid": tid, "name": "thread_sort_index", "args": {"sort_index": -1}})
        events.append({"ph": "X", "pid": pid, "tid": tid, "name": "encoder + projector", "ts": 0.0,
                       "dur": vision["encoder_ms"] * 1e3,
                       "args": {"images": vision["images"], "image_tokens": vision["image_tokens"]}})
        clock_us = vision["encoder_ms"] * 1e3
    for step in snapshot.steps:
        step_us = step.wall_ms * 1e3
        events.append({"ph": "X", "pid": pid, "tid": 0, "name": f"{step.phase} {step.index}", "ts": clock_us,
                       "dur": step_us, "args": {"seq_len": step.seq_len}})
        layer_start = clock_us
        for layer in range(len(step.layer_ms)):
            tid = layer + 1
            events.append({"ph": "X", "pid": pid, "tid": tid, "name": f"step {step.index}", "ts": layer_start,
                           "dur": step.layer_ms[layer] * 1e3, "args": {"kv_bytes": step.kv_bytes[layer]}})
            events.append({"ph": "X", "pid": pid, "tid": tid, "name": "mixer", "ts": layer_start,
                           "dur": step.mixer_ms[layer] * 1e3})
            events.append({"ph": "X", "pid": pid, "tid": tid, "name": "ffn",
                           "ts": layer_start + step.mixer_ms[layer] * 1e3, "dur": step.ffn_ms[layer] * 1e3})
            layer_start += step.layer_ms[layer] * 1e3
        if step.layer_ms:  # the head starts where the last layer ended, the sampling where the head did
            events.append({"ph": "X", "pid": pid, "tid": head_tid, "name": f"head {step.index}", "ts": layer_start,
                           "dur": step.head_ms * 1e3})
            events.append({"ph": "X", "pid": pid, "tid": sample_tid, "name": f"sample {step.index}",
                           "ts": layer_start + step.head_ms * 1e3, "dur": step.sample_ms * 1e3})
        events.append({"ph": "C", "pid": pid, "name": "KV cache bytes", "ts": clock_us,
                       "args": {"measured": sum(step.kv_bytes), "predicted": sum(step.kv_bytes_predicted)}})
        events.append({"ph": "C", "pid": pid, "name": "memory bytes", "ts": clock_us,
                       "args": {key: value for key, value in step.memory.items()}})
        clock_us += step_us
    return json.dumps({"traceEvents": events, "displayTimeUnit": "ms",
                       "otherData": {"schema": "archscope.profile/1", "model": snapshot.model.get("name", "")}})


def export(snapshot: ProfileSnapshot, json_path=None, csv_path=None, trace_path=None) -> list[Path]:
    files = {Path(path): render(snapshot)
             for path, render in ((json_path, to_json), (csv_path, to_csv), (trace_path, to_chrome_trace)) if path}
    return write_set_atomic(files) if files else []
