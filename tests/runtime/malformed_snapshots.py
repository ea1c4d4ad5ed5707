"""Snapshot documents broken in the ways a hand-edited, truncated or foreign file is, each
with the words the app must answer it with (a field path and what was expected there)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from tests.runtime.snapshot_documents import snapshot_document


def _without(key):
    def change(document):
        del document["steps"][1][key]
    return change


def _set(path, value):
    def change(document):
        *parents, last = path
        target = document
        for key in parents:
            target = target[key]
        target[last] = value
    return change


def _many_steps(document):
    document["steps"] = [document["steps"][1]] * 20_001  # one step object, written 20,001 times


def _many_layers(document):
    step = document["steps"][1]
    step["kv_bytes"] = step["kv_bytes_predicted"] = [0] * 100_000
    document["steps"] = [step] * 21  # 2.1 million per-layer values


# name -> (how the document is broken, what the message must say)
BROKEN = {
    "missing wall_ms": (_without("wall_ms"), "steps[1].wall_ms: missing (expected a number)"),
    "null layer_ms": (_set(("steps", 2, "layer_ms"), None), "steps[2].layer_ms: expected a list, found null"),
    "short layer_ms": (_set(("steps", 1, "layer_ms"), [0.5]),
                       "steps[1].layer_ms: expected 4 entries (one per layer) or none, found 1"),
    "short kv_bytes": (_set(("steps", 3, "kv_bytes"), [1, 2]), "steps[3].kv_bytes: expected 4 entries (one per layer), found 2"),
    "missing mixer_ms": (_without("mixer_ms"), "steps[1].mixer_ms: missing (expected 4 entries, or none)"),
    "text for a number": (_set(("steps", 0, "seq_len"), "4"), "steps[0].seq_len: expected an integer, found '4'"),
    "negative bytes": (_set(("steps", 1, "kv_bytes", 2), -5), "steps[1].kv_bytes[2]: expected a number >= 0, found -5"),
    "negative time": (_set(("steps", 2, "wall_ms"), -1.5), "steps[2].wall_ms: expected a number >= 0, found -1.5"),
    "NaN time": (_set(("steps", 2, "layer_ms", 0), float("nan")), "steps[2].layer_ms[0]: expected a number, found nan"),
    "unknown phase": (_set(("steps", 1, "phase"), "warmup"),
                      "steps[1].phase: expected one of 'prefill', 'decode', found 'warmup'"),
    "routing of a layer it has not": (_set(("steps", 1, "routing"), {"9": [1, 2]}),
                                      "steps[1].routing.9: expected a layer index below 4"),
    "no steps": (_set(("steps",), []), "steps: expected at least one step, found none"),
    "a list for the model": (_set(("model",), []), "model: expected an object, found a list of 0"),
    "model layers disagree": (_set(("model", "layers"), [{"mixer": "GQA", "ffn": "SwiGLU"}]),
                              "model.layers: expected one entry per layer (4, as steps[0].kv_bytes), found 1"),
    "a spec that cannot be drawn": (_set(("model", "spec", "layers", 0, "mixer", "num_kv_heads"), 3),
                                    "model.spec.layers[0].mixer.num_kv_heads"),
    "a sweep without its times": (_set(("sweep",), [{"context_len": 128, "kv_bytes": 1, "kv_bytes_predicted": 1}]),
                                  "sweep[0].decode_ms: missing (expected a number)"),
    "huge step count": (_many_steps, "steps: 20,001 steps; a snapshot is read up to 20,000"),
    "huge layer count": (_many_layers, ("steps: 21 steps x 100,000 layers is 2,100,000 per-layer values; "
                                        "a snapshot is read up to 2,000,000")),
}


def write_broken(folder: Path, name: str) -> Path:
    change, _message = BROKEN[name]
    document = copy.deepcopy(snapshot_document(f"broken {name}"))
    change(document)
    path = folder / (name.replace(" ", "-") + ".json")
    path.write_text(json.dumps(document))
    return path
