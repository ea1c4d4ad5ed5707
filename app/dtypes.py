"""The element types ArchScope counts bytes in and runs models in: one table of name, bytes
per value and short label (plain values: no torch, no Qt). The runtime maps the names it
runs in to torch dtypes (app/runtime/session.py); everything else reads the bytes here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dtype:
    name: str  # torch's name for it, and the command line's
    bytes_per_value: int
    label: str  # the short form a narrow control shows
    runs_models: bool  # a model can be built and run in it (fp8 is only counted: KV-cache bytes)


DTYPES = (
    Dtype("float32", 4, "fp32", runs_models=True),
    Dtype("bfloat16", 2, "bf16", runs_models=True),
    Dtype("float16", 2, "fp16", runs_models=True),
    Dtype("fp8", 1, "fp8", runs_models=False),
)
BY_NAME = {dtype.name: dtype for dtype in DTYPES}
BYTES_PER_VALUE = {dtype.name: dtype.bytes_per_value for dtype in DTYPES}
RUN_DTYPE_NAMES = tuple(dtype.name for dtype in DTYPES if dtype.runs_models)  # the dtypes a model runs in
