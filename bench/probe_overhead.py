"""What measuring costs: decode tokens/s with the per-layer probe on vs off, same run.

Also prints how much of each decode step the per-layer times account for: their sum over
the step's wall time less the head and the sampling (the target: within 10% of 1).

Alternates probe-on and probe-off generations on the same session (same weights, prompt
and cache sizes) and compares the best of each. The targets (on/off): >= 0.90 in eager
mode, >= 0.95 in fast mode, where the marks are ops inside the compiled step.

    .venv/bin/python bench/probe_overhead.py [--models embedded:smollm2-135m embedded:gemma3-270m]
                                             [--arch gemma3-27b:explore ...] [--mode eager|fast]
"""

from __future__ import annotations

import argparse

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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mode", choices=EXECUTION_MODES, default="eager")
    args = parser.parse_args()
    sessions = [(source, lambda s=source: Session.from_source(s, device=args.device)) for source in args.models]
    sessions += [(name, lambda n=name: Session.from_arch(n.partition(":")[0], n.partition(":")[2] or "explore",
                                                         device=args.device)) for name in args.arch]
    print(f"{'model':<26} {'probe on tok/s':>15} {'probe off tok/s':>16} {'on/off':>7} {'layers/rest':>12}")
    for label, make in sessions:
        session = make()
        for probe in (True, False):  # warm-up (and, in fast mode, compiling both steps)
            measured(session, probe, args.new_tokens, args.mode)
        on, off, covered = [], [], []
        for _ in range(args.repeats):
            rate, share = measured(session, True, args.new_tokens, args.mode)
            on.append(rate), covered.append(share)
            off.append(measured(session, False, args.new_tokens, args.mode)[0])
        share = covered[on.index(max(on))]  # of the best probed run
        print(f"{label:<26} {max(on):>15.1f} {max(off):>16.1f} {max(on) / max(off):>6.2f}x {share:>12.2f} "
              f"({session.device}, {args.mode}, {torch.get_num_threads()} threads)", flush=True)


if __name__ == "__main__":
    main()
