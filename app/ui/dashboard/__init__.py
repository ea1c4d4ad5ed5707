"""The live profiling dashboard: a run's record (Qt-free) and the pyqtgraph plots that
draw it -- per-layer latency, memory, KV cache, expert routing, throughput, the output
text, the context sweep, the roofline and the batch sweep."""

from .record import BatchSweepRecord, RunRecord, SweepRecord

__all__ = ["BatchSweepRecord", "Dashboard", "RunRecord", "SweepRecord"]


def __getattr__(name: str):
    # The plots import Qt and pyqtgraph only when asked for: the record stays usable headless.
    if name == "Dashboard":
        from .panel import Dashboard

        return Dashboard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
