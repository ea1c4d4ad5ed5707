"""The CUDA paths, on a GPU: event timing, allocator and NVML memory, and every catalog
architecture computing on the GPU what it computes on the CPU. Skipped where torch sees no
GPU (CI); `bench/gpu_check.sh` runs them on a device machine."""

import pytest
import torch

from app.model import build_model
from app.runtime.graphs import GraphDecode
from app.runtime.probe import LayerTimer
from app.runtime.session import RunConfig, Session
from app.spec import catalog

from .test_fast_mode import NOT_REPLAYABLE as NOT_CAPTURED, TOLERANCE, one_entry_per_family

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_layer_times_are_gpu_time_not_launch_time():
    # A kernel that spins on the GPU returns at once on the host: only events see its time.
    timer = LayerTimer(2, "cuda")
    for layer, spin_cycles in ((0, 20_000_000), (1, 0)):
        timer.mark(layer, "start")
        if spin_cycles:
            torch.cuda._sleep(spin_cycles)
        timer.mark(layer, "mixer")
        timer.mark(layer, "ffn")
    times = timer.resolve()
    assert times.mixer_ms[0] > 5  # 20M cycles at 2 GHz or less
    assert times.mixer_ms[1] < 1 and times.ffn_ms[0] < 1


def test_the_head_and_the_sampling_are_gpu_time_after_the_last_layer():
    timer = LayerTimer(1, "cuda")
    timer.mark(0, "start")
    timer.mark(0, "mixer")
    timer.mark(0, "ffn")
    torch.cuda._sleep(20_000_000)  # the "head": GPU time the host does not wait for
    timer.mark(1, "head")
    timer.mark(1, "sample")
    times = timer.resolve()
    assert times.head_ms > 5 and times.sample_ms < 1


def test_a_run_on_the_gpu_reports_its_memory_and_per_layer_time():
    session = Session.from_arch("qwen3-0.6b", "explore", device="cuda")
    snapshot = session.run(RunConfig(max_new_tokens=8, stop_at_eos=False))
    weight_bytes = sum(p.numel() * p.element_size() for p in session.model.parameters())
    assert snapshot.hardware["cuda"] and snapshot.hardware["gpu_memory_total"] > 0
    assert len(snapshot.steps) == 8
    for step in snapshot.steps:
        memory = step.memory
        assert memory["allocated"] >= weight_bytes
        assert memory["reserved"] >= memory["allocated"]
        assert memory["device_used"] >= memory["reserved"]  # NVML: the whole device, this context included
        assert len(step.layer_ms) == session.spec.num_layers and min(step.layer_ms) > 0
        assert step.head_ms > 0 and step.sample_ms > 0
        assert sum(step.layer_ms) + step.head_ms + step.sample_ms <= step.wall_ms
        assert step.kv_bytes == step.kv_bytes_predicted


def test_probe_off_runs_have_no_layer_times_on_the_gpu():
    session = Session.from_arch("qwen3-0.6b", "explore", device="cuda")
    snapshot = session.run(RunConfig(max_new_tokens=4, probe=False, stop_at_eos=False))
    assert [step.layer_ms for step in snapshot.steps] == [[]] * 4
    assert snapshot.summary()["decode_tokens_per_s"] > 0


@pytest.mark.parametrize("name", catalog.names())
@torch.no_grad()
def test_the_gpu_computes_what_the_cpu_computes(name):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    spec = catalog.get(name, "explore")
    prompt = torch.randint(0, spec.vocab_size, (1, 24), generator=torch.Generator().manual_seed(0))
    logits = {}
    for device in ("cpu", "cuda"):
        model = build_model(spec, device, seed=5)  # the same weights whatever the device
        cache = model.new_cache(1, 32)
        steps = [model(prompt.to(device), cache=cache)[:, -1]]
        for token in (3, 7, 11, 13):
            steps.append(model(torch.tensor([[token]], device=device), cache=cache)[:, -1])
        logits[device] = torch.cat(steps).float().cpu()
    torch.testing.assert_close(logits["cuda"], logits["cpu"], atol=2e-4, rtol=1e-3)


def test_half_precision_decode_builds_no_attention_plan_per_step():
    # cuDNN attention plans per key length; each decode step would pay for one (see attention.py).
    session = Session.from_arch("qwen3-0.6b", "explore", device="cuda", dtype="bfloat16")
    snapshot = session.run(RunConfig(max_new_tokens=12, stop_at_eos=False))
    assert not torch.backends.cuda.cudnn_sdp_enabled()
    first_layer = [step.layer_ms[0] for step in snapshot.steps[2:]]
    other_layers = [max(step.layer_ms[1:]) for step in snapshot.steps[2:]]
    # The same work in every layer: the first one has no plan to build, so it is not the outlier
    # it was (30+ ms against under 1 ms). A ratio within one run, not a time limit.
    assert sorted(first_layer)[len(first_layer) // 2] < 5 * sorted(other_layers)[len(other_layers) // 2]


@torch.no_grad()
def test_bfloat16_experts_run_as_a_grouped_gemm_that_matches_the_loop():
    from app.model.experts import RoutedExperts
    from app.spec.ffn import MLP

    torch.manual_seed(0)
    experts = RoutedExperts(num_experts=8, spec=MLP(intermediate_size=64), d_model=128).to("cuda", torch.bfloat16)
    for parameter in experts.parameters():
        torch.nn.init.normal_(parameter, std=0.1)
    tokens = torch.randn(6, 128, device="cuda", dtype=torch.bfloat16)
    indices = torch.randint(0, 7, (6, 2), device="cuda")  # expert 7 gets no token
    weights = torch.rand(6, 2, device="cuda")
    counts = torch.bincount(indices.reshape(-1), minlength=8)
    assert experts._grouped_gemm_fits(tokens)
    grouped = experts(tokens, indices, weights, counts)
    experts.dispatch = "loop"
    loop = experts(tokens, indices, weights, counts)
    torch.testing.assert_close(grouped, loop, rtol=2e-2, atol=2e-2)


@torch.no_grad()
def test_a_bfloat16_moe_decode_step_never_waits_for_the_host():
    # The loop over experts read the slice bounds on the host once per MoE layer; the
    # grouped GEMM keeps them on the GPU. Routing recording off, as a step without the profiler.
    model = build_model(catalog.get("deepseek-v3", "explore"), "cuda", torch.bfloat16, seed=5)
    cache = model.new_cache(1, 32)
    model(torch.randint(0, 100, (1, 8), device="cuda"), cache=cache)
    token = torch.tensor([[3]], device="cuda")
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        model(token, cache=cache)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("name", ["qwen3-0.6b", "gemma3-1b", "deepseek-v3", "qwen3-next-80b-a3b"])
def test_the_fast_mode_on_the_gpu_generates_the_eager_tokens_with_per_layer_times(name):
    """The decode step as a CUDA graph: the eager run's tokens, and per-layer times from
    events captured inside the graph."""
    session = Session.from_arch(name, "explore", device="cuda")
    eager = session.run(RunConfig(max_new_tokens=16, stop_at_eos=False))
    fast = session.run(RunConfig(max_new_tokens=16, stop_at_eos=False, mode="fast"))
    assert fast.run["mode"] == "fast", fast.notes
    assert any("captured in a CUDA graph" in note for note in fast.notes)
    # MoE routes counted by the replays, as the eager steps counted them
    assert [step.routing for step in fast.steps] == [step.routing for step in eager.steps]
    assert [step.tokens for step in fast.steps] == [step.tokens for step in eager.steps]
    for step in fast.steps[1:]:
        assert len(step.layer_ms) == session.spec.num_layers and min(step.layer_ms) > 0
        assert sum(step.layer_ms) + step.head_ms + step.sample_ms <= step.wall_ms



@pytest.mark.parametrize("name", [name for name in one_entry_per_family()
                                  if catalog.get(name, "explore").vision is None and name not in NOT_CAPTURED])
@torch.no_grad()
def test_a_cuda_graph_of_the_step_computes_the_eager_step_for_every_family(name):
    """Prefill, then 16 steps replayed from one graph captured before the prefill: the
    eager step's logits within 1e-5 (float32), and every layer timed by the events the
    capture put inside the graph."""
    spec = catalog.get(name, "explore")
    model = build_model(spec, "cuda", torch.float32, seed=0)
    prompt = torch.randint(0, spec.vocab_size, (2, 6), generator=torch.Generator().manual_seed(1)).cuda()
    capacity = prompt.shape[1] + 16
    reference, replayed = model.new_cache(2, capacity), model.new_cache(2, capacity)
    timer = LayerTimer(spec.num_layers, "cuda")
    graph = GraphDecode(model)
    graph.capture(2, replayed, timer)
    token = model(prompt, cache=reference, last_only=True)[:, -1:].argmax(-1)
    # a chunked prefill: an earlier chunk marks no head, and is timed without one
    model(prompt[:, :3], cache=replayed, observer=timer, head=False)
    assert timer.resolve().head_ms == 0.0
    model(prompt[:, 3:], cache=replayed, last_only=True, observer=timer)
    timer.resolve()
    for _ in range(16):
        expected = model(token, cache=reference)
        got = graph(token, replayed, timer)
        torch.testing.assert_close(got, expected, rtol=0, atol=TOLERANCE.get(name, 1e-5))
        timer.mark(spec.num_layers, "sample")
        times = timer.resolve()
        assert len(times.layer_ms) == spec.num_layers and min(times.mixer_ms + times.ffn_ms) > 0
        assert times.head_ms > 0 and times.sample_ms >= 0
        token = expected[:, -1:].argmax(-1)
    assert replayed.layer_nbytes() == reference.layer_nbytes()


@pytest.mark.parametrize("name", sorted(NOT_CAPTURED))
@torch.no_grad()
def test_a_step_that_cannot_be_captured_says_why(name):
    from app.runtime.graphs import CaptureError

    spec = catalog.get(name, "explore")
    model = build_model(spec, "cuda", torch.float32, seed=0)
    with pytest.raises(CaptureError, match="replayable"):
        GraphDecode(model).capture(2, model.new_cache(2, 16), LayerTimer(spec.num_layers, "cuda"))
