"""Wall-clock timing shared by the benchmarks: on CUDA, wait for the device on both sides."""

from __future__ import annotations

import time

import torch


def synchronize(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def timed(run, device: str) -> float:
    """Seconds `run()` takes, device work included."""
    synchronize(device)
    start = time.perf_counter()
    run()
    synchronize(device)
    return time.perf_counter() - start
