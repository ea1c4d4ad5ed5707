"""Reading a saved profile snapshot from a file the user chose, which may be anything:
the whole document is checked (its size, the schema, and the agreements between fields
that a schema cannot state) before any of it is returned, so a view that shows it, or an
export that writes it again, never meets a field it cannot use."""

from __future__ import annotations

import json
from pathlib import Path

from ..resources import RESOURCES
from ..spec import SpecError
from ..spec.serialize import spec_from_dict
from . import json_schema
from .snapshot import PROFILE_SCHEMA

# Bounds that keep opening a snapshot (on the UI thread) to a few seconds and its export to
# a few hundred MB of memory; checking takes about 0.15 ms a step on a laptop core. The
# app's own runs fit: at most 8192 new tokens (the run panel's limit) is 8193 steps, and
# 8192 tokens of a 126-layer model are about 1,000,000 per-layer values and 150 MB of JSON.
MAX_SNAPSHOT_BYTES = 200 * 2**20
MAX_STEPS = 20_000
MAX_STEP_LAYER_VALUES = 2_000_000  # steps x layers
MAX_PROBLEMS_SHOWN = 8

# Per-layer lists of a step: each has one entry per layer, or (where the probe was off or
# no roofs were known) none.
_PER_LAYER_OR_EMPTY = ("layer_ms", "mixer_ms", "ffn_ms", "predicted_ms")
_PER_LAYER = ("kv_bytes", "kv_bytes_predicted")
_SWEEP_POINT_NUMBERS = {"context_len": "integer", "decode_ms": "number", "kv_bytes": "integer",
                        "kv_bytes_predicted": "integer"}


class SnapshotError(ValueError):
    """A snapshot file that cannot be shown: the message names the file and every problem."""


def _schema() -> dict:
    return json.loads((RESOURCES / "profile.schema.json").read_text(encoding="utf-8"))


def read_snapshot(path: str | Path) -> dict:
    """The snapshot document in `path`, checked whole; SnapshotError naming the file, the
    field paths and what was expected there when it is not one the app can show."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SNAPSHOT_BYTES:
            raise SnapshotError(f"{path}: the file is {size / 2**20:.1f} MB; a snapshot is read up to "
                                f"{MAX_SNAPSHOT_BYTES / 2**20:.0f} MB")
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        if isinstance(error, SnapshotError):
            raise
        raise SnapshotError(f"{path}: {error}") from None
    if not isinstance(document, dict) or document.get("schema") != PROFILE_SCHEMA:
        found = document.get("schema") if isinstance(document, dict) else type(document).__name__
        raise SnapshotError(f"{path}: not an ArchScope profile snapshot (schema {found!r}, "
                            f"expected {PROFILE_SCHEMA!r})")
    problems = snapshot_problems(document)
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        raise SnapshotError(f"{path}: not a snapshot the app can show:\n" + "\n".join(shown)
                            + (f"\n(and {more} more)" if more > 0 else ""))
    return document


def snapshot_problems(document: dict) -> list[str]:
    """Every reason the window could not show or export `document`, as "field: expected"."""
    # the bounds first: the checks below take time per step and per value
    steps = document.get("steps")
    if isinstance(steps, list) and len(steps) > MAX_STEPS:
        return [f"steps: {len(steps):,} steps; a snapshot is read up to {MAX_STEPS:,}"]
    if isinstance(steps, list) and steps and isinstance(steps[0], dict) and isinstance(steps[0].get("kv_bytes"), list):
        ranks = document.get("ranks")
        per_rank = ranks.get("per_rank") if isinstance(ranks, dict) else None
        copies = 1 + (len(per_rank) if isinstance(per_rank, list) else 0)  # each rank's steps again
        values = len(steps) * len(steps[0]["kv_bytes"]) * copies
        if values > MAX_STEP_LAYER_VALUES:
            layers = len(steps[0]["kv_bytes"])
            ranked = f" x {copies - 1:,} ranks and the run's own" if copies > 1 else ""
            return [(f"steps: {len(steps):,} steps x {layers:,} layers{ranked} is {values:,} per-layer values; "
                     f"a snapshot is read up to {MAX_STEP_LAYER_VALUES:,}")]
    problems = json_schema.problems(document, _schema())
    if problems:
        return problems
    return _agreement_problems(document)


def _agreement_problems(document: dict) -> list[str]:
    """What the schema cannot say: every step has one entry per layer in each per-layer list
    (or none, where that is allowed), the layers agree with the model's, the spec is one the
    app can draw, a sweep has the fields its plot reads, and a parallel run's ranks are one
    entry per rank, each with the run's steps of one entry per layer."""
    problems: list[str] = []
    steps = document["steps"]
    if not steps:
        return ["steps: expected at least one step, found none"]
    layers = len(steps[0]["kv_bytes"])
    kinds = document["model"].get("layers")
    if kinds is not None and len(kinds) != layers:
        problems.append(f"model.layers: expected one entry per layer ({layers}, as steps[0].kv_bytes), "
                        f"found {len(kinds)}")
    for index, step in enumerate(steps):
        for key in _PER_LAYER:
            if key not in step:
                problems.append(f"steps[{index}].{key}: missing (expected {layers} entries, one per layer)")
            elif len(step[key]) != layers:
                problems.append(f"steps[{index}].{key}: expected {layers} entries (one per layer), "
                                f"found {len(step[key])}")
        for key in _PER_LAYER_OR_EMPTY:
            if key != "predicted_ms" and key not in step:  # predicted_ms is newer: older files lack it
                problems.append(f"steps[{index}].{key}: missing (expected {layers} entries, or none)")
            elif len(step.get(key, [])) not in (0, layers):
                problems.append(f"steps[{index}].{key}: expected {layers} entries (one per layer) or none, "
                                f"found {len(step[key])}")
        timed = [key for key in ("layer_ms", "mixer_ms", "ffn_ms") if step.get(key)]
        if timed and len(timed) != 3:
            problems.append(f"steps[{index}]: layer_ms, mixer_ms and ffn_ms are all timed or all empty; "
                            f"found only {', '.join(timed)}")
        for layer in step["routing"]:
            if int(layer) >= layers:
                problems.append(f"steps[{index}].routing.{layer}: expected a layer index below {layers}")
        if len(problems) >= json_schema.DEFAULT_LIMIT:
            return problems
    problems += _spec_problems(document["model"]["spec"])
    if "sweep" in document:
        problems += _sweep_problems(document["sweep"])
    if "ranks" in document:
        problems += _ranks_problems(document["ranks"], len(steps), layers)
    return problems


def _ranks_problems(section: dict, num_steps: int, layers: int) -> list[str]:
    """A parallel run's ranks: one entry per rank, in rank order, each with the run's steps,
    and each step's per-layer lists and collectives within the model's layers."""
    problems: list[str] = []
    per_rank = section["per_rank"]
    world = max(section["tp"], section["ep"])
    if section["world_size"] != world:
        problems.append(f"ranks.world_size: expected {world} (the larger of tp {section['tp']} and ep "
                        f"{section['ep']}), found {section['world_size']}")
    if len(per_rank) != section["world_size"]:
        problems.append(f"ranks.per_rank: expected {section['world_size']} entries (one per rank), found "
                        f"{len(per_rank)}")
    for position, ranked in enumerate(per_rank):
        path = f"ranks.per_rank[{position}]"
        if ranked["rank"] != position:
            problems.append(f"{path}.rank: expected {position} (ranks in order), found {ranked['rank']}")
        if len(ranked["steps"]) != num_steps:
            problems.append(f"{path}.steps: expected {num_steps} steps (as the run's), found {len(ranked['steps'])}")
        for index, step in enumerate(ranked["steps"]):
            where = f"{path}.steps[{index}]"
            if len(step["kv_bytes"]) != layers:
                problems.append(f"{where}.kv_bytes: expected {layers} entries (one per layer), "
                                f"found {len(step['kv_bytes'])}")
            for key in ("layer_ms", "mixer_ms", "ffn_ms"):
                if len(step.get(key, [])) not in (0, layers):
                    problems.append(f"{where}.{key}: expected {layers} entries (one per layer) or none, "
                                    f"found {len(step[key])}")
            for number, record in enumerate(step["collectives"]):
                if record["layer"] > layers:  # (layers itself: the head's, as the probe numbers it)
                    problems.append(f"{where}.collectives[{number}].layer: expected a layer index up to {layers} "
                                    f"(the head), found {record['layer']}")
            for layer in step.get("routing", {}):
                if int(layer) >= layers:
                    problems.append(f"{where}.routing.{layer}: expected a layer index below {layers}")
            if len(problems) >= json_schema.DEFAULT_LIMIT:
                return problems
    return problems


def _spec_problems(spec: dict) -> list[str]:
    try:
        spec_from_dict(spec)
    except SpecError as error:
        return [f"model.spec.{problem.path}: {problem.message}" if problem.path else f"model.spec: {problem.message}"
                for problem in error.problems]
    return []


def _sweep_problems(section) -> list[str]:
    points, path = (section.get("points"), "sweep.points") if isinstance(section, dict) else (section, "sweep")
    if not isinstance(points, list):
        return [f"{path}: expected a list of points, found {type(points).__name__}"]
    schema = {"type": "object", "required": list(_SWEEP_POINT_NUMBERS),
              "properties": {key: {"type": kind, "minimum": 0} for key, kind in _SWEEP_POINT_NUMBERS.items()}
              | {"layer_ms": {"type": ["array", "null"], "items": {"type": "number", "minimum": 0}}}}
    return json_schema.problems(points, {"type": "array", "items": schema}, path)
