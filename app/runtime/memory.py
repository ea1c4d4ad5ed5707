"""Memory now: torch's allocator on CUDA, the whole device via NVML, and this process's RSS."""

from __future__ import annotations

import os
import platform

import psutil
import torch

_process = psutil.Process(os.getpid())
_nvml_handles: dict[int, object] = {}


def _nvml_used(index: int) -> int:
    """Bytes in use on the GPU (all processes), or 0 where NVML is not available."""
    try:
        import pynvml
    except ImportError:
        return 0
    try:
        if index not in _nvml_handles:
            pynvml.nvmlInit()
            _nvml_handles[index] = pynvml.nvmlDeviceGetHandleByIndex(index)
        return int(pynvml.nvmlDeviceGetMemoryInfo(_nvml_handles[index]).used)
    except pynvml.NVMLError:
        return 0


def sample(device: torch.device | str) -> dict[str, int]:
    device = torch.device(device)
    memory = {"allocated": 0, "reserved": 0, "device_used": 0, "rss": int(_process.memory_info().rss)}
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        memory.update(allocated=int(torch.cuda.memory_allocated(index)),
                      reserved=int(torch.cuda.memory_reserved(index)), device_used=_nvml_used(index))
    return memory


def hardware(device: torch.device | str) -> dict:
    device = torch.device(device)
    cuda = device.type == "cuda"
    name = torch.cuda.get_device_name(device) if cuda else (platform.processor() or platform.machine())
    return {
        "device_name": name,
        "cuda": cuda,
        "gpu_memory_total": int(torch.cuda.get_device_properties(device).total_memory) if cuda else 0,
        "cpu": f"{platform.machine()} x{os.cpu_count()} ({torch.get_num_threads()} torch threads)",
        "ram_total": int(psutil.virtual_memory().total),
    }
