"""The live profiling dashboard: a run's record (Qt-free) and the pyqtgraph plots that
draw it -- per-layer latency, memory, KV cache, expert routing, throughput, the output
text, the context sweep and the roofline."""

from .record import RunRecord, SweepRecord

__all__ = ["Dashboard", "RunRecord", "SweepRecord"]


def __getattr__(name: str):
    # The plots import Qt and pyqtgraph only when asked for: the record stays usable headless.
    if name == "Dashboard":
        from .panel import Dashboard

        return Dashboard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
