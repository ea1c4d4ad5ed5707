"""What measuring costs: decode tokens/s with the per-layer probe on vs off, same run.

Alternates probe-on and probe-off generations on the same session (same weights, prompt
and cache sizes) and compares the best of each. The target is >= 0.90 (on/off).

    .venv/bin/python bench/probe_overhead.py [--models embedded:smollm2-135m embedded:gemma3-270m]
                                             [--arch gemma3-27b:explore ...]
"""

from __future__ import annotations

import argparse

import torch

from app.runtime.session import RunConfig, Session

DEFAULT_MODELS = ["embedded:smollm2-135m", "embedded:gemma3-270m"]


def decode_tokens_per_s(session: Session, probe: bool, new_tokens: int) -> float:
    snapshot = session.run(RunConfig(max_new_tokens=new_tokens, probe=probe, stop_at_eos=False))
    return snapshot.summary()["decode_tokens_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=DEFAULT_MODELS, help="weights sources")
    parser.add_argument("--arch", nargs="*", default=[], help="catalog NAME:SCALE with random weights")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sessions = [(source, lambda s=source: Session.from_source(s, device=args.device)) for source in args.models]
    sessions += [(name, lambda n=name: Session.from_arch(n.partition(":")[0], n.partition(":")[2] or "explore",
                                                         device=args.device)) for name in args.arch]
    print(f"{'model':<26} {'probe on tok/s':>15} {'probe off tok/s':>16} {'on/off':>7}")
    for label, make in sessions:
        session = make()
        decode_tokens_per_s(session, True, 4)  # warm-up
        on, off = [], []
        for _ in range(args.repeats):
            on.append(decode_tokens_per_s(session, True, args.new_tokens))
            off.append(decode_tokens_per_s(session, False, args.new_tokens))
        print(f"{label:<26} {max(on):>15.1f} {max(off):>16.1f} {max(on) / max(off):>6.2f}x "
              f"({session.device}, {torch.get_num_threads()} threads)", flush=True)


if __name__ == "__main__":
    main()
