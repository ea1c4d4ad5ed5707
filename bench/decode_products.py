"""How fast a decode step's matrix products read their weights, apart from the rest of the step.

A decode step's products (`archscope_kernels::decode_linear`, app/model/kernels/
decode_linear.cpp) are most of a small model's step on the CPU, and each reads its matrix
once: their read rate is what the step can approach the memory limit with. This replays
exactly the products one real decode step makes -- the model's own matrices, in its
layouts and in its order, found by watching the step's ops -- with nothing between them,
and prints their bytes per second over the read rate of a large matrix-vector product
(bench/side_by_side.MatvecCeiling) read just before and just after, the higher of the two:
the "of ceiling" column. Then the same per distinct matrix shape (each shape's matrices
in the step's order), so the shapes that lose are named.

Each replayed product is a call from Python (about 3 us of dispatch on the 2-core EPYC,
against about 2 from a compiled step's C++), so a small matrix's figure here is slightly
below what it reaches inside a step. A step does more than its products (attention, norms,
the compiled step's call), so bench/decode.py's fraction of the limit is lower than this
one; the gap between the two is the rest of the step.

    .venv/bin/python bench/decode_products.py [--models embedded:smollm2-135m embedded:gemma3-270m]
                                              [--dtype float32 bfloat16] [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from functools import partial

import torch
from side_by_side import MatvecCeiling, timed  # bench/, beside this
from torch.utils._python_dispatch import TorchDispatchMode

from app.model import cpu_kernels
from app.runtime.session import DTYPES, Session

DEFAULT_MODELS = ["embedded:smollm2-135m", "embedded:gemma3-270m"]


class _Products(TorchDispatchMode):
    """Records the (x, weight) of every decode product the ops under it make."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.archscope_kernels.decode_linear.default:
            self.calls.append((args[0].clone(), args[1]))
        return func(*args, **(kwargs or {}))


def step_products(session: Session) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The (activations, matrix) of each product of one decode step, in order."""
    model = session.model
    cache = model.new_cache(1, 40)
    with torch.no_grad():
        model(torch.zeros(1, 32, dtype=torch.long), cache=cache, last_only=True)
        with _Products() as products:
            model(torch.zeros(1, 1, dtype=torch.long), cache=cache)
    return products.calls


def replay(calls) -> None:
    product = torch.ops.archscope_kernels.decode_linear
    for x, weight in calls:
        product(x, weight, None)


def layout(weight: torch.Tensor) -> str:
    return "row-major" if weight.is_contiguous() else "input-major"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    parser.add_argument("--dtype", nargs="+", choices=["float32", "bfloat16"], default=["float32", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=5, help="readings, each the best of 3 replays")
    parser.add_argument("--threads", type=int, default=0, help="torch's intra-op threads (0: its default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if cpu_kernels.unavailable():
        raise SystemExit(f"our decode kernel is not available here: {cpu_kernels.unavailable()}")
    ceiling = MatvecCeiling("cpu")
    print(f"cpu, {torch.get_num_threads()} threads, torch {torch.__version__}; of ceiling: the products' bytes per "
          "second over a 256 MiB float32 matrix-vector product's, read just before and after; median of "
          f"{args.repeats} readings (their range)")
    for source in args.models:
        for dtype in args.dtype:
            session = Session.from_source(source, dtype=dtype, weights="dequantize")
            calls = step_products(session)
            if not calls or calls[0][1].dtype != DTYPES[dtype]:
                print(f"{source} {dtype}: its step makes no decode products here")
                continue
            groups: dict[tuple, list] = defaultdict(list)
            for x, weight in calls:
                groups[(tuple(weight.shape), layout(weight))].append((x, weight))
            parts = [("whole step", calls)] + [(f"{n} x {k} {kind}, {len(group)} of them", group)
                                               for ((n, k), kind), group in groups.items()]
            print(f"\n{source}, {dtype}: {len(calls)} products, "
                  f"{sum(w.nbytes for _, w in calls) / 1e6:.0f} MB a step")
            print(f"  {'products':<40} {'ms':>7} {'GB/s':>6} {'of ceiling':>18}")
            for name, group in parts:
                nbytes = sum(weight.nbytes for _, weight in group)
                fractions, times = [], []
                for _ in range(args.repeats):
                    before = ceiling.read()
                    took = min(timed(partial(replay, group), "cpu") for _ in range(3))
                    fractions.append(nbytes / took / max(before, ceiling.read()))
                    times.append(took)
                took = statistics.median(times)
                print(f"  {name:<40} {took * 1e3:>7.2f} {nbytes / took / 1e9:>6.1f} "
                      f"{statistics.median(fractions):>6.2f} ({min(fractions):.2f}-{max(fractions):.2f})", flush=True)
            del session, calls, groups, parts


if __name__ == "__main__":
    main()
