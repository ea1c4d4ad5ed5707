"""A layer with both a sliding window and a chunk (the spec allows it): a query sees the keys
inside its chunk AND inside its window, so the layer keeps min(window, chunk) tokens -- and
the model's cache, the analysis and the roofline all say so."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from app.model import build_model
from app.model.attention import Attention
from app.model.step import Step
from app.runtime.read_counter import count_step
from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.mixers import Attention as AttentionSpec
from app.spec.roofline import step_cost
from app.ui.palette_drops import PALETTE, SLOT_MIXER, apply_drop

WINDOW_AND_CHUNK = [(64, 32), (32, 64), (48, 20)]  # window > chunk, window < chunk, neither divides
STEPS = 100  # past both lengths


def _with_window_and_chunk(key: str, window: int, chunk: int):
    """llama3-8b at explore scale, every layer's mixer the palette's `key` with both set."""
    spec = catalog.get("llama3-8b", "explore")
    layers = []
    for layer in spec.layers:
        layer = apply_drop(key, SLOT_MIXER, spec, layer)
        layers.append(dataclasses.replace(
            layer, mixer=dataclasses.replace(layer.mixer, sliding_window=window, chunk_size=chunk)))
    spec = spec.with_layers(layers)
    assert not spec.validate()
    return spec


def _windowed_palette_keys() -> list[str]:
    """The palette's mixers that take a sliding window and a chunk."""
    spec = catalog.get("llama3-8b", "explore")
    return [item.key for item in PALETTE if item.slot == SLOT_MIXER and item.category == "attention"
            and isinstance(apply_drop(item.key, SLOT_MIXER, spec, spec.layers[0]).mixer, AttentionSpec)]


def test_the_cache_window_is_the_smaller_of_the_two():
    attention = AttentionSpec(num_heads=4, num_kv_heads=2, head_dim=8)
    assert attention.cache_window == 0
    assert dataclasses.replace(attention, sliding_window=64).cache_window == 64
    assert dataclasses.replace(attention, chunk_size=32).cache_window == 32
    assert dataclasses.replace(attention, sliding_window=64, chunk_size=32).cache_window == 32
    assert dataclasses.replace(attention, sliding_window=32, chunk_size=64).cache_window == 32


@pytest.mark.parametrize("window,chunk", WINDOW_AND_CHUNK)
@pytest.mark.parametrize("key", _windowed_palette_keys())
@torch.no_grad()
def test_the_cache_holds_what_the_analysis_predicts(key, window, chunk):
    spec = _with_window_and_chunk(key, window, chunk)
    model = build_model(spec)
    rows = analyze(spec).layers
    batch, prompt = 2, 10
    cache = model.new_cache(batch, STEPS)
    element = model.embed_tokens.weight.element_size()
    model(torch.zeros(batch, prompt, dtype=torch.long), cache=cache)
    for length in range(prompt, STEPS + 1):
        if length > prompt:
            model(torch.zeros(batch, 1, dtype=torch.long), cache=cache)
        expected = [batch * row.kv_bytes_at(length, element) for row in rows]
        assert cache.layer_nbytes() == expected, f"{key}, window {window}, chunk {chunk}, at {length} tokens"
    assert all(layer.capacity_nbytes() == batch * row.kv_bytes_at(STEPS, element)
               for layer, row in zip(cache.layers, rows))


@pytest.mark.parametrize("window,chunk", WINDOW_AND_CHUNK[:2])
def test_the_roofline_counts_the_cache_a_decode_step_reads(window, chunk):
    spec = _with_window_and_chunk("gqa", window, chunk)
    model = build_model(spec, seed=0)
    batch, prompt = 2, 80
    tokens = torch.randint(0, spec.vocab_size, (batch, prompt + 1), generator=torch.Generator().manual_seed(1))
    cache = model.new_cache(batch, prompt + 1)
    with torch.no_grad():
        model(tokens[:, :prompt], cache=cache, last_only=True)
    counts = count_step(model, tokens[:, prompt:], cache)
    rows = step_cost(spec, "decode", tokens=1, context=prompt, batch=batch, dtype_bytes=4)
    for row in rows[:spec.num_layers]:
        assert row.cache_bytes == counts[row.name].cache_bytes, f"{row.name}, window {window}, chunk {chunk}"


def _naive_attention(module: Attention, x: torch.Tensor, window: int, chunk: int) -> torch.Tensor:
    """Full attention over the whole sequence under an explicit mask: query i sees key j
    when j <= i, i - j < window and both lie in the same chunk (NoPE, no norms)."""
    spec = module.spec
    batch, length, _ = x.shape
    group = spec.num_heads // spec.num_kv_heads
    q = module.q_proj(x).view(batch, length, spec.num_heads, spec.head_dim).transpose(1, 2)
    k = module.k_proj(x).view(batch, length, spec.num_kv_heads, spec.head_dim).transpose(1, 2)
    v = module.v_proj(x).view(batch, length, spec.num_kv_heads, spec.v_dim).transpose(1, 2)
    k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    visible = torch.tensor([[j <= i and i - j < window and j // chunk == i // chunk for j in range(length)]
                            for i in range(length)])
    scores = (q @ k.transpose(-2, -1)) * module.scale
    if spec.logit_softcap:
        scores = torch.tanh(scores / spec.logit_softcap) * spec.logit_softcap
    weights = torch.softmax(scores.masked_fill(~visible, float("-inf")), dim=-1)
    return module.o_proj((weights @ v).transpose(1, 2).reshape(batch, length, spec.num_heads * spec.v_dim))


@pytest.mark.parametrize("replayable", [False, True], ids=["decode", "replayable decode"])
@pytest.mark.parametrize("softcap", [0.0, 20.0], ids=["sdpa", "logits"])
@pytest.mark.parametrize("window,chunk", [(6, 4), (4, 6), (5, 3)])
@torch.no_grad()
def test_a_query_sees_the_intersection_of_its_window_and_its_chunk(window, chunk, softcap, replayable):
    spec = AttentionSpec(num_heads=4, num_kv_heads=2, head_dim=8, sliding_window=window, chunk_size=chunk,
                         logit_softcap=softcap)
    torch.manual_seed(0)
    d_model, batch, prompt, length = 24, 2, 5, 20
    module = Attention(spec, d_model)
    x = torch.randn(batch, length, d_model)
    expected = _naive_attention(module, x, window, chunk)

    cache = module.new_cache(batch, length, torch.float32, "cpu")
    outputs = [module(x[:, :prompt], Step(torch.arange(prompt), {}), cache)]
    for position in range(prompt, length):
        step = Step(torch.tensor([position]), {}, replayable=replayable)
        outputs.append(module(x[:, position:position + 1], step, cache))
    torch.testing.assert_close(torch.cat(outputs, dim=1), expected, atol=1e-5, rtol=1e-5)
