"""Measured against the roofline: per layer kind, the time a decode step really took beside
the least time this device's roofs allow, and the fraction of roofline of whole steps.

One run measures the device's roofs (the full calibration, unless --saved-roofs), then
decodes with the probe on each model: the two embedded real models and three `slice`-scale
entries (published widths, one layer of each kind; random weights): a dense, an MoE and a
hybrid. Per kind it prints the decode steps' mean measured time, the roofline's least time
for the same work (app/spec/roofline.py, with each step's real routing counts) and their
ratio -- 100% would be a step that moves and computes only what it must, at the speed the
micro-benchmarks reached.

    .venv/bin/python bench/roofline.py [--new-tokens 16] [--threads N] [--saved-roofs]
                                       [--models embedded:smollm2-135m ...] [--slices qwen3-1.7b ...]
                                       [--arch qwen3-0.6b:full ...] [--device cuda --dtype bfloat16]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import torch

from app.runtime.calibrate import calibrate_and_save, saved_roofs
from app.runtime.session import DTYPES, RunConfig, Session, resolve_device
from app.spec import catalog
from app.spec.roofline import Roofs, predict_ms, step_cost

DEFAULT_MODELS = ["embedded:smollm2-135m", "embedded:gemma3-270m"]
# dense, MoE, hybrid (Gated DeltaNet 3:1 with gated attention, MoE); their experts are
# trimmed to the slice budget where a layer would not fit (the plan's note says so)
DEFAULT_SLICES = ["qwen3-1.7b", "qwen3-30b-a3b", "qwen3-next-80b-a3b"]
SLICE_BUDGET_BYTES = 3 << 30


def kind_times(snapshot, spec) -> tuple[dict, dict, float, float]:
    """Over the decode steps: {kind: measured ms}, {kind: roofline ms}, summed; and the
    steps' wall and roofline totals."""
    roofs = Roofs.from_dict(snapshot.run["roofs"])
    batch, element = snapshot.run["batch"], DTYPES[snapshot.model["dtype"]].itemsize
    measured, least = defaultdict(float), defaultdict(float)
    wall = roofline = 0.0
    for step in snapshot.steps:
        if step.phase != "decode" or not step.layer_ms:
            continue
        rows = step_cost(spec, "decode", 1, step.seq_len - 1, batch, element, step.routing or None)
        for index, row in enumerate(rows[:spec.num_layers]):
            for kind, part, ms in ((row.mixer_kind, row.mixer, step.mixer_ms[index]),
                                   (row.ffn_kind, row.ffn, step.ffn_ms[index])):
                if kind:
                    measured[kind] += ms
                    least[kind] += predict_ms(part, roofs)
        for row in rows[spec.num_layers:]:
            timed = getattr(step, f"{'sample' if row.kind == 'sampling' else row.kind}_ms", None)
            if timed is not None:  # the embedding lookup is not timed on its own
                measured[row.kind] += timed
                least[row.kind] += predict_ms(row, roofs)
        wall += step.wall_ms
        roofline += sum(predict_ms(row, roofs) for row in rows)
    return measured, least, wall, roofline


def report(label: str, session: Session, snapshot) -> None:
    measured, least, wall, roofline = kind_times(snapshot, session.spec)
    steps = sum(1 for step in snapshot.steps if step.phase == "decode")
    print(f"\n{label}: {steps} decode steps, {session.spec.num_layers} layers, {snapshot.model['dtype']}, "
          f"{snapshot.run.get('threads', torch.get_num_threads())} threads")
    print(f"  {'kind':<16} {'measured ms':>12} {'roofline ms':>12} {'of roofline':>12}")
    for kind in sorted(measured, key=lambda k: -measured[k]):
        print(f"  {kind:<16} {measured[kind] / steps:>12.3f} {least[kind] / steps:>12.3f} "
              f"{100 * least[kind] / measured[kind]:>11.0f}%")
    print(f"  {'whole step':<16} {wall / steps:>12.3f} {roofline / steps:>12.3f} {100 * roofline / wall:>11.0f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=DEFAULT_MODELS, help="weights sources")
    parser.add_argument("--slices", nargs="*", default=DEFAULT_SLICES, help="catalog entries run at slice scale")
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own)")
    parser.add_argument("--arch", nargs="*", default=[], help="catalog NAME:SCALE with random weights")
    parser.add_argument("--saved-roofs", action="store_true", help="use the roofs saved earlier, do not calibrate")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=list(DTYPES))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device, dtype = resolve_device(args.device), args.dtype
    if not args.saved_roofs or saved_roofs(device, dtype) is None:
        calibration, saved = calibrate_and_save(device)
        print(f"calibrated {calibration.device} at {calibration.threads} threads, saved to {saved.path}")
    roofs = saved_roofs(device, dtype)
    print(f"roofs: {roofs.bandwidth_bytes_per_s / 1e9:.1f} GB/s, {roofs.flops_per_s / 1e9:.1f} GFLOP/s {dtype} "
          f"(ridge {roofs.ridge_intensity:.2f} FLOPs/byte), measured {roofs.measured}")
    where = {"device": str(device), "dtype": dtype}
    runs = [(source, lambda s=source: (Session.from_source(s, **where), None)) for source in args.models]
    for name in args.slices:
        def make(name=name):
            session = Session.from_slice(catalog.get(name, "full"), budget_bytes=SLICE_BUDGET_BYTES, **where)
            return session, session.slice_plan
        runs.append((f"{name} (slice)", make))
    for entry in args.arch:
        name, _, scale = entry.partition(":")
        runs.append((entry, lambda n=name, s=scale or "explore": (Session.from_arch(n, s, **where), None)))
    config = RunConfig(max_new_tokens=args.new_tokens + 1, stop_at_eos=False, roofs=roofs)
    for label, make in runs:
        session, plan = make()
        session.run(RunConfig(max_new_tokens=3, stop_at_eos=False))  # warm-up
        report(label, session, session.run(config))
        for note in plan.notes if plan is not None else ():
            print(f"  note: {note}")
        del session


if __name__ == "__main__":
    main()
