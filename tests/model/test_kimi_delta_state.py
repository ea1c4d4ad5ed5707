"""Kimi Delta Attention's two forms agree, and its cache is a constant-size state.

A chunked prefill continued by recurrent decode steps equals a fully recurrent run from
an empty state, token by token, and a single chunked forward over the whole sequence;
the state each leaves behind is the same. The layer's cache bytes do not grow with the
context and equal what the analysis predicts.
"""

import pytest
import torch

from app.model import build_model
from app.model.kimi_delta import KimiDeltaAttention, delta_rule_chunked, delta_rule_recurrent
from app.model.step import Step
from app.spec.mixers import KimiDeltaAttention as KDASpec
from app.spec.hf import spec_from_hf_config
from app.spec.analysis import analyze, state_values

SPEC = KDASpec(num_heads=3, head_dim=8, conv_kernel=4, norm_eps=1e-5)
D_MODEL = 20
LENGTH = 19
CHUNK = 5  # 19 tokens: three full chunks and a ragged one
PREFILL = 7  # ends inside the second chunk

# KDA, MLA, KDA with MoE after the first layer, as Kimi Linear lays them out.
TINY_KIMI_LINEAR = dict(model_type="kimi_linear", vocab_size=64, hidden_size=32, intermediate_size=48,
                        moe_intermediate_size=16, num_hidden_layers=3, num_attention_heads=2, kv_lora_rank=16,
                        qk_rope_head_dim=4, qk_nope_head_dim=8, v_head_dim=8, num_experts=4, num_experts_per_token=2,
                        linear_attn_config=dict(num_heads=2, head_dim=8, short_conv_kernel_size=4,
                                                full_attn_layers=[2], kda_layers=[1, 3]))


def random_inputs(batch=2, heads=3, length=LENGTH, key_dim=6, value_dim=5, decay_strength=1.0, seed=0):
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=generator)

    q = torch.nn.functional.normalize(randn(batch, heads, length, key_dim), dim=-1)
    k = torch.nn.functional.normalize(randn(batch, heads, length, key_dim), dim=-1)
    v = randn(batch, heads, length, value_dim)
    log_decay = -decay_strength * torch.rand(batch, heads, length, key_dim, generator=generator)
    beta = torch.rand(batch, heads, length, generator=generator)
    state = randn(batch, heads, key_dim, value_dim)
    return q, k, v, log_decay, beta, state


@pytest.mark.parametrize("decay_strength", [0.5, 30.0])  # gentle forgetting, and near-total
def test_the_chunked_delta_rule_equals_the_recurrence(decay_strength):
    inputs = random_inputs(decay_strength=decay_strength)
    expected_out, expected_state = delta_rule_recurrent(*inputs)
    for chunk in (1, CHUNK, 64):
        out, state = delta_rule_chunked(*inputs, chunk_size=chunk)
        torch.testing.assert_close(out, expected_out, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(state, expected_state, atol=1e-5, rtol=1e-5)


@pytest.fixture
def mixer():
    torch.manual_seed(0)
    layer = KimiDeltaAttention(SPEC, D_MODEL)
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.normal_(0, 0.3)
        # softplus(dt_bias) ~ 0.3 and rates 1..16: decays from mild to strong
        layer.decay_bias.fill_(-1.0)
        layer.decay_log_rate.copy_(torch.linspace(0.0, 2.7, SPEC.num_heads))
    layer.chunk_size = CHUNK
    return layer.eval()


def run(layer, x, start, cache=None):
    positions = torch.arange(start, start + x.shape[1])
    return layer(x, Step(positions, {}), cache)


@torch.no_grad()
def test_chunked_prefill_then_recurrent_decode_equals_a_recurrent_run_and_one_chunked_forward(mixer):
    x = torch.randn(2, LENGTH, D_MODEL, generator=torch.Generator().manual_seed(1))

    whole = run(mixer, x, 0)  # one chunked forward from a zero state, no cache

    recurrent_cache = mixer.new_cache(2, LENGTH, torch.float32, "cpu")
    recurrent = torch.cat([run(mixer, x[:, t:t + 1], t, recurrent_cache) for t in range(LENGTH)], dim=1)

    mixed_cache = mixer.new_cache(2, LENGTH, torch.float32, "cpu")
    prefill = run(mixer, x[:, :PREFILL], 0, mixed_cache)
    decoded = [run(mixer, x[:, t:t + 1], t, mixed_cache) for t in range(PREFILL, LENGTH)]
    mixed = torch.cat([prefill, *decoded], dim=1)

    torch.testing.assert_close(recurrent, whole, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(mixed, whole, atol=1e-5, rtol=1e-5)
    for name in ("q_conv", "k_conv", "v_conv", "memory"):
        torch.testing.assert_close(mixed_cache[name], recurrent_cache[name], atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_two_chunked_prefills_continue_one_another(mixer):
    """A prompt fed in two multi-token pieces (the second continuing from the cached
    state) equals one forward over the whole prompt."""
    x = torch.randn(1, LENGTH, D_MODEL, generator=torch.Generator().manual_seed(2))
    cache = mixer.new_cache(1, LENGTH, torch.float32, "cpu")
    pieces = torch.cat([run(mixer, x[:, :PREFILL], 0, cache), run(mixer, x[:, PREFILL:], PREFILL, cache)], dim=1)
    torch.testing.assert_close(pieces, run(mixer, x, 0), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@torch.no_grad()
def test_the_state_bytes_are_constant_and_as_analysed(dtype):
    spec = spec_from_hf_config(TINY_KIMI_LINEAR)
    model = build_model(spec, dtype=dtype, seed=0)
    delta_layers = [i for i, layer in enumerate(spec.layers) if isinstance(layer.mixer, KDASpec)]
    assert delta_layers
    cache = model.new_cache(batch=1, max_len=16)
    ids = torch.randint(0, spec.vocab_size, (1, 11), generator=torch.Generator().manual_seed(0))
    model(ids[:, :3], cache=cache)
    after_3 = cache.layer_nbytes()
    for t in range(3, 11):
        model(ids[:, t:t + 1], cache=cache)
    after_11 = cache.layer_nbytes()
    element = torch.tensor([], dtype=dtype).element_size()
    for i in delta_layers:
        assert after_3[i] == after_11[i] == state_values(spec.layers[i].mixer) * element
        assert cache.layers[i].capacity_nbytes() == after_11[i]
    # The whole model, MLA's growing latent cache included, as the analysis rows say.
    rows = analyze(spec).layers
    assert after_3 == [row.kv_bytes_at(3, element) for row in rows]
    assert after_11 == [row.kv_bytes_at(11, element) for row in rows]
