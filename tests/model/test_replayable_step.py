"""The replayable decode step, which the fast mode captures once in a CUDA graph and replays
at every position: on the CPU it computes what the ordinary step computes, and nothing the
host does depends on the position -- what a graph needs, checked where no GPU is."""

import pytest
import torch

from app.model import build_model
from app.spec import catalog

from ..runtime.test_fast_mode import NOT_REPLAYABLE, TOLERANCE, one_entry_per_family


def _prefilled(model, spec, capacity, batch=2, prompt_len=6):
    prompt = torch.randint(0, spec.vocab_size, (batch, prompt_len), generator=torch.Generator().manual_seed(1))
    reference, replayed = model.new_cache(batch, capacity), model.new_cache(batch, capacity)
    token = model(prompt, cache=reference, last_only=True)[:, -1:].argmax(-1)
    model(prompt, cache=replayed, last_only=True)
    for table in model.rotary_tables().values():
        table.ensure(capacity)
    return token, reference, replayed


@pytest.mark.parametrize("name", [name for name in one_entry_per_family()
                                  if catalog.get(name, "explore").vision is None and name not in NOT_REPLAYABLE])
def test_replayable_step_equals_the_ordinary_step_for_every_family(name):
    """Prefill, then 16 steps: one at a host position, one at a device position over the
    whole cache buffer (slots not yet written masked, sliding windows and latent caches
    too). Window rings wrap within the steps for the families that have them."""
    spec = catalog.get(name, "explore")
    model = build_model(spec, torch.device("cpu"), torch.float32, seed=0)
    capacity = 6 + 16
    with torch.no_grad():
        token, reference, replayed = _prefilled(model, spec, capacity)
        position = torch.zeros(1, dtype=torch.long)
        for _ in range(16):
            expected = model(token, cache=reference)
            position.fill_(replayed.position)
            got = model(token, cache=replayed, position=position)
            replayed.advance(replayed.position + 1)
            torch.testing.assert_close(got, expected, rtol=0, atol=TOLERANCE.get(name, 1e-5))
            token = expected[:, -1:].argmax(-1)
    assert replayed.layer_nbytes() == reference.layer_nbytes()  # the host's account kept by advance


@pytest.mark.parametrize("name", sorted(NOT_REPLAYABLE))
def test_a_family_without_a_replayable_step_says_so(name):
    spec = catalog.get(name, "explore")
    model = build_model(spec, torch.device("cpu"), torch.float32, seed=0)
    with torch.no_grad():
        token, _, replayed = _prefilled(model, spec, 6 + 4)
        with pytest.raises(NotImplementedError, match="replayable"):
            model(token, cache=replayed, position=torch.tensor([replayed.position]))


# Compiling takes 15-90 s a model here: `make test` traces a sliding window and a hybrid
# with MoE; `make test-compiled` adds DeepSeek V3.2's sparse attention.
@pytest.mark.parametrize("name", ["gemma3-270m", pytest.param("deepseek-v3.2", marks=pytest.mark.compile_sweep),
                                  "qwen3-next-80b-a3b"])
def test_one_trace_of_the_replayable_step_serves_every_position(name):
    """Compiled whole (no graph break: no host read of a device value) with static shapes,
    the step compiles once for 12 positions: nothing on the host changes between them, so
    one CUDA graph can replay them all. Sliding windows (Gemma 3), sparse attention's top-k
    over latents (DeepSeek V3.2), recurrent states and MoE (Qwen3-Next)."""
    from torch._dynamo.utils import counters

    spec = catalog.get(name, "explore")
    model = build_model(spec, torch.device("cpu"), torch.float32, seed=0)
    capacity = 6 + 12
    torch._dynamo.reset()
    step = torch.compile(lambda ids, cache, position: model(ids, cache=cache, position=position),
                         dynamic=False, fullgraph=True)
    with torch.no_grad():
        token, reference, replayed = _prefilled(model, spec, capacity)
        position = torch.zeros(1, dtype=torch.long)
        frames_before = counters["stats"]["unique_graphs"]
        for _ in range(12):
            expected = model(token, cache=reference)
            position.fill_(replayed.position)
            got = step(token, replayed, position)
            replayed.advance(replayed.position + 1)
            torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
            token = expected[:, -1:].argmax(-1)
    assert counters["stats"]["unique_graphs"] - frames_before == 1


def test_a_replayable_step_refuses_a_prompt():
    spec = catalog.get("qwen3-0.6b", "explore")
    model = build_model(spec, torch.device("cpu"), torch.float32, seed=0)
    with pytest.raises(ValueError, match="one token per row"):
        model(torch.zeros(1, 3, dtype=torch.long), cache=model.new_cache(1, 8), position=torch.zeros(1, dtype=torch.long))


def test_reset_empties_a_cache_as_made():
    """The graph's warm-up steps write into the run's cache; reset leaves it as new."""
    spec = catalog.get("qwen3-next-80b-a3b", "explore")  # Gated DeltaNet states beside a KV cache
    model = build_model(spec, torch.device("cpu"), torch.float32, seed=0)
    cache = model.new_cache(1, 8)
    fresh = model(torch.tensor([[1, 2]]), cache=model.new_cache(1, 8), last_only=True)
    model(torch.tensor([[3, 4, 5]]), cache=cache)
    cache.reset()
    assert cache.position == 0 and cache.nbytes() == model.new_cache(1, 8).nbytes()
    torch.testing.assert_close(model(torch.tensor([[1, 2]]), cache=cache, last_only=True), fresh, rtol=0, atol=0)
