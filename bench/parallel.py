"""Parallel runs layer by layer: per rank, each layer's compute time beside the time of its
collectives, and the bytes each collective carried beside the plan's prediction, from one
run of every entry on gloo ranks on this machine's CPU.

For each entry, one start of the ranks prefills a prompt and decodes greedily; the prefill
and the mean decode step are printed per layer and rank: compute ms (the block's time less
its collectives'), communication ms, and the bytes measured / predicted
(app/parallel/plan.py; an all-to-all's return depends on the routing, so its prediction is
the ranks' total). On one machine gloo moves bytes through memory: communication time
here is the cost of the collectives' software path, not of a network.

    .venv/bin/python bench/parallel.py [--runs qwen3-0.6b:2:1,deepseek-v3:2:2,qwen3-next-80b-a3b:2:2]
                                       [--prompt-tokens 32] [--new-tokens 16] [--batch 1]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import torch

from app.parallel.launch import run_local
from app.parallel.plan import plan_for
from app.parallel.run import ParallelJob
from app.spec import catalog

DEFAULT_RUNS = "qwen3-0.6b:2:1,deepseek-v3:2:2,qwen3-next-80b-a3b:2:2"
ELEMENT = 4  # float32


def per_layer(step: dict, num_layers: int) -> tuple[list[float], list[float], list[int]]:
    """(compute ms, communication ms, bytes sent) per layer of one step of one rank."""
    comm_ms, sent = [0.0] * num_layers, [0] * num_layers
    for record in step["collectives"]:
        if not 0 <= record["layer"] < num_layers:  # the vocabulary-parallel embedding's and head's
            continue
        comm_ms[record["layer"]] += record["ms"]
        sent[record["layer"]] += record["payload_bytes"]
    compute = [total - comm for total, comm in zip(step["layer_ms"], comm_ms)]
    return compute, comm_ms, sent


def predicted_bytes(plan, batch: int, tokens: int, rank: int) -> tuple[list[int], list[bool]]:
    """Bytes per layer a rank should send, and whether the figure is a share of the ranks'
    total (routing-dependent) rather than exact."""
    sent, estimated = [0] * plan.spec.num_layers, [False] * plan.spec.num_layers
    for payload in plan.payloads(batch, tokens, ELEMENT):
        if not 0 <= payload.layer < plan.spec.num_layers:
            continue
        if payload.rank_bytes is None:
            sent[payload.layer] += payload.total_bytes // plan.world_size
            estimated[payload.layer] = True
        else:
            sent[payload.layer] += payload.rank_bytes[rank]
    return sent, estimated


def vocabulary_line(plan, ranks: list[dict], phase: str, batch: int, tokens: int) -> str:
    """The vocabulary-parallel embedding's all-reduce and head's all-gather, per rank: mean
    ms, and bytes sent / predicted; empty where the vocabulary is replicated."""
    predicted = {p.label: p.rank_bytes for p in plan.payloads(batch, tokens, ELEMENT) if p.label in ("embedding", "head")}
    if not predicted:
        return ""
    cells = []
    for ranked in ranks:
        steps = [step for step in ranked["steps"] if step["phase"] == phase]
        for label in ("embedding", "head"):
            records = [r for step in steps for r in step["collectives"] if r["label"] == label]
            ms = sum(r["ms"] for r in records) / len(steps)
            sent = round(sum(r["payload_bytes"] for r in records) / len(steps))
            cells.append(f"r{ranked['rank']} {label} {ms:.2f} ms {sent} / {predicted[label][ranked['rank']]} B")
    return "  vocabulary: " + ", ".join(cells)


def report(plan, ranks: list[dict], batch: int, prompt_tokens: int) -> None:
    layers = plan.spec.num_layers
    print()
    print("\n".join(plan.describe()))
    for phase, tokens in (("prefill", prompt_tokens), ("decode", 1)):
        print(f"\n  {phase} ({batch} x {tokens} tokens{', mean of the steps' if phase == 'decode' else ''})")
        print("  layer | " + " | ".join(f"rank {r['rank']}: compute ms  comm ms  bytes sent / predicted"
                                         for r in ranks))
        columns = []
        for ranked in ranks:
            steps = [step for step in ranked["steps"] if step["phase"] == phase]
            sums = defaultdict(lambda: [0.0] * layers)
            for step in steps:
                for key, values in zip(("compute", "comm", "sent"), per_layer(step, layers)):
                    sums[key] = [a + b for a, b in zip(sums[key], values)]
            predicted, estimated = predicted_bytes(plan, batch, tokens, ranked["rank"])
            columns.append([(sums["compute"][i] / len(steps), sums["comm"][i] / len(steps),
                             round(sums["sent"][i] / len(steps)), predicted[i], estimated[i]) for i in range(layers)])
        for layer in range(layers):
            cells = []
            for column in columns:
                compute, comm, sent, predicted, estimated = column[layer]
                mark = "~" if estimated else " "
                cells.append(f"{compute:14.2f}  {comm:7.2f}  {sent:10d} / {mark}{predicted:<10d}")
            print(f"  {layer:5d} | " + " | ".join(cells))
        vocabulary = vocabulary_line(plan, ranks, phase, batch, tokens)
        if vocabulary:
            print(vocabulary)
        totals = [sum(c[1] for c in column) / max(1e-9, sum(c[0] + c[1] for c in column)) for column in columns]
        print("  communication share of the layers' time: " + ", ".join(f"rank {r}: {share:.0%}"
                                                                       for r, share in enumerate(totals)))
    print("  (~: the rank's share of a total that the routing divides)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=DEFAULT_RUNS, help="entry:tp:ep,... (explore scale)")
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    jobs, plans = [], []
    generator = torch.Generator().manual_seed(0)
    for run in args.runs.split(","):
        name, tp, ep = run.split(":")
        spec = catalog.get(name, "explore")
        plans.append(plan_for(spec, int(tp), int(ep)))
        prompt = torch.randint(0, spec.vocab_size, (args.batch, args.prompt_tokens), generator=generator)
        jobs.append(ParallelJob(spec, int(tp), int(ep), tuple(map(tuple, prompt.tolist())), args.new_tokens))
    for world in sorted({plan.world_size for plan in plans}):  # one start of the ranks per size
        chosen = [index for index, plan in enumerate(plans) if plan.world_size == world]
        for index, ranks in zip(chosen, run_local([jobs[index] for index in chosen])):
            report(plans[index], ranks, args.batch, args.prompt_tokens)


if __name__ == "__main__":
    main()
