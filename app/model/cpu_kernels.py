"""Our CPU kernels (kernels/*.cpp): compiled at first use with the machine's C++ compiler,
cached by their source, and registered as torch operators, so compiled decode steps trace
through them like any other op:
- `archscope_kernels::lowbit_linear` (kernels/lowbit.cpp), products with GGUF's low-bit
  matrices as stored. torch's own low-bit CPU kernels were measured slower than float32 on
  the AVX2 development machine (an int4 2048 x 2048 product 11.5 ms against 0.47 ms).
- `archscope_kernels::decode_linear` (kernels/decode_linear.cpp), a decode step's products
  with float32 or bfloat16 matrices, read at the speed they stream from memory (torch's BLAS
  reads the small matrices of a small model at about half of it).
- `archscope_kernels::decode_attention` (kernels/attention.cpp), one decode step's
  attention in float32, without the fixed cost of torch's flash kernel.
- `archscope_kernels::probe_mark` / `probe_take_marks` (kernels/probe_marks.cpp): the
  per-layer probe's marks inside a compiled step, recorded without a call back into Python.
Where they cannot be built -- no compiler, no AVX2, not x86 -- `unavailable()` says why:
GGUF weights are then expanded to floats and attention runs in torch's own kernel.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import torch
import torch.utils.cpp_extension as cpp_extension

KERNELS = Path(__file__).with_name("kernels")
SOURCES = sorted(KERNELS.glob("*.cpp"))
HEADERS = sorted(KERNELS.glob("*.h"))  # part of the cache key: a change to one rebuilds the library
FLAGS = ["-O3", "-mavx2", "-mfma", "-mf16c", "-fopenmp", "-std=c++20", "-shared", "-fPIC", "-w",
         f"-D_GLIBCXX_USE_CXX11_ABI={int(torch.compiled_with_cxx11_abi())}"]
REQUIRED_CPU_FLAGS = ("avx2", "fma", "f16c")


_registered = False  # set once the library is loaded (a global a compiled step can read)


class KernelUnavailable(RuntimeError):
    pass


def cache_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "archscope" / "kernels"


def unavailable() -> str | None:
    """Why the kernel cannot run here, or None when it is loaded and ready."""
    try:
        _load()
    except KernelUnavailable as error:
        return str(error)
    return None


def loaded() -> bool:
    """Whether the operators are registered in this process (nothing is built to find out):
    callers on a step's path use them only then, and fall back to torch's own ops."""
    return _registered


def load() -> None:
    """Build (once) and register the operator, or raise KernelUnavailable saying why. After it,
    torch.ops.archscope_kernels.lowbit_linear(x [M, K] float32, codes, scales, offsets, bits,
    group) is x times the low-bit matrix [N, K]: [M, N] float32."""
    _load()


@cache
def _load() -> None:
    if platform.machine().lower() not in ("x86_64", "amd64") or not sys.platform.startswith("linux"):
        raise KernelUnavailable(f"the low-bit kernel is written for x86-64 Linux, not {sys.platform} "
                                f"{platform.machine()}")
    missing = [flag for flag in REQUIRED_CPU_FLAGS if flag not in _cpu_flags()]
    if missing:
        raise KernelUnavailable(f"this CPU lacks {', '.join(missing)}, which the low-bit kernel needs")
    library = _build()
    torch.ops.load_library(str(library))

    @torch.library.register_fake("archscope_kernels::lowbit_linear")
    def _shape(x, codes, scales, offsets, bits, group):
        return x.new_empty(x.shape[0], codes.shape[0])

    @torch.library.register_fake("archscope_kernels::decode_linear")
    def _linear_shape(x, weight, bias):
        return x.new_empty(x.shape[0], weight.shape[0])

    @torch.library.register_fake("archscope_kernels::decode_attention")
    def _attention_shape(q, k, v, visible, scale):
        return q.new_empty(*q.shape[:-1], v.shape[-1])

    @torch.library.register_fake("archscope_kernels::probe_mark")
    def _mark_shape(x, layer, point):
        return torch.empty_like(x)

    global _registered
    _registered = True


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def needs_build() -> bool:
    """Whether loading will first compile the library (seconds, once per machine)."""
    return not _library_path().is_file()


def _library_path() -> Path:
    """Where the library for these sources, this torch and these flags is cached."""
    source = b"".join(path.read_bytes() for path in SOURCES + HEADERS)
    key = hashlib.sha256(source + torch.__version__.encode() + " ".join(FLAGS).encode()).hexdigest()[:16]
    return cache_directory() / f"kernels-{key}.so"


def _build() -> Path:
    """The compiled library for these sources, torch and flags; built once per machine."""
    compiler = shutil.which(os.environ.get("CXX", "g++"))
    library = _library_path()
    if library.is_file():
        return library
    if compiler is None:
        raise KernelUnavailable("no C++ compiler (g++) to build the low-bit kernel; install one, or set CXX")
    library.parent.mkdir(parents=True, exist_ok=True)
    includes = [f"-I{path}" for path in cpp_extension.include_paths()]
    libraries = [f"-L{path}" for path in cpp_extension.library_paths()] + ["-lc10", "-ltorch_cpu"]
    with tempfile.TemporaryDirectory(dir=library.parent) as scratch:
        built = Path(scratch) / library.name
        command = [compiler, *FLAGS, *includes, *map(str, SOURCES), "-o", str(built), *libraries]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise KernelUnavailable(f"building the low-bit kernel failed ({compiler}): {last}")
        os.replace(built, library)  # atomic: a second process sees the whole file or none
    return library
