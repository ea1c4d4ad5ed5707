"""The collectives of a parallel run, each one timed and weighed where it happens: which
layer and sublayer, which operation, the bytes this rank put in, and how long it took.

On the CPU (gloo) a collective returns when it is done, so perf_counter around the call is
its time. On a GPU (NCCL) the call only queues the work: a pair of CUDA events is recorded
around it and resolved when the step's records are taken, after the step -- no
synchronization inside the step, as the per-layer probe does.

Payload bytes follow `app/parallel/plan.Payload`: the tensor a rank all-reduces, its whole
send buffer of an all-to-all (the rows it keeps included), its share of an all-gather.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class CollectiveRecord:
    layer: int
    label: str  # where in the layer: "mixer", "ffn", "ffn.dispatch", ... (plan.Payload's labels)
    op: str  # "all_reduce" | "all_to_all" | "all_gather"
    payload_bytes: int
    ms: float


class Comm:
    """This rank's view of the process group, and the record of its collectives since the
    last `take`."""

    def __init__(self, group: dist.ProcessGroup | None = None):
        self.group = group
        self.rank = dist.get_rank(group)
        self.world_size = dist.get_world_size(group)
        self._pending: list[tuple[int, str, str, int, object, object]] = []

    def _timed(self, layer: int, label: str, op: str, payload_bytes: int, tensor: torch.Tensor, call) -> None:
        if tensor.is_cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            call()
            end.record()
            self._pending.append((layer, label, op, payload_bytes, start, end))
            return
        began = time.perf_counter()
        call()
        self._pending.append((layer, label, op, payload_bytes, (time.perf_counter() - began) * 1e3, None))

    def all_reduce(self, tensor: torch.Tensor, layer: int, label: str) -> torch.Tensor:
        """The sum over ranks, in place (every rank ends with the same values)."""
        self._timed(layer, label, "all_reduce", tensor.nbytes, tensor,
                    lambda: dist.all_reduce(tensor, group=self.group))
        return tensor

    def all_to_all(self, output: torch.Tensor, tensor: torch.Tensor, output_splits: list[int] | None,
                   input_splits: list[int] | None, layer: int, label: str) -> torch.Tensor:
        """Rows of `tensor` in consecutive blocks, input_splits[r] of them to rank r; the
        blocks received, output_splits[r] from rank r, in rank order into `output`. None: equal
        blocks."""
        self._timed(layer, label, "all_to_all", tensor.nbytes, tensor,
                    lambda: dist.all_to_all_single(output, tensor, output_splits, input_splits, group=self.group))
        return output

    def all_gather(self, tensor: torch.Tensor, layer: int, label: str) -> torch.Tensor:
        """Every rank's `tensor` (all of one shape), concatenated in rank order along dim 0."""
        parts = [torch.empty_like(tensor) for _ in range(self.world_size)]
        self._timed(layer, label, "all_gather", tensor.nbytes, tensor,
                    lambda: dist.all_gather(parts, tensor.contiguous(), group=self.group))
        return torch.cat(parts)

    def take(self) -> list[CollectiveRecord]:
        """The collectives since the last call, in the order they ran, then forget them."""
        records = []
        for layer, label, op, payload_bytes, start, end in self._pending:
            if end is None:  # timed on the host already
                ms = start
            else:
                end.synchronize()
                ms = start.elapsed_time(end)
            records.append(CollectiveRecord(layer, label, op, payload_bytes, float(ms)))
        self._pending.clear()
        return records
