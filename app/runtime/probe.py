"""Per-layer timing of one forward pass, without distorting it.

On CUDA each mark records an event on the stream -- no synchronization inside the step --
and the intervals are resolved once after it. Marks made while a step is captured into a
CUDA graph become nodes of the graph (app/runtime/graphs.py), so each replay is timed too.
On the CPU, where the work is synchronous, perf_counter at each mark is exact. The same object also checks a cancel flag at every
mark, so a long step stops between layers.

After the last block two more marks close the step: "head" when the logits are ready (final
norm, output head, logit scale and soft-cap) and "sample" when the next token is picked.
On a vocabulary of 262k rows the head can cost as much as half the layers, so a step's
shares are of the whole step, not of the layers alone.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import torch

from ..model import cpu_kernels

POINTS = ("start", "mixer", "ffn")  # marked per block
CLOSING = ("head", "sample")  # marked once per step, after the last block, in this order


class Cancelled(Exception):
    """Raised between layers when the user cancels a run."""


# Marks from inside a compiled graph (the fast mode). On the CPU, where our kernels are
# built, the graph's mark op (kernels/probe_marks.cpp) records the time in C++ and the
# step's caller hands the records to the observer once the step is done
# (deliver_recorded_marks). Elsewhere -- a CUDA graph, a machine without the kernels -- the
# op below calls back into Python, handing each mark to the observer of the step now running
# on this thread. Either way the observer is found at run time, not baked into the graph, so
# one compiled step serves every run.
_running = threading.local()
_POINT_NAMES = POINTS + CLOSING


@contextmanager
def marks_from_graph(observer) -> None:
    """While the block runs, in-graph marks on this thread go to observer.mark."""
    _running.observer = observer
    try:
        yield
    finally:
        _running.observer = None


def _mark_between_kernels(x: torch.Tensor, layer: int, point: int) -> torch.Tensor:
    observer = getattr(_running, "observer", None)
    if observer is not None:
        observer.mark(layer, _POINT_NAMES[point])
    # A copy, not x: what follows reads this output, so the compiler can neither run the
    # mark before the work that made x nor move later work in front of it.
    return x.clone()


# A plain library op, not torch.library.custom_op: the graph calls it 2L + 2 times a step,
# and the custom_op wrapper costs 24 us a call on a 2-core EPYC against 5 us for this.
_LIBRARY = torch.library.Library("archscope", "DEF")
_LIBRARY.define("mark(Tensor x, int layer, int point) -> Tensor")
for _key in ("CPU", "CUDA"):
    _LIBRARY.impl("mark", _mark_between_kernels, _key)
torch.library.register_fake("archscope::mark", lambda x, layer, point: torch.empty_like(x), lib=_LIBRARY)


def graph_mark(x: torch.Tensor, layer: int, point: str) -> torch.Tensor:
    index = _POINT_NAMES.index(point)
    if x.device.type == "cpu" and cpu_kernels.loaded():
        return torch.ops.archscope_kernels.probe_mark.default(x, layer, index)
    return torch.ops.archscope.mark.default(x, layer, index)


def deliver_recorded_marks(observer) -> None:
    """Hand the marks recorded in C++ on this thread since the last call to observer.mark, in
    the order they were made, with their times (observer None: drop them, as after a step
    that failed). Nothing to do where the kernels are not loaded: marks came as they were made."""
    if not cpu_kernels.loaded():
        return
    records = torch.ops.archscope_kernels.probe_take_marks().tolist()
    if observer is None:
        return
    take = getattr(observer, "take_recorded", None)
    if take is not None:
        take(records)
    else:
        for layer, point, seconds in records:
            observer.mark(int(layer), _POINT_NAMES[int(point)], at=seconds)


@dataclass(frozen=True)
class LayerTimes:
    layer_ms: list[float]  # the whole block
    mixer_ms: list[float]  # its attention / mixer sublayer (with its norms)
    ffn_ms: list[float]  # its feed-forward / MoE sublayer (with its norms)
    head_ms: float = 0.0  # from the last block's end to the logits
    sample_ms: float = 0.0  # from the logits to the next token (0 when nothing was sampled)


class LayerTimer:
    def __init__(self, num_layers: int, device: torch.device | str, cancelled: Callable[[], bool] | None = None):
        self.num_layers = num_layers
        self.cuda = torch.device(device).type == "cuda"
        self.cancelled = cancelled
        if self.cuda:
            # Decode on a GPU is bound by the host launching kernels, so a mark must cost the
            # host little: the stream is looked up once, and a block's start is the event that
            # ended the block before it (nothing runs between blocks), so L blocks take 2L + 1
            # events instead of 3L. The head and the sampling start where the part before
            # them ended too: two events more per step.
            # The same events serve every step. External events: recorded while a step is
            # captured into a CUDA graph (the fast mode), they become nodes of the graph, so
            # every replay records them again and the layers are timed inside the graph.
            self._stream = torch.cuda.current_stream(device)
            self._first = _timing_event()
            self._ends = [[_timing_event() for _ in POINTS[1:]] for _ in range(num_layers)]
            self._head = _timing_event()
            self._sample = _timing_event()
        self._times = [[0.0] * len(POINTS) for _ in range(num_layers)]
        # "head" / "sample" as this step marked them: the event recorded, or perf_counter
        self._closing: dict[str, object] = {}
        # those marked inside a captured graph, which every replay marks again
        self._closing_in_graph: dict[str, object] = {}
        self._capturing = False

    @contextmanager
    def captured(self, stream) -> None:
        """Meanwhile a step is captured into a CUDA graph on `stream` (a capture cannot use
        the default stream): the marks are recorded there, and each replay records them again."""
        saved, self._stream, self._capturing = self._stream, stream, True
        try:
            yield
        finally:
            self._stream, self._capturing = saved, False

    def replayed(self) -> None:
        """A captured step has just been replayed: its marks, head included, are recorded."""
        self._closing.update(self._closing_in_graph)

    def mark(self, layer: int, point: str, at: float | None = None) -> None:
        """point: "start" | "mixer" | "ffn" of block `layer`, or "head" | "sample" after the
        last block (layer is then ignored). at: when a CPU mark was made (time.perf_counter's
        clock), for a mark recorded inside a compiled step and handed over after it; None: now."""
        if point in CLOSING:
            if self.cuda:
                event = self._head if point == "head" else self._sample
                event.record(self._stream)
                # captured: recorded only when the graph replays (replayed() says so)
                (self._closing_in_graph if self._capturing else self._closing)[point] = event
            else:
                self._closing[point] = time.perf_counter() if at is None else at
            return
        self._mark_block(layer, point, at)

    def take_recorded(self, records: list) -> None:
        """The marks a compiled CPU step recorded, (layer, point index, seconds) in the order
        they were made: what mark(..., at=seconds) does with each, without a call per mark
        (62 a SmolLM2 step, a step of 6 ms)."""
        times, last = self._times, self.num_layers - 1
        for layer, point, seconds in records:
            layer, point = int(layer), int(point)
            if point >= len(POINTS):
                self._closing[CLOSING[point - len(POINTS)]] = seconds
                continue
            times[layer][point] = seconds
            if POINTS[point] == "ffn" and layer < last:
                times[layer + 1][0] = seconds  # the next block's start, unless it marks its own

    def _mark_block(self, layer: int, point: str, at: float | None) -> None:
        # a mark handed over after its step is not a place to stop: the step is done
        if self.cancelled is not None and point == "start" and at is None and self.cancelled():
            raise Cancelled()
        if not self.cuda:
            now = time.perf_counter() if at is None else at
            self._times[layer][POINTS.index(point)] = now
            if point == "ffn" and layer + 1 < self.num_layers:
                self._times[layer + 1][0] = now  # the next block's start, unless it marks its own
        elif point == "mixer":
            self._ends[layer][0].record(self._stream)
        elif point == "ffn":
            self._ends[layer][1].record(self._stream)
        elif layer == 0:
            self._first.record(self._stream)

    def mark_in_graph(self, x: torch.Tensor, layer: int, point: str) -> torch.Tensor:
        if point == "start" and layer > 0:
            return x  # a block starts where the one before it ended (marked "ffn")
        return graph_mark(x, layer, point)

    def resolve(self) -> LayerTimes:
        """The step's intervals in milliseconds; on CUDA this waits for the step to end."""
        # the last block's end, then the head's and the sampling's, each the next one's start
        chain = [self._ends[-1][-1] if self.cuda else self._times[-1][2]]
        for point in CLOSING:  # the sampling is timed only after a timed head
            if point not in self._closing:
                break
            chain.append(self._closing[point])
        self._closing = {}
        if self.cuda:
            chain[-1].synchronize()
            starts = [self._first] + [ends[1] for ends in self._ends[:-1]]
            spans = [(start.elapsed_time(mixer), mixer.elapsed_time(ffn)) for start, (mixer, ffn) in zip(starts, self._ends)]
            closing = [start.elapsed_time(end) for start, end in zip(chain, chain[1:])]
        else:
            spans = [((t[1] - t[0]) * 1e3, (t[2] - t[1]) * 1e3) for t in self._times]
            closing = [(end - start) * 1e3 for start, end in zip(chain, chain[1:])]
        head, sample = (closing + [0.0, 0.0])[:2]
        mixer = [round(m, 4) for m, _ in spans]
        ffn = [round(f, 4) for _, f in spans]
        return LayerTimes([round(m + f, 4) for m, f in zip(mixer, ffn)], mixer, ffn, round(head, 4), round(sample, 4))


def _timing_event() -> torch.cuda.Event:
    return torch.cuda.Event(enable_timing=True, external=True)


class CancelCheck:
    """The observer used when the probe is off: it only checks for cancellation."""

    def __init__(self, cancelled: Callable[[], bool]):
        self.cancelled = cancelled

    def mark(self, layer: int, point: str, at: float | None = None) -> None:
        if point == "start" and at is None and self.cancelled():
            raise Cancelled()

    def mark_in_graph(self, x: torch.Tensor, layer: int, point: str) -> torch.Tensor:
        # nothing to time: a compiled step checks for cancel before it starts
        return x
