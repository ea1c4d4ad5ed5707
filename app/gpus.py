"""The NVIDIA GPUs on this machine, asked of the driver through NVML (no torch import, so
the UI can list them at start-up without loading CUDA)."""

from __future__ import annotations


def nvidia_gpus() -> list[tuple[str, int]]:
    """(name, memory bytes) per GPU, in CUDA's index order; empty without a driver."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return []
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            gpus.append((name.decode() if isinstance(name, bytes) else name,
                         int(pynvml.nvmlDeviceGetMemoryInfo(handle).total)))
        return gpus
    except pynvml.NVMLError:
        return []
    finally:
        pynvml.nvmlShutdown()
