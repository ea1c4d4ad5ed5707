"""The fast mode: a decode step compiled whole computes what the eager step computes, and
the probe still times every layer from inside the graph."""

import contextlib
import subprocess
import sys
import time

import pytest
import torch

from app.model import build_model, cpu_kernels
from app.runtime.fast import CompiledDecode, NeedsAnotherGraph, compiled_graph_count
from app.runtime.graphs import GraphDecode
from app.runtime.probe import CancelCheck, Cancelled, LayerTimer
from app.runtime.session import RunConfig, Session
from app.runtime.snapshot_file import read_snapshot
from app.spec import catalog


def one_entry_per_family() -> list[str]:
    first = {}
    for entry in catalog.entries():
        first.setdefault(entry.family, entry.slug)
    return list(first.values())


# Families whose one-token step has no replayable form (the position a device tensor), so no
# CUDA graph can replay it, and why; a fast-mode run of them goes on eagerly and says so
NOT_REPLAYABLE = {
    "deepseek-v4-flash": "DeepSeek V4's pooled cache grows as windows close, which the host decides: the step "
                         "has no replayable form yet",
}


def through_every_kind(spec):
    """spec cut after the first layer of its last new kind (a layer pattern's first period),
    two layers at least (one block hands over to the next): every layer kind is compiled,
    in about half the time of the whole depth."""
    first_of_kind = {}
    for index, layer in enumerate(spec.layers):
        first_of_kind.setdefault(layer, index)
    short = spec.with_layers(spec.layers[:max(max(first_of_kind.values()) + 1, 2)])
    return spec if short.validate() else short


# Compiling takes 10-120 s per model on a 2-core machine, so `make test` compiles the
# families whose parts differ most -- learned positions and LayerNorm, sliding windows and
# two rotary tables, chunked attention and NoPE with MoE, MLA with shared experts, Gated
# DeltaNet, Mamba-2, attention sinks -- and `make test-compiled` every family's entry.
EVERY_RUN = {"gpt2-small", "gemma3-270m", "llama4-maverick", "deepseek-v3", "qwen3-next-80b-a3b",
             "nemotron-3-nano-30b-a3b", "gpt-oss-20b", "deepseek-v4-flash"}
# Families the CPU fast mode refuses before compiling (a layer's NO_SINGLE_GRAPH), and why;
# their runs are eager and say so. (Compiled, DeepSeek V4's step needed a new graph at nearly
# every step: at explore scale 213 s for the first two, then another at the run's first step.)
NO_SINGLE_GRAPH = {"deepseek-v4-flash": "DeepSeek V4's pooled cache grows by concatenation"}
# Gemma 3n's activation sparsity keeps the gate values above a cutoff of mean + 1.645 std
# per token: the compiled reduction's last bits move that cutoff, and with it the logits
# by up to 5e-5 after 16 steps (measured: 4.9e-5; every other family within 2.1e-6).
# Gemma 4 scales its QK-normed scores by 1, not 1/sqrt(head_dim): scores as large as the head
# is wide make the softmax sharp, and a step that attends over the whole preallocated buffer
# (masked slots included) sums in another order: up to 1.6e-5 after 16 steps (measured).
TOLERANCE = {"gemma3n-e2b": 1e-4, "gemma4-31b": 5e-5}


@pytest.mark.parametrize("name", [pytest.param(name, marks=() if name in EVERY_RUN else pytest.mark.compile_sweep)
                                  for name in one_entry_per_family()])
def test_fast_logits_equal_eager_for_every_family(name):
    """Prefill, then 16 one-token steps fed the same tokens: the compiled step's logits are
    the eager step's within 1e-5 (float32), with the probe's marks inside the graph."""
    spec = through_every_kind(catalog.get(name, "explore"))
    model = build_model(spec, torch.device("cpu"), torch.float32, seed=0)
    prompt = torch.randint(0, spec.vocab_size, (2, 6), generator=torch.Generator().manual_seed(1))
    # sized as a run sizes its cache: the prompt and 17 new tokens (the prefill's and the 16
    # steps'), the last never fed back, so no step writes the last slot. (A step that does
    # sees the whole buffer as its keys, a contiguous view the graph was not traced for, and
    # compiles once more.)
    capacity = prompt.shape[1] + 17
    if name in NO_SINGLE_GRAPH:  # refused before any compiling, saying why
        with pytest.raises(NeedsAnotherGraph, match=NO_SINGLE_GRAPH[name]):
            CompiledDecode(model).prepare(2, capacity, LayerTimer(spec.num_layers, "cpu"))
        return
    with torch.no_grad():
        fast = CompiledDecode(model)
        fast.prepare(2, capacity, LayerTimer(spec.num_layers, "cpu"))
        assert fast.eager_parts == []  # the whole step is one graph
        graphs = compiled_graph_count()
        eager_cache, fast_cache = model.new_cache(2, capacity), model.new_cache(2, capacity)
        token = model(prompt, cache=eager_cache, last_only=True)[:, -1:].argmax(-1)
        model(prompt, cache=fast_cache, last_only=True)
        for _ in range(16):
            timer = LayerTimer(spec.num_layers, "cpu")
            expected = model(token, cache=eager_cache)
            got = fast(token, fast_cache, timer)
            torch.testing.assert_close(got, expected, rtol=0, atol=TOLERANCE.get(name, 1e-5))
            times = timer.resolve()
            assert len(times.layer_ms) == spec.num_layers and min(times.mixer_ms + times.ffn_ms) >= 0
            assert times.head_ms > 0  # marked inside the graph, after the last block
            token = expected[:, -1:].argmax(-1)
    assert fast_cache.position == eager_cache.position
    assert compiled_graph_count() == graphs  # the graph prepare() made served every step: none recompiled


def test_a_compiled_step_follows_what_its_modules_change_between_steps():
    """The compiled step does not re-check the model's module attributes before each call,
    only those the modules declare as run state: routing recorded after steps that did not
    record it reaches the compiled step (a stale graph would count nothing), and so do
    rotary tables grown for a longer context than the step was compiled for. Such a change
    needs another graph: a run's step refuses it (NeedsAnotherGraph), and compiles it where
    asked to."""
    spec = through_every_kind(catalog.get("qwen3-30b-a3b", "explore"))
    model = build_model(spec, torch.device("cpu"), torch.float32, seed=0)
    no_probe = CancelCheck(lambda: False)
    fast = CompiledDecode(model)
    fast.prepare(1, 40, no_probe)  # compiled while routing is not recorded, tables of 256 positions
    steps = {"eager": lambda ids, cache: model(ids, cache=cache),
             "fast": lambda ids, cache: fast.run_compiling_as_needed(ids, cache, no_probe),
             "run's": lambda ids, cache: fast(ids, cache, no_probe)}

    def one_step(step, prompt_length: int, capacity: int):
        prompt = torch.randint(0, spec.vocab_size, (1, prompt_length), generator=torch.Generator().manual_seed(2))
        for table in model.rotary_tables().values():
            table.ensure(capacity)  # as a run of this capacity does before its first step
        cache = model.new_cache(1, capacity)
        with torch.no_grad():
            model(prompt, cache=cache, last_only=True)
            model.record_routing(True)
            logits = step(torch.full((1, 1), int(prompt[0, -1])), cache)  # laid out as a run's next token
            routes = model.take_routing_counts()
            model.record_routing(False)
        return logits, routes

    with pytest.raises(NeedsAnotherGraph, match="recording == False"):  # before anything ran
        one_step(steps["run's"], 8, 40)
    model.record_routing(False)
    for prompt_length, capacity in ((8, 40), (300, 320)):
        eager_logits, eager_routes = one_step(steps["eager"], prompt_length, capacity)
        fast_logits, fast_routes = one_step(steps["fast"], prompt_length, capacity)
        torch.testing.assert_close(fast_logits, eager_logits, rtol=0, atol=1e-5)
        assert fast_routes == eager_routes
        assert all(sum(routes) == spec.layers[0].ffn.top_k for routes in fast_routes.values())


@pytest.fixture(scope="module")
def session():
    return Session.from_arch("qwen3-0.6b", "explore", device="cpu")


def test_a_fast_run_generates_the_eager_tokens_and_times_each_layer_inside_the_graph(session):
    steps = 12
    eager = session.run(RunConfig(max_new_tokens=steps, stop_at_eos=False))
    messages = []
    fast = session.run(RunConfig(max_new_tokens=steps, stop_at_eos=False, mode="fast"),
                       on_progress=lambda *message: messages.append(message))
    assert fast.run["mode"] == "fast" and eager.run["mode"] == "eager"
    assert [s.tokens for s in fast.steps] == [s.tokens for s in eager.steps]
    assert any("compiled" in note for note in fast.notes)
    assert messages and messages[0][0].startswith("Compiling")
    for step in fast.steps[1:]:
        assert len(step.layer_ms) == session.spec.num_layers and min(step.layer_ms) > 0
        # the parts are inside the step: layers, head and sampling never exceed its wall time
        assert sum(step.layer_ms) + step.head_ms + step.sample_ms <= step.wall_ms
    again = session.run(RunConfig(max_new_tokens=4, stop_at_eos=False, mode="fast"),
                        on_progress=lambda *message: messages.append(message))
    assert len(messages) == 1 and not any("compiled" in note for note in again.notes)  # compiled once


def test_a_fast_run_without_the_probe_and_its_cancel(session):
    run = session.run(RunConfig(max_new_tokens=6, stop_at_eos=False, mode="fast", probe=False))
    assert run.run["mode"] == "fast" and all(not step.layer_ms for step in run.steps)
    checks = []

    def cancelled():
        checks.append(1)
        return len(checks) > session.spec.num_layers + 2  # after the prefill, before a compiled step

    with pytest.raises(Cancelled):
        session.run(RunConfig(max_new_tokens=6, stop_at_eos=False, mode="fast", probe=False), cancelled=cancelled)


def test_a_step_no_prepared_graph_serves_is_refused_before_it_runs(session):
    """A prepared step does not compile in the middle of a run (a stall of a minute and more):
    where no graph serves a step -- here a batch prepare() was not asked for -- it says so
    before anything runs, and the cache is as it was."""
    session.run(RunConfig(max_new_tokens=4, stop_at_eos=False, mode="fast"))  # prepared for batch 1
    model = session.model
    cache = model.new_cache(2, 12)
    model(torch.zeros(2, 3, dtype=torch.long), cache=cache, last_only=True)
    graphs = compiled_graph_count()
    with pytest.raises(NeedsAnotherGraph, match="the step at position 3 needs a graph of its own"):
        session.fast_step(torch.zeros(2, 1, dtype=torch.long), cache, LayerTimer(session.spec.num_layers, "cpu"))
    assert cache.position == 3 and compiled_graph_count() == graphs


def test_a_run_whose_step_needs_another_graph_goes_on_eagerly_and_says_from_where(session, monkeypatch):
    """DeepSeek V4's pooled cache changes its structure as windows close, so its steps keep
    needing new graphs: from the first step no graph serves, the run is eager -- the same
    tokens -- and a note says from which step and why."""
    eager = session.run(RunConfig(max_new_tokens=8, stop_at_eos=False))
    calls = []
    compiled = CompiledDecode.__call__

    def from_the_fourth(self, input_ids, cache, observer):
        calls.append(cache.position)
        if len(calls) >= 4:
            raise NeedsAnotherGraph(f"the step at position {cache.position} needs a graph of its own")
        return compiled(self, input_ids, cache, observer)

    monkeypatch.setattr(CompiledDecode, "__call__", from_the_fourth)
    snapshot = session.run(RunConfig(max_new_tokens=8, stop_at_eos=False, mode="fast"))
    assert [step.tokens for step in snapshot.steps] == [step.tokens for step in eager.steps]
    assert len(calls) == 4  # the rest of the run does not try the compiled step again
    assert snapshot.run["mode"] == "eager"
    assert any(note.startswith("fast mode: from step 4 on the run is eager: the step at position")
               for note in snapshot.notes)
    assert all(len(step.layer_ms) == session.spec.num_layers for step in snapshot.steps)


def test_a_fast_run_of_deepseek_v4_is_eager_and_says_why_without_compiling():
    session = Session.from_arch("deepseek-v4-flash", "explore", device="cpu")
    graphs = compiled_graph_count()
    snapshot = session.run(RunConfig(max_new_tokens=3, stop_at_eos=False, mode="fast"))
    assert snapshot.run["mode"] == "eager" and compiled_graph_count() == graphs
    assert any(note.startswith("fast mode unavailable, this run is eager: NeedsAnotherGraph: DeepSeek V4's pooled "
                               "cache grows by concatenation") for note in snapshot.notes)


def test_a_compiler_failure_runs_eagerly_and_says_why(monkeypatch):
    session = Session.from_arch("smollm2-135m", "explore", device="cpu")

    def fails(self, *args, **kwargs):
        raise RuntimeError("no C++ compiler found\nsecond line")

    monkeypatch.setattr(CompiledDecode, "prepare", fails)
    snapshot = session.run(RunConfig(max_new_tokens=3, mode="fast"))
    assert snapshot.run["mode"] == "eager"
    assert "fast mode unavailable, this run is eager: RuntimeError: no C++ compiler found" in snapshot.notes


class _HostStream:
    """Stands in for a CUDA stream, so the capture's warm-up runs on the CPU."""

    def wait_stream(self, other):
        pass


def test_a_step_that_cannot_be_captured_in_a_cuda_graph_runs_eagerly_with_its_cache_intact(monkeypatch):
    """The GPU's fast mode captures over the run's own cache, after warm-up steps that write
    into it; where the capture then fails the run is eager, says why, and its cache holds
    nothing of the warm-up (recurrent states zeroed, window slots emptied)."""
    session = Session.from_arch("qwen3-next-80b-a3b", "explore", device="cpu")  # recurrent states too
    eager = session.run(RunConfig(max_new_tokens=4, stop_at_eos=False))
    session.fast_step = GraphDecode(session.model)  # what a GPU session makes
    monkeypatch.setattr(torch.cuda, "Stream", lambda device=None: _HostStream())
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: _HostStream())
    monkeypatch.setattr(torch.cuda, "stream", lambda stream: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "set_stream", lambda stream: None)

    def capture_fails():
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(torch.cuda, "CUDAGraph", capture_fails)
    snapshot = session.run(RunConfig(max_new_tokens=4, stop_at_eos=False, mode="fast"))
    assert snapshot.run["mode"] == "eager"
    assert "fast mode unavailable, this run is eager: CaptureError: RuntimeError: operation not permitted when " \
           "stream is capturing" in snapshot.notes
    assert [step.tokens for step in snapshot.steps] == [step.tokens for step in eager.steps]


def test_a_cuda_graph_refuses_another_runs_cache():
    model = Session.from_arch("qwen3-0.6b", "explore", device="cpu").model
    with pytest.raises(RuntimeError, match="another run's cache"):
        GraphDecode(model)(torch.zeros(1, 1, dtype=torch.long), model.new_cache(1, 4), None)


def test_an_unknown_mode_is_refused_by_name():
    with pytest.raises(ValueError, match="mode 'turbo'"):
        RunConfig(mode="turbo")


class MarkObserver:
    def __init__(self):
        self.seen = []

    def mark(self, layer, point, at=None):
        self.seen.append((layer, point, at))


@pytest.mark.skipif(not cpu_kernels.loaded(), reason="our CPU kernels cannot be built here")
def test_cpu_graph_marks_are_recorded_in_the_step_and_handed_over_after_it():
    """On the CPU a mark op records its time in C++ (on time.perf_counter's clock, so the
    sampling, marked in Python after the step, is timed against it) and returns a copy that
    what follows reads (so a compiler keeps it between the kernels it separates); the
    observer gets the step's marks, in order, once it is done."""
    from app.runtime.probe import deliver_recorded_marks, graph_mark

    observer = MarkObserver()
    x = torch.ones(3)
    before = time.perf_counter()
    y = graph_mark(x, 2, "mixer")
    graph_mark(y, 2, "ffn")
    after = time.perf_counter()
    assert torch.equal(x, y) and y.data_ptr() != x.data_ptr()
    deliver_recorded_marks(observer)
    (mixer, ffn) = observer.seen
    assert mixer[:2] == (2, "mixer") and ffn[:2] == (2, "ffn") and before <= mixer[2] <= ffn[2] <= after
    deliver_recorded_marks(observer)  # each mark is handed over once
    assert len(observer.seen) == 2


def test_a_timer_takes_a_steps_recorded_marks_as_it_takes_them_one_by_one():
    """The step's records go to LayerTimer in one call (take_recorded): the same layer,
    mixer, feed-forward, head and sampling times as marking each in turn would give."""
    from app.runtime.probe import LayerTimer, POINTS, CLOSING

    layers = 3
    records = [[0, 0, 10.0]]
    for layer in range(layers):
        records += [[layer, 1, 10.0 + 3 * layer + 1], [layer, 2, 10.0 + 3 * layer + 2.5]]
    records.append([layers, len(POINTS) + CLOSING.index("head"), 20.0])
    one_by_one, at_once = LayerTimer(layers, "cpu"), LayerTimer(layers, "cpu")
    for layer, point, seconds in records:
        one_by_one.mark(layer, (POINTS + CLOSING)[point], at=seconds)
    at_once.take_recorded(records)
    for timer in (one_by_one, at_once):
        timer.mark(layers, "sample", at=20.5)
    times = at_once.resolve()
    assert times == one_by_one.resolve()
    assert times.mixer_ms == [1000.0, 1500.0, 1500.0] and times.ffn_ms == [1500.0] * 3
    assert times.head_ms == 1500.0 and times.sample_ms == 500.0


def test_graph_marks_call_back_where_they_cannot_be_recorded_in_cpp():
    """In a CUDA graph, or on a machine without our kernels, the mark op hands each mark to
    the observer of the step running on this thread as it is made, and returns a copy."""
    from app.runtime.probe import marks_from_graph

    observer = MarkObserver()
    x = torch.ones(3)
    with marks_from_graph(observer):
        y = torch.ops.archscope.mark.default(x, 2, 1)
    assert observer.seen == [(2, "mixer", None)] and torch.equal(x, y) and y.data_ptr() != x.data_ptr()
    torch.ops.archscope.mark.default(x, 2, 2)  # no observer running: nothing is told
    assert observer.seen == [(2, "mixer", None)]
    assert CancelCheck(lambda: False).mark_in_graph(x, 0, "start") is x


def test_cli_mode_fast_is_recorded_in_the_snapshot(tmp_path):
    out = tmp_path / "run.json"
    result = subprocess.run([sys.executable, "-m", "app", "profile", "--arch", "smollm2-135m", "--device", "cpu",
                             "--max-new-tokens", "4", "--ignore-eos", "--mode", "fast", "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert read_snapshot(out)["run"]["mode"] == "fast"  # read back through the schema check
