"""A rank's step split per layer into compute and communication, read from a parallel
snapshot's "ranks" section. Torch-free: the CLI's table and the window's Ranks view both read
it (app.ui never imports torch, and app/parallel/snapshot.py names the torch-side job)."""

from __future__ import annotations


def timed_steps(steps: list[dict]) -> tuple[str, list[dict]]:
    """The steps a rank's figures are the mean of, with their phase: the decode steps, or
    the prefill where none ran (a one-token run)."""
    decode = [step for step in steps if step["phase"] == "decode"]
    return ("decode", decode) if decode else ("prefill", [step for step in steps if step["phase"] == "prefill"])


def layer_communication(rank_step: dict, num_layers: int) -> dict[str, list]:
    """One rank's step ("ranks.per_rank[r].steps[i]") per layer: "compute_ms" (the block's
    time less its collectives'), "comm_ms", "bytes" it sent and "predicted_bytes" (None for a
    layer where some payload depends on the routing). The vocabulary-parallel embedding's and
    head's collectives belong to no block and are left out."""
    comm_ms, sent = [0.0] * num_layers, [0] * num_layers
    predicted: list[int | None] = [0] * num_layers
    for record in rank_step["collectives"]:
        layer = record["layer"]
        if not 0 <= layer < num_layers:  # the embedding's and the head's: outside the blocks
            continue
        comm_ms[layer] += record["ms"]
        sent[layer] += record["bytes"]
        if record["predicted_bytes"] is None or predicted[layer] is None:
            predicted[layer] = None
        else:
            predicted[layer] += record["predicted_bytes"]
    compute = [max(0.0, total - comm) for total, comm in zip(rank_step["layer_ms"], comm_ms)]
    return {"compute_ms": compute, "comm_ms": comm_ms, "bytes": sent, "predicted_bytes": predicted}


VOCABULARY_LABELS = ("embedding", "head")  # plan.Payload's labels of the vocabulary-parallel collectives


def vocabulary_communication(rank_step: dict) -> dict[str, dict]:
    """One rank's step: its vocabulary-parallel embedding's and head's collectives, by label,
    each {"ms", "bytes", "predicted_bytes"}; empty where the vocabulary is replicated."""
    return {record["label"]: {key: record.get(key) for key in ("ms", "bytes", "predicted_bytes")}
            for record in rank_step["collectives"] if record["label"] in VOCABULARY_LABELS}
