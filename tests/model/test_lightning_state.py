"""Lightning attention's two forms agree, and its cache is a constant-size state.

Blockwise prefill followed by recurrent decode equals a fully recurrent run from an empty
state and a single blockwise forward -- with a block size of 3, so the sequences cross
several blocks, the last one partial. The cache of a lightning layer holds the same bytes
after 3 tokens as after 11, and exactly what the analysis predicts.
"""

import pytest
import torch

from app.model import build_model
from app.model.lightning import blockwise_lightning, decay_rates, recurrent_lightning
from app.model.step import Step
from app.spec.mixers import LightningAttention
from app.spec.analysis import analyze, state_values
from app.spec.hf import spec_from_hf_config

BATCH, HEADS, HEAD_DIM, LENGTH, BLOCK = 2, 3, 5, 11, 3
TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32, sums of at most 11 decayed products


def random_qkv(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(BATCH, HEADS, LENGTH, HEAD_DIM, generator=generator) for _ in range(3)]


def empty_state():
    return torch.zeros(BATCH, HEADS, HEAD_DIM, HEAD_DIM)


@pytest.mark.parametrize("layer_index", [0, 2, 4])  # the deepest layer decays least
def test_blockwise_and_recurrent_forms_agree(layer_index):
    q, k, v = random_qkv()
    rates = decay_rates(HEADS, layer_index, 5)
    one_pass, one_pass_state = blockwise_lightning(q, k, v, rates, empty_state(), BLOCK)
    recurrent, recurrent_state = recurrent_lightning(q, k, v, rates, empty_state())
    torch.testing.assert_close(one_pass, recurrent, **TOLERANCE)
    torch.testing.assert_close(one_pass_state, recurrent_state, **TOLERANCE)

    # A 7-token blockwise prefill (blocks of 3, 3, 1), then 4 recurrent steps.
    prefill, state = blockwise_lightning(q[:, :, :7], k[:, :, :7], v[:, :, :7], rates, empty_state(), BLOCK)
    steps = [prefill]
    for t in range(7, LENGTH):
        out, state = recurrent_lightning(q[:, :, t:t + 1], k[:, :, t:t + 1], v[:, :, t:t + 1], rates, state)
        steps.append(out)
    torch.testing.assert_close(torch.cat(steps, dim=2), one_pass, **TOLERANCE)
    torch.testing.assert_close(state, one_pass_state, **TOLERANCE)


def test_the_block_size_does_not_change_the_result():
    q, k, v = random_qkv(1)
    rates = decay_rates(HEADS, 1, 4)
    whole, _ = blockwise_lightning(q, k, v, rates, empty_state(), LENGTH)
    for block in (1, 2, 4):
        torch.testing.assert_close(blockwise_lightning(q, k, v, rates, empty_state(), block)[0], whole, **TOLERANCE)


def test_outputs_are_causal_decayed_attention_without_softmax():
    """o_t = sum over s <= t of exp(-rate (t - s)) (q_t . k_s) v_s, written out directly."""
    q, k, v = random_qkv(2)
    rates = decay_rates(HEADS, 0, 3)
    distance = torch.arange(LENGTH)[:, None] - torch.arange(LENGTH)[None, :]
    weights = torch.exp(-rates.view(-1, 1, 1) * distance.clamp(min=0)) * (distance >= 0)
    expected = (q @ k.transpose(-1, -2) * weights) @ v
    torch.testing.assert_close(blockwise_lightning(q, k, v, rates, empty_state(), BLOCK)[0], expected, **TOLERANCE)


# A tiny MiniMax: lightning, softmax attention, lightning, with blocks of 3 tokens.
TINY_CONFIG = dict(model_type="minimax", vocab_size=37, hidden_size=24, intermediate_size=10, num_hidden_layers=3,
                   num_attention_heads=3, num_key_value_heads=1, head_dim=8, num_local_experts=3,
                   num_experts_per_tok=2, block_size=3,
                   layer_types=["linear_attention", "full_attention", "linear_attention"])


@pytest.fixture(scope="module")
def tiny_model():
    return build_model(spec_from_hf_config(TINY_CONFIG), seed=5)


@torch.no_grad()
def test_the_mixer_through_its_cache_equals_one_blockwise_forward(tiny_model):
    """Through the module and its RecurrentState: one forward without a cache, a 7-token
    prefill then single-token decode, and every token alone from an empty state agree."""
    mixer = tiny_model.layers[2].mixer
    x = torch.randn(BATCH, LENGTH, tiny_model.spec.d_model, generator=torch.Generator().manual_seed(3))

    def step(start, length):
        return Step(torch.arange(start, start + length), {})

    whole = mixer(x, step(0, LENGTH))
    cache = mixer.new_cache(BATCH, LENGTH, x.dtype, x.device)
    prefill_then_decode = [mixer(x[:, :7], step(0, 7), cache)]
    prefill_then_decode += [mixer(x[:, t:t + 1], step(t, 1), cache) for t in range(7, LENGTH)]
    recurrent_cache = mixer.new_cache(BATCH, LENGTH, x.dtype, x.device)
    recurrent = [mixer(x[:, t:t + 1], step(t, 1), recurrent_cache) for t in range(LENGTH)]
    torch.testing.assert_close(torch.cat(prefill_then_decode, dim=1), whole, **TOLERANCE)
    torch.testing.assert_close(torch.cat(recurrent, dim=1), whole, **TOLERANCE)
    torch.testing.assert_close(cache["kv"], recurrent_cache["kv"], **TOLERANCE)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@torch.no_grad()
def test_the_state_bytes_are_constant_and_as_the_analysis_predicts(tiny_model, dtype):
    model = build_model(tiny_model.spec, dtype=dtype, seed=5)
    spec, dtype_bytes = model.spec, torch.finfo(dtype).bits // 8
    rows = analyze(spec).layers
    lightning = [i for i, layer in enumerate(spec.layers) if isinstance(layer.mixer, LightningAttention)]
    ids = torch.randint(0, spec.vocab_size, (1, 11), generator=torch.Generator().manual_seed(4))
    cache = model.new_cache(batch=1, max_len=11)
    model(ids[:, :3], cache=cache)
    after_3 = cache.layer_nbytes()
    for t in range(3, 11):
        model(ids[:, t:t + 1], cache=cache)
    after_11 = cache.layer_nbytes()
    for i in lightning:
        assert after_3[i] == after_11[i] == state_values(spec.layers[i].mixer) * dtype_bytes
    # Every layer, softmax attention included, holds what the analysis says at that length.
    assert after_3 == [row.kv_bytes_at(3, dtype_bytes) for row in rows]
    assert after_11 == [row.kv_bytes_at(11, dtype_bytes) for row in rows]
