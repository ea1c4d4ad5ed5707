"""Per-layer timing of one forward pass, without distorting it.

On CUDA each mark records an event on the stream -- no synchronization inside the step --
and the intervals are resolved once after it. On the CPU, where the work is synchronous,
perf_counter at each mark is exact. The same object also checks a cancel flag at every
mark, so a long step stops between layers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

POINTS = ("start", "mixer", "ffn")


class Cancelled(Exception):
    """Raised between layers when the user cancels a run."""


@dataclass(frozen=True)
class LayerTimes:
    layer_ms: list[float]  # the whole block
    mixer_ms: list[float]  # its attention / mixer sublayer (with its norms)
    ffn_ms: list[float]  # its feed-forward / MoE sublayer (with its norms)


class LayerTimer:
    def __init__(self, num_layers: int, device: torch.device | str, cancelled: Callable[[], bool] | None = None):
        self.num_layers = num_layers
        self.cuda = torch.device(device).type == "cuda"
        self.cancelled = cancelled
        if self.cuda:
            self._events = [[torch.cuda.Event(enable_timing=True) for _ in POINTS] for _ in range(num_layers)]
        self._times = [[0.0] * len(POINTS) for _ in range(num_layers)]

    def mark(self, layer: int, point: str) -> None:
        if self.cancelled is not None and point == "start" and self.cancelled():
            raise Cancelled()
        slot = POINTS.index(point)
        if self.cuda:
            self._events[layer][slot].record()
        else:
            self._times[layer][slot] = time.perf_counter()

    def resolve(self) -> LayerTimes:
        """The step's intervals in milliseconds; on CUDA this waits for the step to end."""
        if self.cuda:
            self._events[-1][-1].synchronize()
            spans = [(e[0].elapsed_time(e[1]), e[1].elapsed_time(e[2])) for e in self._events]
        else:
            spans = [((t[1] - t[0]) * 1e3, (t[2] - t[1]) * 1e3) for t in self._times]
        mixer = [round(m, 4) for m, _ in spans]
        ffn = [round(f, 4) for _, f in spans]
        return LayerTimes([round(m + f, 4) for m, f in zip(mixer, ffn)], mixer, ffn)


class CancelCheck:
    """The observer used when the probe is off: it only checks for cancellation."""

    def __init__(self, cancelled: Callable[[], bool]):
        self.cancelled = cancelled

    def mark(self, layer: int, point: str) -> None:
        if point == "start" and self.cancelled():
            raise Cancelled()
