"""What measuring costs: decode tokens/s with the per-layer probe on vs off, same run.

Also prints how much of each decode step the per-layer times account for: their sum over
the step's wall time less the head and the sampling (the target: within 10% of 1).

Runs probe-on and probe-off generations in pairs on the same session (same weights, prompt
and cache sizes), the two of a pair back to back and their order swapped from one pair to
the next. On a shared machine whose speed drifts by 10% and more between minutes, the two
runs of a pair share a moment, so the verdict is the median of the pairs' on/off ratios
(printed with their range), not the best of each side, which may come from different
moments. The targets (median on/off): >= 0.90 in eager mode, >= 0.95 in fast mode, where
the marks are ops inside the compiled step.

    .venv/bin/python bench/probe_overhead.py [--models embedded:smollm2-135m embedded:gemma3-270m]
                                             [--arch gemma3-27b:explore ...] [--mode eager|fast]
"""

from __future__ import annotations

import argparse
import statistics

import torch

from app.defaults import EXECUTION_MODES
from app.runtime.session import RunConfig, Session

DEFAULT_MODELS = ["embedded:smollm2-135m", "embedded:gemma3-270m"]


def measured(session: Session, probe: bool, new_tokens: int, mode: str) -> tuple[float, float]:
    """(decode tokens/s, the per-layer times' sum over the rest of the step: the wall time
    less head and sampling -- 1 when the layers account for all of it; 0 without the probe)."""
    snapshot = session.run(RunConfig(max_new_tokens=new_tokens, probe=probe, stop_at_eos=False, mode=mode))
    decode = [step for step in snapshot.steps if step.phase == "decode"]
    layers = sum(sum(step.layer_ms) for step in decode)
    rest = sum(step.wall_ms - step.head_ms - step.sample_ms for step in decode)
    return snapshot.summary()["decode_tokens_per_s"], layers / rest if probe else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=DEFAULT_MODELS, help="weights sources")
    parser.add_argument("--arch", nargs="*", default=[], help="catalog NAME:SCALE with random weights")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=9, help="pairs of runs, probe on and off")
    parser.add_argument("--mode", choices=EXECUTION_MODES, default="eager")
    args = parser.parse_args()
    sessions = [(source, lambda s=source: Session.from_source(s, device=args.device)) for source in args.models]
    sessions += [(name, lambda n=name: Session.from_arch(n.partition(":")[0], n.partition(":")[2] or "explore",
                                                         device=args.device)) for name in args.arch]
    print(f"{'model':<26} {'best on tok/s':>14} {'best off tok/s':>15} {'median on/off':>14} {'range':>12} "
          f"{'layers/rest':>12}")
    for label, make in sessions:
        session = make()
        for probe in (True, False):  # warm-up (and, in fast mode, compiling both steps)
            measured(session, probe, args.new_tokens, args.mode)
        on, off, covered = [], [], []
        for pair in range(args.repeats):
            for probe in (True, False) if pair % 2 == 0 else (False, True):
                rate, share = measured(session, probe, args.new_tokens, args.mode)
                (on if probe else off).append(rate)
                if probe:
                    covered.append(share)
        ratios = [a / b for a, b in zip(on, off)]
        print(f"{label:<26} {max(on):>14.1f} {max(off):>15.1f} {statistics.median(ratios):>13.2f}x "
              f"{f'{min(ratios):.2f}-{max(ratios):.2f}':>12} {statistics.median(covered):>12.2f} "
              f"({session.device}, {args.mode}, {torch.get_num_threads()} threads, {args.repeats} pairs)", flush=True)


if __name__ == "__main__":
    main()
