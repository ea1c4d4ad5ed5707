"""The fast execution mode: a decode step compiled whole, with the probe's marks inside it.

In eager mode every op of a one-token step is dispatched from Python; for a small model on
the CPU that is a third of the step. The fast mode compiles the decode step (embedding,
every block, the head) with torch.compile once per model, and the profiler still sees each
layer: the blocks' marks become ops of the graph (probe.graph_mark) between kernels, whose
times reach the step's observer. The prefill stays eager -- it runs once, over many tokens, and
is bound by arithmetic, not by dispatch.

Compiling takes seconds to a minute and happens before a run touches its own cache: a
scratch cache of the run's batch and capacity takes two decode steps, so the graph is
built (shapes that grow with the context, such as the cache's visible length, are traced
as symbols, so one graph serves every step and every later run). A run's own steps never
compile: one that no prepared graph serves raises NeedsAnotherGraph before it runs, and the
run goes on eagerly (app/runtime/session.py) rather than stall. A part the compiler
cannot take (an op with a host read, such as the loop over experts) runs eagerly between
compiled parts; `CompiledDecode.eager_parts` names why. Where compiling fails altogether
(no C++ compiler for the CPU backend, say) the run goes on in eager mode and says why.
"""

from __future__ import annotations

import re
import time
import types
from typing import Callable

import torch

from ..model.cache import SlidingWindowCache
from .probe import deliver_recorded_marks, marks_from_graph

RECOMPILE_LIMIT = 64  # compiled steps of one model (batch x probe on/off x cache kinds x table sizes)
_compiled_so_far = 0  # names each model's step function apart in compile logs and profiles


class NeedsAnotherGraph(RuntimeError):
    """A step of a run needed a graph prepare() did not compile: raised before the step
    runs (its cache untouched), so the caller can take that step, and the rest, eagerly
    rather than stall for a compile in the middle of the run."""


class CompiledDecode:
    """model's one-token step, compiled; call it as the model: (ids [B, 1], cache, observer)."""

    def __init__(self, model: torch.nn.Module):
        global _compiled_so_far
        # Past the recompile limit (8 by default) a step would silently run eagerly: a
        # higher limit, and an error rather than silence when it is reached.
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
        torch._dynamo.config.fail_on_recompile_limit_hit = True
        # A model's Python floats (norm eps, attention scale, soft-caps: 150 of them in
        # SmolLM2) are constants of its graph, not symbols: as symbols each one was a
        # Python-evaluated guard before every step, 150 us of a 6.5 ms low-bit SmolLM2 step
        # (2-core EPYC). None changes from step to step (test_fast_mode asserts that no step
        # recompiles); one that did would need another graph, which a run's step refuses
        # (NeedsAnotherGraph: the run goes on eagerly), so it could stall or mislead no run.
        torch._dynamo.config.specialize_float = True
        self.model = model
        _compiled_so_far += 1
        # dynamic=True: trace sizes as symbols from the first compile, so the cache's
        # length, which grows every step, never forces a second one.
        # freezing: the weights become constants of the compiled step instead of inputs that
        # every call checks and passes (a low-bit SmolLM2 step: 62 inputs, not 486). Sound for
        # a run's model, whose weights never change (a new load is a new Session), and the
        # step function is this model's own (below), so no other model is served this one's
        # graph. Without weight_prepack: a packed second copy of each float matrix would
        # double the weights' memory. Without size and alignment asserts: the generated code
        # checked each kernel's output against its shape rule, 700 Python calls a step that
        # test_fast_mode's logits comparisons make redundant.
        # cpp_wrapper: the generated code that calls the step's kernels is C++, not Python: a
        # float32 SmolLM2 step's own time outside its kernels 1.07 ms instead of 2.2 (about
        # 5% of the step; torch.profiler, 2-core EPYC), for a first compile about a quarter
        # longer (71 s against 56 s with an empty compile cache).
        # guard_filter_fn: before each call torch checks that everything the graph was traced
        # from is unchanged -- for SmolLM2 some 4,000 module attributes, 2.5 of a 12 ms step
        # on a 2-core EPYC. A model's modules keep their attributes once built, except those
        # they declare in RUN_STATE (routing being recorded, rotary tables grown for a longer
        # context); only those, and the step's inputs, stay guarded.
        self._step = torch.compile(_own_step_function(f"decode_step_{_compiled_so_far}"), dynamic=True,
                                   options={"freezing": True, "cpp_wrapper": True, "cpp.weight_prepack": False,
                                            "size_asserts": False, "alignment_asserts": False,
                                            "guard_filter_fn": _guards_on_inputs_and(_run_state(model))})
        self.ready: set[tuple] = set()  # (batch, capacity, observer type) already compiled
        self.eager_parts: list[str] = []  # why parts of the step run outside the graph

    def __call__(self, input_ids: torch.Tensor, cache, observer) -> torch.Tensor:
        """One step with the graphs prepare() made; raises NeedsAnotherGraph, before the step
        runs, where none serves it (a cache whose structure changes as it fills, such as
        DeepSeek V4's pooled one, which grows by concatenation)."""
        try:
            with torch.compiler.set_stance("fail_on_recompile"):
                return self.run_compiling_as_needed(input_ids, cache, observer)
        except RuntimeError as error:
            if "fail_on_recompile" not in str(error):
                raise
            # the first failed guard, without the source line torch quotes after it
            failed = [line.strip(" -").split("  #")[0].strip() for line in str(error).splitlines()[2:3]]
            raise NeedsAnotherGraph(f"the step at position {cache.position} needs a graph of its own"
                                    + "".join(f" ({guard[:200]})" for guard in failed if guard)) from None

    def run_compiling_as_needed(self, input_ids: torch.Tensor, cache, observer) -> torch.Tensor:
        """One step, compiling a graph first where none serves it (seconds to minutes)."""
        # no_grad: frozen weights need it when compiling, and grad mode is guarded
        with marks_from_graph(observer), torch.no_grad():
            try:
                logits = self._step(self.model, input_ids, cache, observer)
            except BaseException:
                deliver_recorded_marks(None)  # a failed step's marks are no one's
                raise
        deliver_recorded_marks(observer)
        return logits

    def prepare(self, batch: int, capacity: int, observer, progress: Callable[[str], None] | None = None) -> float:
        """Make sure the step is compiled for a run of this batch and cache capacity: two
        decode steps on a scratch cache (two more past the sliding window, where the run will
        fill one), freed before the run makes its own (skipped for a
        batch and capacity done before). Returns the seconds spent compiling (0 when a
        graph made earlier served: sizes are symbols, so a new capacity rarely needs one);
        raises what compiling raised, or NeedsAnotherGraph at once for a model with a layer
        that says no single graph serves its steps (NO_SINGLE_GRAPH)."""
        if (batch, capacity, type(observer)) in self.ready:
            return 0.0
        refusals = sorted({module.NO_SINGLE_GRAPH for module in self.model.modules()
                           if hasattr(module, "NO_SINGLE_GRAPH")})
        if refusals:  # said before minutes of compiling, not found after them
            raise NeedsAnotherGraph(refusals[0])
        if progress is not None and (batch, type(observer)) not in {key[::2] for key in self.ready}:
            progress("Compiling the decode step for fast mode (once per model and batch)")
        start = time.perf_counter()
        breaks_before, graphs_before = _graph_breaks(), compiled_graph_count()
        for table in self.model.rotary_tables().values():
            table.ensure(capacity)  # grown now: a table growing mid-run would change the graph
        # Two steps early in a scratch cache; where a sliding window fills before the run ends,
        # two more past it: once the ring is full a step sees all of it, a contiguous view the
        # first graph was traced without, and compiling that graph mid-run would stall the run.
        early = min(2, capacity - 2)
        full_window = max(self._warm(batch, capacity, early, observer), default=0)
        if full_window > early:
            self._warm(batch, capacity, full_window, observer)
        self.eager_parts = sorted(set(self.eager_parts) | (_graph_breaks() - breaks_before))
        self.ready.add((batch, capacity, type(observer)))
        return time.perf_counter() - start if compiled_graph_count() > graphs_before else 0.0

    def _warm(self, batch: int, capacity: int, past: int, observer) -> set[int]:
        """Two compiled steps on a scratch cache that holds `past` tokens; returns the windows
        of its ring buffers that a run of this capacity fills."""
        device = self.model.device
        scratch = self.model.new_cache(batch, capacity)
        prompt = torch.zeros(batch, past, dtype=torch.long, device=device)
        with torch.no_grad():
            self.model(prompt, cache=scratch, last_only=True)
        token = torch.zeros(batch, 1, dtype=torch.long, device=device)
        # Freezing is decided twice: the option above makes inductor fold what it is given as
        # constants, but only the global flag, read while dynamo traces, makes dynamo give it
        # the weights as such (otherwise they stay graph inputs, passed on every call).
        with torch._inductor.config.patch(freezing=True):
            for _ in range(2):
                self.run_compiling_as_needed(token, scratch, observer)
                if hasattr(observer, "resolve"):
                    observer.resolve()
        return _sliding_windows(scratch, capacity)


def _sliding_windows(cache, capacity: int) -> set[int]:
    """The windows of the cache's ring buffers (a layer's own, or one it holds beside other
    state) that a run of this capacity fills, with two steps to spare after them."""
    rings = [part for layer in cache.layers if layer is not None
             for part in (layer, *getattr(layer, "__dict__", {}).values()) if isinstance(part, SlidingWindowCache)]
    return {ring.window for ring in rings if ring.window + 2 < capacity}


def _step(model, input_ids, cache, observer):
    return model(input_ids, cache=cache, observer=observer)


def _own_step_function(name: str) -> Callable:
    """_step with a code object of its own: torch.compile keeps graphs and their guards on
    the code object, so each model's are apart from every other model's (its weights are
    frozen into them, and its module attributes are not guarded), and are freed with it."""
    code = _step.__code__.replace(co_name=name, co_qualname=name)
    return types.FunctionType(code, _step.__globals__, name)


def _run_state(model: torch.nn.Module) -> set[str]:
    """The attributes the model's modules declare as changing between steps."""
    return {name for module in model.modules() for name in getattr(module, "RUN_STATE", ())}


def _guards_on_inputs_and(run_state: set[str]) -> Callable[[list], list[bool]]:
    """A guard filter keeping every guard except those on module attributes outside run_state."""
    named = re.compile(r"\.(%s)\b" % "|".join(map(re.escape, sorted(run_state)))) if run_state else None

    def keep(entries) -> list[bool]:
        return [not entry.orig_guard.source.is_unspecialized_nn_module()
                or (named is not None and named.search(entry.name) is not None) for entry in entries]

    return keep


def compiled_graph_count() -> int:
    """The graphs torch.compile has made so far in this process: one more after a step
    compiles (or recompiles)."""
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


def _graph_breaks() -> set[str]:
    """The reasons torch.compile has split graphs for, so far in this process (first lines)."""
    from torch._dynamo.utils import counters

    return {reason.strip().splitlines()[0] for reason in counters["graph_break"]}
