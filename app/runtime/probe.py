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
            # Decode on a GPU is bound by the host launching kernels, so a mark must cost the
            # host little: the stream is looked up once, and a block's start is the event that
            # ended the block before it (nothing runs between blocks), so L blocks take 2L + 1
            # events instead of 3L.
            self._stream = torch.cuda.current_stream(device)
            self._first = torch.cuda.Event(enable_timing=True)
            self._ends = [[torch.cuda.Event(enable_timing=True) for _ in POINTS[1:]] for _ in range(num_layers)]
        self._times = [[0.0] * len(POINTS) for _ in range(num_layers)]

    def mark(self, layer: int, point: str) -> None:
        if self.cancelled is not None and point == "start" and self.cancelled():
            raise Cancelled()
        if not self.cuda:
            self._times[layer][POINTS.index(point)] = time.perf_counter()
        elif point == "mixer":
            self._ends[layer][0].record(self._stream)
        elif point == "ffn":
            self._ends[layer][1].record(self._stream)
        elif layer == 0:
            self._first.record(self._stream)

    def resolve(self) -> LayerTimes:
        """The step's intervals in milliseconds; on CUDA this waits for the step to end."""
        if self.cuda:
            self._ends[-1][-1].synchronize()
            starts = [self._first] + [ends[1] for ends in self._ends[:-1]]
            spans = [(start.elapsed_time(mixer), mixer.elapsed_time(ffn)) for start, (mixer, ffn) in zip(starts, self._ends)]
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
