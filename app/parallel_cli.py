"""`archscope profile --tp N --ep M`: a tensor- and expert-parallel run of a catalog entry
with random weights (--arch) or of a local checkpoint's real weights (--model DIR), its ranks
started by torchrun's launcher on this machine (gloo on the
CPU, NCCL on GPUs), written as one snapshot, and per layer and rank the compute time beside
the communication's, and the bytes sent beside the plan's prediction."""

from __future__ import annotations

import sys
from collections import defaultdict

from .dtypes import BYTES_PER_VALUE
from .parallel.plan import ParallelPlan, plan_for
from .parallel.communication import layer_communication, timed_steps, vocabulary_communication
from .spec.spec_file import load_spec
from .terminal import printable, table
from .units import human_bytes


def wants_parallel(args) -> bool:
    return args.tp > 1 or args.ep > 1


def _refused_options(args) -> list[str]:
    """The options a parallel run does not take (yet), as the user spelled them."""
    refused = [option for option, given in (
        ("--scale slice", args.scale == "slice"),
        ("--image", args.image is not None), ("--mode fast", args.mode == "fast"), ("--sweep", bool(args.sweep)),
        ("--batch-sweep", bool(args.batch_sweep)),
        ("--no-probe (a parallel run always times its layers and collectives)", args.no_probe),
        ("--max-new-tokens below 1", args.max_new_tokens < 1)) if given]
    return refused


def cmd_parallel_profile(args) -> int:
    from .parallel.launch import RankFailed
    from .parallel.profile import checkpoint_spec, profile_parallel
    from .profile_cli import default_out, run_lines, say
    from .runtime.export import export
    from .runtime.generate import Sampling

    refused = _refused_options(args)
    if refused:
        raise ValueError(f"--tp/--ep: not with {', '.join(refused)}")
    if args.model:  # real weights: each rank reads its share of the directory's safetensors
        spec, scale, checkpoint = checkpoint_spec(args.model), "real weights", args.model
    else:
        spec, scale, checkpoint = load_spec(args.arch, args.scale), args.scale, None
    try:
        snapshot = profile_parallel(
            spec, args.tp, args.ep, prompt_text=args.prompt, scale=scale, batch=args.batch,
            max_new_tokens=args.max_new_tokens, seed=args.seed, dtype=args.dtype, device_request=args.device,
            threads=args.threads, sampling=Sampling(args.temperature, args.top_k, args.top_p, args.seed),
            on_start=say, checkpoint=checkpoint)
    except RankFailed as error:
        print("\n".join(f"archscope: {printable(line)}" for line in str(error).splitlines()), file=sys.stderr)
        return 1
    out = args.out or default_out(f"{spec.name}-tp{args.tp}-ep{args.ep}")
    written = export(snapshot, out, args.csv, args.trace)
    plan = plan_for(spec, args.tp, args.ep)
    say(rank_table(snapshot, plan))
    say()
    say("\n".join(run_lines(snapshot)))
    for line in parallel_lines(snapshot, plan):
        say(line)
    for path in written:
        say(f"wrote {path}")
    return 0


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _mean_layers(steps: list[dict], num_layers: int) -> dict[str, list[float]]:
    """layer_communication's figures averaged over the steps."""
    figures = [layer_communication(step, num_layers) for step in steps]
    return {key: [_mean(f[key][layer] for f in figures) for layer in range(num_layers)]
            for key in ("compute_ms", "comm_ms", "bytes")}


def predicted_totals(plan: ParallelPlan, batch: int, tokens: int, element: int) -> list[int]:
    """Per layer, the bytes all ranks together put into collectives in one step (exact even
    where the routing decides each rank's share)."""
    totals = defaultdict(int)
    for payload in plan.payloads(batch, tokens, element):
        totals[payload.layer] += payload.total_bytes
    return [totals[layer] for layer in range(plan.spec.num_layers)]


def rank_table(snapshot, plan: ParallelPlan) -> str:
    """Per layer, for the mean decode step (the prefill where none ran): each rank's compute
    and communication ms, the communication's share of the layers' time, the bytes the ranks
    sent together beside the plan's prediction, and one rank's cache beside its share."""
    ranks = snapshot.extra["ranks"]["per_rank"]
    num_layers = plan.spec.num_layers
    phase, _ = timed_steps(ranks[0]["steps"])
    means = [_mean_layers(timed_steps(ranked["steps"])[1], num_layers) for ranked in ranks]
    tokens = 1 if phase == "decode" else snapshot.run["prompt_tokens"]
    predicted = predicted_totals(plan, snapshot.run["batch"], tokens, BYTES_PER_VALUE[snapshot.model["dtype"]])
    last = snapshot.steps[-1]
    rows = []
    for layer, kinds in enumerate(snapshot.model["layers"]):
        comm = sum(mean["comm_ms"][layer] for mean in means)
        total = comm + sum(mean["compute_ms"][layer] for mean in means)
        row = [str(layer), kinds["mixer"], kinds["ffn"]]
        for mean in means:
            row += [f"{mean['compute_ms'][layer]:.3f}", f"{mean['comm_ms'][layer]:.3f}"]
        row += [f"{100 * comm / total:.0f}%" if total else "-",
                human_bytes(round(sum(mean["bytes"][layer] for mean in means))), human_bytes(predicted[layer]),
                human_bytes(last.kv_bytes[layer]), human_bytes(last.kv_bytes_predicted[layer])]
        rows.append(row)
    headers = ["layer", "mixer", "feed-forward"]
    for ranked in ranks:
        headers += [f"r{ranked['rank']} compute ms", f"r{ranked['rank']} comm ms"]
    headers += ["comm share", "sent", "predicted", "KV/rank", "KV predicted"]
    title = f"mean {phase} step, per rank ({len(ranks)} ranks); sent: all ranks' collective payloads"
    return title + "\n" + table(headers, rows, right={0, *range(3, len(headers))})


def parallel_lines(snapshot, plan: ParallelPlan) -> list[str]:
    """The plan in a line, the communication's share per rank, and whether every payload
    and every rank's cache came out as predicted."""
    section = snapshot.extra["ranks"]
    per_rank = section["per_rank"]
    num_layers = plan.spec.num_layers
    shares, vocabulary = [], []
    for ranked in per_rank:
        phase, steps = timed_steps(ranked["steps"])
        comm = sum(sum(layer_communication(step, num_layers)["comm_ms"]) for step in steps)
        layers = sum(sum(step["layer_ms"]) for step in steps)
        shares.append(f"rank {ranked['rank']} {100 * comm / layers:.0f}%" if layers else f"rank {ranked['rank']} -")
        outside = [vocabulary_communication(step) for step in steps]
        if outside and outside[0]:
            vocabulary.append(f"rank {ranked['rank']} " + " + ".join(
                f"{label} {_mean(found[label]['ms'] for found in outside):.3f} ms" for label in outside[0]))
    # each rank's payload against the plan's figure for it; an all-to-all's return, which
    # the routing splits, by the ranks' total
    exact = exact_as_predicted = routed = routed_as_predicted = 0
    element = BYTES_PER_VALUE[snapshot.model["dtype"]]
    for index, step in enumerate(snapshot.steps):
        tokens = snapshot.run["prompt_tokens"] if step.phase == "prefill" else 1
        records = [ranked["steps"][index]["collectives"] for ranked in per_rank]
        for position, payload in enumerate(plan.payloads(snapshot.run["batch"], tokens, element)):
            sent = [rank_records[position]["bytes"] if position < len(rank_records) else -1 for rank_records in records]
            if payload.rank_bytes is None:
                routed += 1
                routed_as_predicted += sum(sent) == payload.total_bytes
            else:
                exact += len(sent)
                exact_as_predicted += sum(a == b for a, b in zip(sent, payload.rank_bytes))
    payloads = f"payloads: {exact_as_predicted} of {exact} as the plan predicts"
    if routed:
        payloads += (f"; {routed_as_predicted} of {routed} all-to-all returns (split by the routing) "
                     f"as predicted in total over the ranks")
    kv_ok = all(step["kv_bytes"] == snapshot.steps[index].kv_bytes_predicted
                for ranked in per_rank for index, step in enumerate(ranked["steps"]))
    phase = timed_steps(per_rank[0]["steps"])[0]
    lines = [section["plan"][0],
             f"communication: {', '.join(shares)} of the layers' {phase} time ({section['backend']})"]
    if vocabulary:
        lines.append(f"vocabulary-parallel embedding all-reduce and head all-gather, outside the layers, a {phase} "
                     f"step: {', '.join(vocabulary)}")
    return lines + [payloads, "KV cache: every rank holds the plan's share at every step" if kv_ok else
                    "KV cache: some rank's cache differs from the plan's share (see ranks.per_rank[*].steps[*].kv_bytes)"]
