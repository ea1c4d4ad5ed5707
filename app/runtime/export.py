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
    on tracks of their own; counter tracks for memory and KV bytes. A parallel run (a
    snapshot with "ranks") has a process per rank, the first holding the run's own steps
    (rank 0's), each with its collectives inside the mixer or feed-forward that ran them."""
    name = snapshot.model.get("name", "")
    ranks = snapshot.extra.get("ranks")
    per_rank = ranks["per_rank"] if ranks else []
    events = _run_process(snapshot, f"ArchScope: {name}" + (", rank 0" if ranks else ""),
                          per_rank[0]["steps"] if per_rank else None)
    for ranked in per_rank[1:]:
        events += _rank_process(snapshot, ranked["rank"] + 1, f"ArchScope: {name}, rank {ranked['rank']}",
                                ranked["steps"])
    return json.dumps({"traceEvents": events, "displayTimeUnit": "ms",
                       "otherData": {"schema": "archscope.profile/1", "model": name}})


def _track_names(pid: int, layers: int, kinds: list[dict]) -> list[dict]:
    events = [{"ph": "M", "pid": pid, "tid": 0, "name": "thread_name", "args": {"name": "steps"}}]
    for layer in range(layers):
        label = f"layer {layer}" + (f" ({kinds[layer]['mixer']})" if layer < len(kinds) else "")
        events.append({"ph": "M", "pid": pid, "tid": layer + 1, "name": "thread_name", "args": {"name": label}})
        events.append({"ph": "M", "pid": pid, "tid": layer + 1, "name": "thread_sort_index",
                       "args": {"sort_index": layer + 1}})
    return events


def _layer_slices(events: list[dict], pid: int, index: int, start_us: float, layer_ms: list[float],
                  mixer_ms: list[float], ffn_ms: list[float], kv_bytes: list[int],
                  collectives: list[dict] | None) -> float:
    """A step's layers laid end to end from start_us, each with its mixer and feed-forward
    nested and, for a rank, its collectives inside the sublayer that ran them; where the
    layers ended."""
    by_layer: dict[int, list[dict]] = {}
    for record in collectives or ():
        by_layer.setdefault(record["layer"], []).append(record)
    layer_start = start_us
    for layer in range(len(layer_ms)):
        tid = layer + 1
        events.append({"ph": "X", "pid": pid, "tid": tid, "name": f"step {index}", "ts": layer_start,
                       "dur": layer_ms[layer] * 1e3, "args": {"kv_bytes": kv_bytes[layer]}})
        events.append({"ph": "X", "pid": pid, "tid": tid, "name": "mixer", "ts": layer_start,
                       "dur": mixer_ms[layer] * 1e3})
        mixer_end = layer_start + mixer_ms[layer] * 1e3
        events.append({"ph": "X", "pid": pid, "tid": tid, "name": "ffn", "ts": mixer_end, "dur": ffn_ms[layer] * 1e3})
        records = by_layer.get(layer, [])
        # Only a collective's duration is recorded: a sublayer's collectives are laid end to
        # end, in the order they ran, ending where the sublayer ended (each closes its sublayer:
        # the all-reduce after the output projection, the MoE's exchanges after its router).
        for sublayer_end, ours in ((mixer_end, [r for r in records if r["label"] == "mixer"]),
                                   (mixer_end + ffn_ms[layer] * 1e3, [r for r in records if r["label"] != "mixer"])):
            at = sublayer_end - sum(record["ms"] for record in ours) * 1e3
            for record in ours:
                events.append({"ph": "X", "pid": pid, "tid": tid, "name": f"{record['op']} {record['label']}",
                               "ts": at, "dur": record["ms"] * 1e3,
                               "args": {"bytes": record["bytes"], "predicted_bytes": record.get("predicted_bytes")}})
                at += record["ms"] * 1e3
        layer_start += layer_ms[layer] * 1e3
    return layer_start


def _vocabulary_slices(events: list[dict], pid: int, step_start_us: float, head: tuple[int, float, float] | None,
                       collectives: list[dict] | None) -> None:
    """A vocabulary-parallel rank's embedding all-reduce, where the step starts (before the
    first block), and its head's all-gather, ending where the head (tid, start, end) ends."""
    for record in collectives or ():
        if record["label"] == "embedding":
            tid, at = 0, step_start_us
        elif record["label"] == "head" and head is not None:
            tid, at = head[0], head[2] - record["ms"] * 1e3
        else:
            continue
        events.append({"ph": "X", "pid": pid, "tid": tid, "name": f"{record['op']} {record['label']}", "ts": at,
                       "dur": record["ms"] * 1e3,
                       "args": {"bytes": record["bytes"], "predicted_bytes": record.get("predicted_bytes")}})


def _run_process(snapshot: ProfileSnapshot, name: str, rank_steps: list[dict] | None) -> list[dict]:
    """The run's own steps as one process (rank_steps: rank 0's collectives, step by step)."""
    pid = 1
    events: list[dict] = [{"ph": "M", "pid": pid, "name": "process_name", "args": {"name": name}}]
    layers = len(snapshot.steps[0].kv_bytes) if snapshot.steps else 0
    events += _track_names(pid, layers, snapshot.model.get("layers", []))
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
    for position, step in enumerate(snapshot.steps):
        step_us = step.wall_ms * 1e3
        events.append({"ph": "X", "pid": pid, "tid": 0, "name": f"{step.phase} {step.index}", "ts": clock_us,
                       "dur": step_us, "args": {"seq_len": step.seq_len}})
        collectives = rank_steps[position]["collectives"] if rank_steps else None
        layers_end = _layer_slices(events, pid, step.index, clock_us, step.layer_ms, step.mixer_ms, step.ffn_ms,
                                   step.kv_bytes, collectives)
        if step.layer_ms:  # the head starts where the last layer ended, the sampling where the head did
            events.append({"ph": "X", "pid": pid, "tid": head_tid, "name": f"head {step.index}", "ts": layers_end,
                           "dur": step.head_ms * 1e3})
            head_end = layers_end + step.head_ms * 1e3
            _vocabulary_slices(events, pid, clock_us, (head_tid, layers_end, head_end), collectives)
            events.append({"ph": "X", "pid": pid, "tid": sample_tid, "name": f"sample {step.index}",
                           "ts": layers_end + step.head_ms * 1e3, "dur": step.sample_ms * 1e3})
        events.append({"ph": "C", "pid": pid, "name": "KV cache bytes", "ts": clock_us,
                       "args": {"measured": sum(step.kv_bytes), "predicted": sum(step.kv_bytes_predicted)}})
        events.append({"ph": "C", "pid": pid, "name": "memory bytes", "ts": clock_us,
                       "args": {key: value for key, value in step.memory.items()}})
        clock_us += step_us
    return events


def _rank_process(snapshot: ProfileSnapshot, pid: int, name: str, steps: list[dict]) -> list[dict]:
    """Another rank's steps (a "ranks.per_rank" entry) as a process: the same layer tracks,
    its collectives, its cache and memory as counters. Its steps start with rank 0's (the
    ranks step together: every collective waits for all of them)."""
    events: list[dict] = [{"ph": "M", "pid": pid, "name": "process_name", "args": {"name": name}},
                          {"ph": "M", "pid": pid, "name": "process_sort_index", "args": {"sort_index": pid}}]
    layers = len(steps[0]["kv_bytes"]) if steps else 0
    events += _track_names(pid, layers, snapshot.model.get("layers", []))
    clock_us = 0.0
    for index, step in enumerate(steps):
        events.append({"ph": "X", "pid": pid, "tid": 0, "name": f"{step['phase']} {index}", "ts": clock_us,
                       "dur": step["wall_ms"] * 1e3})
        if step["layer_ms"]:
            layers_end = _layer_slices(events, pid, index, clock_us, step["layer_ms"],
                                       step.get("mixer_ms") or step["layer_ms"], step.get("ffn_ms") or [0.0] * layers,
                                       step["kv_bytes"], step["collectives"])
            head_end = layers_end + step.get("head_ms", 0.0) * 1e3
            _vocabulary_slices(events, pid, clock_us, (0, layers_end, head_end), step["collectives"])
        events.append({"ph": "C", "pid": pid, "name": "KV cache bytes", "ts": clock_us,
                       "args": {"measured": sum(step["kv_bytes"])}})
        if step.get("memory"):
            events.append({"ph": "C", "pid": pid, "name": "memory bytes", "ts": clock_us, "args": dict(step["memory"])})
        # the run's clock: rank 0's steps (a rank's own wall time differs by its wait)
        clock_us += (snapshot.steps[index].wall_ms if index < len(snapshot.steps) else step["wall_ms"]) * 1e3
    return events


def export(snapshot: ProfileSnapshot, json_path=None, csv_path=None, trace_path=None) -> list[Path]:
    files = {Path(path): render(snapshot)
             for path, render in ((json_path, to_json), (csv_path, to_csv), (trace_path, to_chrome_trace)) if path}
    return write_set_atomic(files) if files else []
