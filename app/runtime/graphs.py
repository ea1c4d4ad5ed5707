"""The fast mode on a GPU: the decode step captured once per run in a CUDA graph, replayed
every step, with the probe's events captured inside it.

A decode step of a small model on a GPU is bound by the host launching its few hundred
kernels, not by the memory they read (a bfloat16 Qwen3 0.6B step reached about 2% of an
H200's bandwidth eagerly). A graph launches them all at once. What makes one graph serve
every step is the replayable step of the model (`position=` in the decoder's forward): the
token's position is a device tensor, the caches are written there and read whole under a
mask, so nothing the host computes changes from one step to the next. The step's inputs
(token ids, position) are copied into fixed tensors before each replay, and the logits come
back in a fixed tensor.

The probe's marks are CUDA events (probe.LayerTimer); recorded during the capture they
become nodes of the graph, so every replay times each layer, its mixer and feed-forward,
and the head, from inside the graph, with no host work between layers.

The graph holds the addresses of the run's own cache, so it is captured after the cache is
made and before the prefill: two warm-up steps and the capture write into it, and it is
reset afterwards. A step that cannot be captured (an op that reads the device from the
host, say) raises here; the run then goes on eagerly and says why.
"""

from __future__ import annotations

import contextlib
import time

import torch

WARMUP_STEPS = 2  # lazy initialization (cuBLAS handles, workspaces) happens before a capture


class CaptureError(RuntimeError):
    """The step could not be captured; the message names the first cause."""


class GraphDecode:
    """model's one-token step as a CUDA graph; call it as the model: (ids [B, 1], cache, observer)."""

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.eager_parts: list[str] = []  # the whole step is captured, or the run is eager
        self.release()

    def prepare(self, batch: int, capacity: int, observer, progress=None) -> float:
        return 0.0  # nothing before the run's cache exists: capture() does the work

    def release(self) -> None:
        """Let go of the last run's graph, cache and probe (their memory goes back to torch)."""
        self._graph = self._cache = self._observer = self._logits = None
        self._ids = self._position = None

    @torch.no_grad()
    def capture(self, batch: int, cache, observer) -> float:
        """Capture the step for `batch` rows over this run's cache and observer (its marks
        inside the graph), then empty the cache again. Returns the seconds it took; raises
        CaptureError naming the cause where the step cannot be captured."""
        self.release()
        start = time.perf_counter()
        model = self.model
        device = model.device
        for table in model.rotary_tables().values():
            table.ensure(cache.max_len)  # read on the device from now on: it cannot grow mid-run
        ids = torch.zeros(batch, 1, dtype=torch.long, device=device)
        position = torch.zeros(1, dtype=torch.long, device=device)
        caller = torch.cuda.current_stream(device)
        stream = torch.cuda.Stream(device)
        stream.wait_stream(caller)
        try:
            with torch.cuda.stream(stream):
                for _ in range(WARMUP_STEPS):
                    model(ids, cache=cache, position=position)
            graph = torch.cuda.CUDAGraph()
            marks = observer.captured(stream) if hasattr(observer, "captured") else contextlib.nullcontext()
            # thread_local: the window's own thread may touch CUDA meanwhile
            with torch.cuda.graph(graph, stream=stream, capture_error_mode="thread_local"), marks:
                logits = model(ids, cache=cache, observer=observer, position=position)
        except Exception as error:
            # A failed capture can leave its stream current (torch ends the capture first,
            # and that raises); and the error of ending it hides what broke the capture.
            torch.cuda.set_stream(caller)
            root = error.__context__ if isinstance(error.__context__, Exception) else error
            raise CaptureError(f"{type(root).__name__}: {str(root).strip()}") from error
        finally:
            caller.wait_stream(stream)
            cache.reset()  # what the warm-up wrote (recurrent states, window slots) is not the run's
            if hasattr(model, "take_routing_counts"):
                model.take_routing_counts()  # nor are its routes
        self._graph, self._cache, self._observer, self._logits = graph, cache, observer, logits
        self._ids, self._position = ids, position
        return time.perf_counter() - start

    @torch.no_grad()
    def __call__(self, input_ids: torch.Tensor, cache, observer) -> torch.Tensor:
        if self._graph is None or cache is not self._cache or observer is not self._observer:
            raise RuntimeError("the CUDA graph was captured for another run's cache and probe")
        position = cache.position
        if position >= cache.max_len:
            raise ValueError(f"cache holds {cache.max_len} tokens; position {position} does not fit")
        learned = self.model.spec.learned_positions
        if learned and position >= learned:
            raise ValueError(f"position {position} exceeds the {learned} learned positions")
        self._ids.copy_(input_ids)
        self._position.fill_(position)
        self._graph.replay()
        if hasattr(observer, "replayed"):
            observer.replayed()
        cache.advance(position + 1)
        return self._logits  # overwritten by the next replay: read it before
