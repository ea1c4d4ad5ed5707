"""A parallel run as one profile snapshot: rank 0's steps as the run's own (so every reader
of archscope.profile/1 -- the dashboard, the CSV, the trace -- shows it as any run), each
cache beside the plan's share of the analysis, and a "ranks" section with every rank's
steps: per-layer times, each collective with its payload beside the plan's prediction,
cache bytes and memory.

Torch-free: it reads the records `run_rank` returned (plain lists and numbers).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from ..dtypes import BYTES_PER_VALUE
from ..runtime.snapshot import ProfileSnapshot, StepRecord, model_section
from .plan import ParallelPlan, plan_for

if TYPE_CHECKING:  # run.py imports torch; this module reads only the job's fields
    from .run import ParallelJob


def predicted_collectives(plan: ParallelPlan, records: list[dict], rank: int, batch: int, tokens: int,
                          element: int) -> list[dict]:
    """A step's collectives as the snapshot holds them: {"layer", "label", "op", "bytes", "ms",
    "predicted_bytes"}, the prediction the plan's for this rank (None where the routing
    decides it: an all-to-all's return)."""
    payloads = plan.payloads(batch, tokens, element)
    lined_up = [(p.layer, p.label, p.op) for p in payloads] == [(r["layer"], r["label"], r["op"]) for r in records]
    rows = []
    for position, record in enumerate(records):
        payload = payloads[position] if lined_up else None
        predicted = payload.rank_bytes[rank] if payload is not None and payload.rank_bytes is not None else None
        rows.append({"layer": record["layer"], "label": record["label"], "op": record["op"],
                     "bytes": record["payload_bytes"], "ms": round(record["ms"], 4), "predicted_bytes": predicted})
    return rows


def _rounded(values: list[float]) -> list[float]:
    return [round(value, 4) for value in values]


def _global_routing(plan: ParallelPlan, ranks: list[dict], index: int) -> dict[str, list[int]]:
    """The layer's tokens per expert over the whole batch: with experts placed over ranks each
    rank routed its block of the tokens (the sum is the whole); otherwise every rank routed
    every token (rank 0's counts are the whole)."""
    if plan.ep == 1:
        return {str(layer): counts for layer, counts in ranks[0]["steps"][index]["routing"].items()}
    summed: dict[str, list[int]] = {}
    for ranked in ranks:
        for layer, counts in ranked["steps"][index]["routing"].items():
            held = summed.setdefault(str(layer), [0] * len(counts))
            summed[str(layer)] = [a + b for a, b in zip(held, counts)]
    return summed


def parallel_snapshot(job: ParallelJob, ranks: list[dict], hardware: dict, prompt: str, scale: str,
                      backend: str, completion: str = "") -> ProfileSnapshot:
    """The snapshot of `job`, whose ranks returned `ranks` (run_rank's records, in rank
    order). prompt: the text its prompt tokens stand for; scale: the catalog scale of the
    spec ("real weights" for a checkpoint); backend: the process group's ("gloo", "nccl");
    completion: the new tokens as text, where a tokenizer could say it."""
    plan = plan_for(job.spec, job.tp, job.ep)
    element = BYTES_PER_VALUE[job.dtype]
    batch = len(job.prompt)
    steps = []
    for index, step in enumerate(ranks[0]["steps"]):
        steps.append(StepRecord(
            index=index, phase=step["phase"], seq_len=step["seq_len"], wall_ms=round(step["wall_ms"], 4),
            layer_ms=_rounded(step["layer_ms"]), mixer_ms=_rounded(step["mixer_ms"]),
            ffn_ms=_rounded(step["ffn_ms"]), kv_bytes=list(step["kv_bytes"]),
            kv_bytes_predicted=plan.kv_bytes_at(step["seq_len"], element, batch), memory=dict(step["memory"]),
            routing=_global_routing(plan, ranks, index), tokens=list(step["next_tokens"]),
            head_ms=round(step["head_ms"], 4), sample_ms=round(step["sample_ms"], 4)))
    per_rank = []
    for ranked in ranks:
        rank = ranked["rank"]
        rank_steps = []
        for index, step in enumerate(ranked["steps"]):
            rank_steps.append({
                "index": index, "phase": step["phase"], "seq_len": step["seq_len"],
                "wall_ms": round(step["wall_ms"], 4), "layer_ms": _rounded(step["layer_ms"]),
                "mixer_ms": _rounded(step["mixer_ms"]), "ffn_ms": _rounded(step["ffn_ms"]),
                "head_ms": round(step["head_ms"], 4),
                "collectives": predicted_collectives(plan, step["collectives"], rank, batch, step["tokens"], element),
                "kv_bytes": list(step["kv_bytes"]), "memory": dict(step["memory"]),
                "routing": {str(layer): counts for layer, counts in step["routing"].items()}})
        per_rank.append({"rank": rank, "steps": rank_steps})
    # A parallel run does not stop at the end of text: every step runs.
    run = {"prompt_tokens": len(job.prompt[0]), "new_tokens": len(steps), "batch": batch,
           "max_new_tokens": job.decode_steps + 1, "sampling": asdict(job.sampling), "mode": "eager",
           "probe": True, "stop_at_eos": False, "scale": scale, "threads": job.threads, "prompt": prompt,
           "completion": completion, "roofs": None}
    source = job.checkpoint or f"random weights, seed {job.seed}"
    model = model_section(plan.spec, plan.spec.name, source, job.dtype, job.device)
    threads = f"{job.threads} torch thread{'s' if job.threads != 1 else ''}"
    notes = [f"{plan.world_size} ranks on {backend} (tp {plan.tp}, ep {plan.ep}), {threads} each: the steps are "
             f"rank 0's, every rank's are under \"ranks\"; KV predicted is one rank's share of the analysis'"]
    snapshot = ProfileSnapshot(model, hardware, run, steps, notes=notes)
    snapshot.extra["ranks"] = {"tp": plan.tp, "ep": plan.ep, "world_size": plan.world_size, "backend": backend,
                               "threads_per_rank": job.threads, "plan": plan.describe(), "per_rank": per_rank}
    return snapshot

