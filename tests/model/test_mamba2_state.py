"""Mamba-2's two forms compute one recurrence: a chunked prefill followed by recurrent
decode equals a fully recurrent run from an empty state and one chunked forward over the
whole sequence -- outputs and the state left behind. Its cache holds a constant-size
state, the size the analysis predicts."""

import pytest
import torch

from app.model import build_model
from app.model.mamba2 import Mamba2
from app.spec.mixers import Mamba2 as Mamba2Spec
from app.spec import catalog
from app.spec.analysis import state_values

D_MODEL = 24
LENGTH = 13
# Chunks of 4: the sequence spans four, and the prefills below end inside and on a chunk edge.
SPEC = Mamba2Spec(num_heads=6, head_dim=5, state_size=7, num_groups=3, conv_kernel=4, chunk_size=4, dt_min=0.01)
TOLERANCE = dict(atol=1e-5, rtol=1e-5)


@pytest.fixture(scope="module")
def mixer():
    torch.manual_seed(0)
    module = Mamba2(SPEC, D_MODEL)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.3)
        module.dt_bias.add_(2.0)  # time steps near 1: the state carries much of the output
    return module.eval()


@pytest.fixture(scope="module")
def inputs():
    return torch.randn(2, LENGTH, D_MODEL, generator=torch.Generator().manual_seed(1))


def run(mixer, inputs, pieces):
    """Feed the sequence through one cache in pieces of the given lengths; return the
    outputs and the cache."""
    cache = mixer.new_cache(inputs.shape[0], LENGTH, torch.float32, "cpu")
    outputs, start = [], 0
    for length in pieces:
        outputs.append(mixer(inputs[:, start:start + length], None, cache))
        start += length
    return torch.cat(outputs, dim=1), cache


@torch.no_grad()
def test_one_chunked_forward_equals_the_fully_recurrent_run(mixer, inputs):
    recurrent, _ = run(mixer, inputs, [1] * LENGTH)
    torch.testing.assert_close(mixer(inputs), recurrent, **TOLERANCE)


@pytest.mark.parametrize("prefill", [4, 6])
@torch.no_grad()
def test_chunked_prefill_then_recurrent_decode_equals_both(mixer, inputs, prefill):
    mixed, mixed_cache = run(mixer, inputs, [prefill] + [1] * (LENGTH - prefill))
    recurrent, recurrent_cache = run(mixer, inputs, [1] * LENGTH)
    torch.testing.assert_close(mixed, recurrent, **TOLERANCE)
    torch.testing.assert_close(mixed, mixer(inputs), **TOLERANCE)
    for name in ("conv", "ssm"):  # and they leave the same state behind
        torch.testing.assert_close(mixed_cache[name], recurrent_cache[name], **TOLERANCE)


@torch.no_grad()
def test_a_chunked_prefill_continues_from_the_cached_state(mixer, inputs):
    pieces, _ = run(mixer, inputs, [5, 8])
    torch.testing.assert_close(pieces, mixer(inputs), **TOLERANCE)


@torch.no_grad()
def test_the_chunk_size_does_not_change_the_result(mixer, inputs):
    whole = Mamba2(Mamba2Spec(**{**SPEC.__dict__, "chunk_size": 64}), D_MODEL)
    whole.load_state_dict(mixer.state_dict())
    torch.testing.assert_close(whole(inputs), mixer(inputs), **TOLERANCE)


@torch.no_grad()
def test_the_state_does_not_grow_and_matches_the_analysis():
    spec = catalog.get("nemotron-3-nano-30b-a3b", "explore")
    model = build_model(spec, seed=0)
    cache = model.new_cache(batch=1, max_len=16)
    prompt = torch.randint(0, spec.vocab_size, (1, 11), generator=torch.Generator().manual_seed(0))
    model(prompt[:, :3], cache=cache)
    after_3 = cache.layer_nbytes()
    model(prompt[:, 3:], cache=cache)
    after_11 = cache.layer_nbytes()
    mamba_layers = [i for i, layer in enumerate(spec.layers) if isinstance(layer.mixer, Mamba2Spec)]
    assert mamba_layers
    for i in mamba_layers:
        assert after_3[i] == after_11[i] == state_values(spec.layers[i].mixer) * 4  # float32
