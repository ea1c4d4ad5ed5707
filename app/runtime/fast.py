"""The fast execution mode: a decode step compiled whole, with the probe's marks inside it.

In eager mode every op of a one-token step is dispatched from Python; for a small model on
the CPU that is a third of the step. The fast mode compiles the decode step (embedding,
every block, the head) with torch.compile once per model, and the profiler still sees each
layer: the blocks' marks become ops of the graph (probe.graph_mark) that call the step's
observer between kernels. The prefill stays eager -- it runs once, over many tokens, and
is bound by arithmetic, not by dispatch.

Compiling takes seconds to a minute and happens before a run touches its own cache: a
scratch cache of the run's batch and capacity takes two decode steps, so the graph is
built (shapes that grow with the context, such as the cache's visible length, are traced
as symbols, so one graph serves every step and every later run). A part the compiler
cannot take (an op with a host read, such as the loop over experts) runs eagerly between
compiled parts; `CompiledDecode.eager_parts` names why. Where compiling fails altogether
(no C++ compiler for the CPU backend, say) the run goes on in eager mode and says why.
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from ..defaults import EXECUTION_MODES as MODES
from .probe import marks_from_graph

RECOMPILE_LIMIT = 64  # compiled steps of one process (models x batch x probe on/off x cache kinds)


class CompiledDecode:
    """model's one-token step, compiled; call it as the model: (ids [B, 1], cache, observer)."""

    def __init__(self, model: torch.nn.Module):
        # Every model's step is the same function to torch.compile, each compiled for its own
        # model: past the recompile limit (8 by default) a ninth model would silently run
        # eagerly. A higher limit, and an error rather than silence when it is reached.
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
        torch._dynamo.config.fail_on_recompile_limit_hit = True
        self.model = model
        # dynamic=True: trace sizes as symbols from the first compile, so the cache's
        # length, which grows every step, never forces a second one.
        # freezing: the weights become constants of the compiled step instead of inputs that
        # every call checks and passes (a low-bit SmolLM2 step: 62 inputs, not 486). Sound for
        # a run's model, whose weights never change (a new load is a new Session); torch
        # guards each weight's identity, so another model is compiled for, never served this
        # one's. Without weight_prepack: a packed second copy of each float matrix would
        # double the weights' memory. Without size and alignment asserts: the generated code
        # checked each kernel's output against its shape rule, 700 Python calls a step that
        # test_fast_mode's logits comparisons make redundant.
        self._step = torch.compile(self._forward, dynamic=True,
                                   options={"freezing": True, "cpp.weight_prepack": False, "size_asserts": False,
                                            "alignment_asserts": False})
        self.ready: set[tuple] = set()  # (batch, capacity, observer type) already compiled
        self.eager_parts: list[str] = []  # why parts of the step run outside the graph

    @staticmethod
    def _forward(model, input_ids, cache, observer):
        return model(input_ids, cache=cache, observer=observer)

    def __call__(self, input_ids: torch.Tensor, cache, observer) -> torch.Tensor:
        # no_grad: frozen weights need it when compiling, and grad mode is guarded
        with marks_from_graph(observer), torch.no_grad():
            return self._step(self.model, input_ids, cache, observer)

    def prepare(self, batch: int, capacity: int, observer, progress: Callable[[str], None] | None = None) -> float:
        """Make sure the step is compiled for a run of this batch and cache capacity: two
        decode steps on a scratch cache, freed before the run makes its own (skipped for a
        batch and capacity done before). Returns the seconds spent compiling (0 when a
        graph made earlier served: sizes are symbols, so a new capacity rarely needs one);
        raises what compiling raised."""
        if (batch, capacity, type(observer)) in self.ready:
            return 0.0
        if progress is not None and (batch, type(observer)) not in {key[::2] for key in self.ready}:
            progress("Compiling the decode step for fast mode (once per model and batch)")
        start = time.perf_counter()
        breaks_before, graphs_before = _graph_breaks(), _compiled_graphs()
        for table in self.model.rotary_tables().values():
            table.ensure(capacity)  # grown now: a table growing mid-run would change the graph
        device = self.model.device
        scratch = self.model.new_cache(batch, capacity)
        prompt = torch.zeros(batch, min(2, capacity - 2), dtype=torch.long, device=device)
        with torch.no_grad():
            self.model(prompt, cache=scratch, last_only=True)
        token = torch.zeros(batch, 1, dtype=torch.long, device=device)
        for _ in range(2):
            self(token, scratch, observer)
            if hasattr(observer, "resolve"):
                observer.resolve()
        del scratch
        self.eager_parts = sorted(set(self.eager_parts) | (_graph_breaks() - breaks_before))
        self.ready.add((batch, capacity, type(observer)))
        return time.perf_counter() - start if _compiled_graphs() > graphs_before else 0.0


def _compiled_graphs() -> int:
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


def _graph_breaks() -> set[str]:
    """The reasons torch.compile has split graphs for, so far in this process (first lines)."""
    from torch._dynamo.utils import counters

    return {reason.strip().splitlines()[0] for reason in counters["graph_break"]}
