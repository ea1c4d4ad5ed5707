"""Calibration: short micro-benchmarks that measure this device's roofs -- how fast it
streams weights from memory and how fast it multiplies matrices in each dtype -- at the
thread count a run uses, saved per device (app/runtime/roofs_file.py).
"""

from __future__ import annotations

import datetime
import math
import platform
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from ..model import cpu_kernels
from ..spec.roofline import Roofs
from .probe import Cancelled
from .roofs_file import SavedRoofs, find_roofs, save_roofs
from .session import DTYPES, resolve_device

# Bytes each read benchmark streams. Far beyond the last-level cache (32 MiB on this
# project's 2-core EPYC, up to a few hundred MiB on large server parts), so every
# repeat comes from DRAM as a decode step's weights do. A GPU's L2 is at most ~100 MiB.
READ_BYTES = {("cpu", True): 256 << 20, ("cpu", False): 512 << 20,
              ("cuda", True): 1 << 30, ("cuda", False): 4 << 30}
READ_REPEATS = {True: 3, False: 8}
# Matmul sizes tried, smallest first: small ones are bound by packing and memory; the
# rate grows with n until the device is compute-bound. The largest size stops where the
# next one (8x the work) would take longer than MATMUL_LONGEST_S.
MATMUL_SIZES = {"cpu": (256, 512, 1024, 2048, 4096), "cuda": (1024, 2048, 4096, 8192)}
MATMUL_LONGEST_S = {True: 0.15, False: 1.0}
# ... but never below this size: a smaller multiply is bound by packing, and on a busy
# machine one slow repeat there would otherwise end the growth and set the roof.
MATMUL_LEAST_SIZE = {"cpu": 512, "cuda": 4096}
MATMUL_REPEATS = {True: 2, False: 4}
# On a GPU one multiply of the smaller sizes lasts microseconds: time several back to back
# between two events so the launch gaps are a small share of the interval.
CUDA_INNER_LOOPS = 10
# bfloat16 reads are measured as well: a decode step in bfloat16 streams half the bytes,
# and the roof assumes the device reads them as fast as float32 ones.
READ_DTYPES = ("float32", "bfloat16")


@dataclass(frozen=True)
class Calibration:
    """What the micro-benchmarks measured, before it becomes one Roofs per dtype."""

    device: str  # the CPU's model or the GPU's name
    threads: int  # CPU threads used (0 on a GPU)
    read_bytes_per_s: dict[str, float]  # "float32 matrix-vector", "float32 sum", ... -> bytes/s
    matmul_flops_per_s: dict[str, float]  # dtype -> the best dense matmul rate
    matmul_size: dict[str, int]  # dtype -> the square size that reached it
    measured: str = field(default_factory=lambda: datetime.datetime.now().astimezone().isoformat(timespec="seconds"))

    @property
    def bandwidth_bytes_per_s(self) -> float:
        """The roof is the fastest read the device sustained over a buffer far larger than
        its caches: a roof bounds what is possible, and a slower kernel (a matrix-vector
        product in a dtype the CPU has no fast path for) shows as a step below its roof,
        which is the point of drawing one; it must not lower the roof itself."""
        return max(self.read_bytes_per_s.values())

    def roofs(self) -> dict[str, Roofs]:
        return {dtype: Roofs(self.device, dtype, self.bandwidth_bytes_per_s, flops, self.threads, self.measured)
                for dtype, flops in self.matmul_flops_per_s.items()}

    def to_dict(self) -> dict:
        return {"device": self.device, "threads": self.threads, "measured": self.measured,
                "read_bytes_per_s": self.read_bytes_per_s, "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s,
                "matmul_flops_per_s": self.matmul_flops_per_s, "matmul_size": self.matmul_size,
                "roofs": {dtype: roofs.to_dict() for dtype, roofs in self.roofs().items()}}


def cpu_model_name() -> str:
    """The CPU's marketing name ("AMD EPYC", "Apple M2"), as the OS reports it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model_name()


def computed_dtypes(device: torch.device) -> tuple[str, ...]:
    """The dtypes whose matmuls the device runs. On a CPU all three run, if bfloat16 and
    float16 slowly without native support: that is what their roofs must show."""
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return ("float32", "float16")
    return ("float32", "bfloat16", "float16")


def calibrate(device: str | torch.device = "auto", dtypes: tuple[str, ...] | None = None, threads: int | None = None,
              quick: bool = False, progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> Calibration:
    """Measure the device: reads in float32 and bfloat16 (a matrix-vector product over a
    large weight matrix, as decode reads it, and a plain sum), then one dense matmul rate
    per dtype. threads: the CPU threads to use (None: this thread's torch setting).
    progress(done, total) after each micro-benchmark; cancelled() checked between them
    (Cancelled is raised). quick: a couple of seconds on a small CPU, for first runs."""
    device = resolve_device(device) if isinstance(device, str) else device
    dtypes = tuple(dtypes or computed_dtypes(device))
    unknown = [dtype for dtype in dtypes if dtype not in DTYPES]
    if unknown:
        raise ValueError(f"calibrate: unknown dtype {unknown[0]!r}; expected one of {', '.join(DTYPES)}")
    read_dtypes = [dtype for dtype in READ_DTYPES if dtype in computed_dtypes(device)]
    reads_per_dtype = 3 if device.type == "cpu" and cpu_kernels.loaded() else 2  # (+ our decode kernel's)
    total = reads_per_dtype * len(read_dtypes) + len(dtypes)
    done = 0

    def step_done() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    def check() -> None:
        if cancelled is not None and cancelled():
            raise Cancelled()

    previous_threads = torch.get_num_threads()
    if threads is not None and device.type == "cpu":
        torch.set_num_threads(threads)  # per calling thread (OpenMP): restored below
    try:
        if progress is not None:
            progress(0, total)
        reads: dict[str, float] = {}
        for dtype in read_dtypes:
            for kind, rate in _read_rates(device, DTYPES[dtype], quick, check, step_done):
                reads[f"{dtype} {kind}"] = rate
        flops: dict[str, float] = {}
        sizes: dict[str, int] = {}
        for dtype in dtypes:
            check()
            flops[dtype], sizes[dtype] = _matmul_rate(device, DTYPES[dtype], quick)
            step_done()
        used_threads = torch.get_num_threads() if device.type == "cpu" else 0
    finally:
        torch.set_num_threads(previous_threads)
    return Calibration(device_name(device), used_threads, reads, flops, sizes)


def measure_roofs(device: str | torch.device = "auto", dtypes: tuple[str, ...] | None = None,
                  threads: int | None = None, quick: bool = False,
                  progress: Callable[[int, int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> dict[str, Roofs]:
    """The device's roofs per dtype (see calibrate), not saved."""
    return calibrate(device, dtypes, threads, quick, progress, cancelled).roofs()


def calibrate_and_save(device: str | torch.device = "auto", threads: int | None = None, quick: bool = False,
                       progress=None, cancelled=None) -> tuple[Calibration, SavedRoofs]:
    calibration = calibrate(device, None, threads, quick, progress, cancelled)
    return calibration, save_roofs(calibration.roofs().values())


def saved_roofs(device: str | torch.device, dtype: str, threads: int | None = None) -> Roofs | None:
    """This device's saved roofs for a dtype at a thread count (None: this thread's torch
    setting), or None when it was never calibrated. RoofsFileError when the file is unreadable."""
    device = resolve_device(device) if isinstance(device, str) else device
    if device.type == "cuda":
        threads = 0
    elif threads is None:
        threads = torch.get_num_threads()
    return find_roofs(device_name(device), dtype, threads)


# --- the micro-benchmarks -------------------------------------------------------------------


def _best_seconds(device: torch.device, work: Callable[[], object], repeats: int, inner: int = 1) -> float:
    """The shortest of `repeats` timings of `work` (run `inner` times per timing), per run.
    The best, not the mean: interruptions by other processes only ever add time."""
    work()  # warm up: thread pools, allocator, kernel selection
    best = math.inf
    if device.type == "cuda":
        with torch.cuda.device(device):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            for _ in range(repeats):
                start.record()
                for _ in range(inner):
                    work()
                end.record()
                end.synchronize()
                best = min(best, start.elapsed_time(end) / 1e3 / inner)  # elapsed_time is in ms
        return best
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in range(inner):
            work()
        best = min(best, (time.perf_counter() - began) / inner)
    return best


def _read_rates(device: torch.device, dtype: torch.dtype, quick: bool, check, step_done):
    """(kind, bytes/s) for a matrix-vector product (torch's; on the CPU also our decode
    kernel's, where it is loaded) and a sum over READ_BYTES of `dtype`."""
    check()
    total_bytes = READ_BYTES[device.type, quick]
    if device.type == "cuda":
        total_bytes = min(total_bytes, torch.cuda.mem_get_info(device)[0] // 4)
    columns = 4096  # a wide model's d_model: one row of the weight matrix per output feature
    rows = total_bytes // (columns * torch.finfo(dtype).bits // 8)
    # ones, not zeros: a zeroed allocation may map one shared zero page, which reads from cache
    weight = torch.ones(rows, columns, dtype=dtype, device=device)
    vector = torch.ones(1, columns, dtype=dtype, device=device)
    read_bytes = weight.numel() * weight.element_size()
    repeats = READ_REPEATS[quick]
    try:
        yield "matrix-vector", read_bytes / _best_seconds(device, lambda: F.linear(vector, weight), repeats)
        step_done()
        if device.type == "cpu" and cpu_kernels.loaded():
            # the decode product a layer runs on the CPU (app/model/kernels/decode_linear.cpp):
            # it reads faster than torch's BLAS, and the roof is the fastest reader
            check()
            kernel = torch.ops.archscope_kernels.decode_linear
            # both layouts the model keeps: row-major, and input-major (the same storage seen
            # transposed, [columns, rows] read by an input of `rows` values)
            along_rows = torch.ones(1, rows, dtype=dtype, device=device)
            seconds = min(_best_seconds(device, lambda: kernel(vector, weight, None), repeats),
                          _best_seconds(device, lambda: kernel(along_rows, weight.t(), None), repeats))
            yield "decode kernel", read_bytes / seconds
            step_done()
        check()
        yield "sum", read_bytes / _best_seconds(device, weight.sum, repeats)
        step_done()
    finally:
        del weight, vector


def _matmul_rate(device: torch.device, dtype: torch.dtype, quick: bool) -> tuple[float, int]:
    """The best FLOP/s of a square matmul as a layer computes it, and the size that reached it."""
    best_rate, best_size = 0.0, 0
    inner = CUDA_INNER_LOOPS if device.type == "cuda" else 1
    for size in MATMUL_SIZES[device.type]:
        a = torch.ones(size, size, dtype=dtype, device=device)
        b = torch.ones(size, size, dtype=dtype, device=device)
        # x @ W.T, as the layers compute (F.linear): torch's CPU bfloat16 `a @ b` takes a path
        # 15x slower than the transposed one (1.3 against 22 GFLOP/s on an AVX2 EPYC), which
        # put the roof below what decoding reaches
        seconds = _best_seconds(device, lambda: F.linear(a, b), MATMUL_REPEATS[quick], inner)
        del a, b
        rate = 2 * size**3 / seconds
        if rate > best_rate:
            best_rate, best_size = rate, size
        if size >= MATMUL_LEAST_SIZE[device.type] and seconds * 8 > MATMUL_LONGEST_S[quick]:
            break
    return best_rate, best_size
