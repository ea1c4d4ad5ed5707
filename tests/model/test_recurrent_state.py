"""Recurrent mixers compute one function three ways: a single chunked forward over the
whole sequence, a chunked prefill continued by recurrent one-token steps, and recurrent
steps from an empty state all along. Their caches hold a constant number of bytes, the
analysis' figure, whatever the context.

Each mixer is a case: its spec (chunk or block size small, so that a short sequence
spans several chunks and ends inside one), the module attributes to override, and how to
make its random weights meaningful (e.g. slow decays, so that memories cross chunks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch

from app.model import build_model
from app.model.build import make_mixer
from app.model.step import Step
from app.spec import catalog
from app.spec.mixers import GatedDeltaNet
from app.spec.analysis import analyze, state_values

D_MODEL = 24
LENGTH = 19  # several chunks of 4, the last one partial


@dataclass
class Case:
    spec: object
    settings: dict = field(default_factory=dict)  # module attributes, e.g. a small chunk size
    tune: Callable[[torch.nn.Module], None] | None = None  # after the random weights


def slow_deltanet_decays(module) -> None:
    # Per-token decays of exp(-0.02 .. -0.3 x softplus(.)): the state remembers tokens
    # from earlier chunks instead of forgetting them within one.
    heads = module.A_log.shape[0]
    module.A_log.copy_(torch.linspace(0.02, 0.3, heads).log())


CASES = {
    # Two value heads per key head, kernel 3, chunks of 4.
    "gated_deltanet": Case(GatedDeltaNet(num_key_heads=2, num_value_heads=4, key_head_dim=6, value_head_dim=5,
                                         conv_kernel=3), {"chunk_size": 4}, slow_deltanet_decays),
}


@pytest.fixture(params=sorted(CASES))
def mixer(request):
    case = CASES[request.param]
    torch.manual_seed(0)
    module = make_mixer(case.spec, D_MODEL)
    for name, value in case.settings.items():
        setattr(module, name, value)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.3)
        if case.tune is not None:
            case.tune(module)
    return module.eval()


def step_at(start: int, length: int) -> Step:
    return Step(torch.arange(start, start + length), {})


def run(mixer, x, cache, start, end):
    with torch.no_grad():
        return mixer(x[:, start:end], step_at(start, end - start), cache)


def recurrent_all_along(mixer, x):
    cache = mixer.new_cache(x.shape[0], x.shape[1], x.dtype, x.device)
    return torch.cat([run(mixer, x, cache, t, t + 1) for t in range(x.shape[1])], dim=1)


@pytest.fixture
def inputs():
    return torch.randn(2, LENGTH, D_MODEL, generator=torch.Generator().manual_seed(1))


def test_one_chunked_forward_equals_the_recurrence(mixer, inputs):
    whole = run(mixer, inputs, None, 0, LENGTH)
    torch.testing.assert_close(whole, recurrent_all_along(mixer, inputs), atol=1e-5, rtol=0)


@pytest.mark.parametrize("prefill", [1, 4, 10])  # one token, one whole chunk, chunks and a part
def test_chunked_prefill_then_recurrent_decode_equals_the_recurrence(mixer, inputs, prefill):
    cache = mixer.new_cache(2, LENGTH, inputs.dtype, inputs.device)
    first = run(mixer, inputs, cache, 0, prefill)
    rest = [run(mixer, inputs, cache, t, t + 1) for t in range(prefill, LENGTH)]
    combined = torch.cat([first, *rest], dim=1)
    torch.testing.assert_close(combined, recurrent_all_along(mixer, inputs), atol=1e-5, rtol=0)
    torch.testing.assert_close(combined, run(mixer, inputs, None, 0, LENGTH), atol=1e-5, rtol=0)


def test_prefills_continue_from_the_cached_state(mixer, inputs):
    """A prompt fed in pieces (the sweep's chunked prefill) equals it fed at once."""
    cache = mixer.new_cache(2, LENGTH, inputs.dtype, inputs.device)
    pieces = [run(mixer, inputs, cache, start, end) for start, end in ((0, 7), (7, 9), (9, LENGTH))]
    torch.testing.assert_close(torch.cat(pieces, dim=1), run(mixer, inputs, None, 0, LENGTH), atol=1e-5, rtol=0)


def test_the_state_does_not_grow_and_is_what_the_analysis_counts(mixer, inputs):
    cache = mixer.new_cache(1, LENGTH, inputs.dtype, inputs.device)
    run(mixer, inputs[:1], cache, 0, 3)
    after_three = cache.nbytes()
    run(mixer, inputs[:1], cache, 3, 11)
    assert cache.nbytes() == after_three == state_values(mixer.spec) * inputs.element_size()


# --- whole models of the catalog ---------------------------------------------------------

RECURRENT_ENTRIES = ["qwen3-next-80b-a3b"]


@pytest.mark.parametrize("name", RECURRENT_ENTRIES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_layer_bytes_of_recurrent_layers_are_constant_and_predicted(name, dtype):
    spec = catalog.get(name, "explore")
    model = build_model(spec, dtype=dtype)
    rows = analyze(spec).layers
    element = torch.tensor([], dtype=dtype).element_size()
    cache = model.new_cache(1, 16)
    tokens = torch.randint(0, spec.vocab_size, (1, 11), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model(tokens[:, :3], cache=cache)
        after_three = cache.layer_nbytes()
        for t in range(3, 11):
            model(tokens[:, t:t + 1], cache=cache)
    after_eleven = cache.layer_nbytes()
    recurrent = [i for i, row in enumerate(rows) if row.state_values]
    assert recurrent and len(recurrent) < spec.num_layers  # both kinds of layer are present
    for i, row in enumerate(rows):
        if row.state_values:
            assert after_three[i] == after_eleven[i] == row.state_values * element
        else:  # full attention: 8 more tokens, 8 more tokens' bytes
            assert after_eleven[i] - after_three[i] == 8 * row.kv_bytes_per_token(element)
        assert after_eleven[i] == row.kv_bytes_at(11, element)
    assert sum(after_eleven) == analyze(spec).kv_bytes_at(11, element)
