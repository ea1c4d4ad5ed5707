"""Refuse a build, a load or a cache that cannot fit, before allocating any of it.

A spec can be valid and still need terabytes (DeepSeek V3 as drawn: 671B parameters).
Allocating until the operating system kills the process loses the user's window and says
nothing; the analysis already counts the parameters and cache bytes, so the need is known
in advance and compared with what the device has free: psutil's available memory on the
CPU, the CUDA driver's free bytes on a GPU.
"""

from __future__ import annotations

import psutil
import torch

from ..spec import ArchSpec
from ..spec.analysis import analyze
from ..units import decimal_bytes, human_count



class NotEnoughMemory(ValueError):
    """What was asked for, the bytes it needs and the bytes the device has free."""


def free_bytes(device: torch.device | str) -> int | None:
    """Bytes the device can still give; None where allocation costs nothing ("meta")."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        return int(psutil.virtual_memory().available)
    return None


def require(needed_bytes: int, device: torch.device | str, what: str) -> None:
    """Raise NotEnoughMemory naming `what` and both figures when the device lacks the bytes."""
    free = free_bytes(device)
    if free is not None and needed_bytes > free:
        where = "this machine" if torch.device(device).type == "cpu" else f"the GPU ({torch.device(device)})"
        raise NotEnoughMemory(f"{what} needs {decimal_bytes(needed_bytes)}; {where} has {decimal_bytes(free)} free")


def require_build(spec: ArchSpec, device: torch.device | str, dtype: torch.dtype) -> None:
    """Before build_model: every parameter in the run's dtype (build.py makes the large ones
    in it directly; the small ones, made in float32 first, add little)."""
    params = analyze(spec).total_params
    require(params * dtype.itemsize, device, f"{spec.name} with random weights ({human_count(params)} parameters) "
            f"in {_dtype_name(dtype)}")


def require_load(spec: ArchSpec, device: torch.device | str, dtype: torch.dtype,
                 resident_bytes: int | None = None) -> None:
    """Before a loader allocates the empty model it fills. resident_bytes: what the model
    holds where some weights stay low-bit (default: every parameter in dtype)."""
    params = analyze(spec).total_params
    needed = params * dtype.itemsize if resident_bytes is None else resident_bytes
    kept = "" if resident_bytes is None else ", some weights kept low-bit"
    require(needed, device, f"{spec.name} ({human_count(params)} parameters) in {_dtype_name(dtype)}{kept}")


def require_cache(spec: ArchSpec, batch: int, max_len: int, device: torch.device | str, dtype: torch.dtype) -> None:
    """Before new_cache: each layer's keys and values at max_len (its window, if it
    slides) and its recurrent state, for every row of the batch."""
    needed = batch * analyze(spec).kv_bytes_at(max_len, dtype.itemsize)
    require(needed, device, f"the cache of {spec.name} for {batch:,} x {max_len:,} tokens in {_dtype_name(dtype)}")


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
