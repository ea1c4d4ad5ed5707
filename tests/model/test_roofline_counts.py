"""The roofline's bytes and FLOPs against what a real forward does.

A TorchDispatchMode (app/runtime/read_counter.py) watches every aten op of a real decode
step and counts, per layer, the bytes of the model's weights and of its caches that the ops read or write, and the
FLOPs of its matrix products. `app.spec.roofline.step_cost` must give the same weight and
cache bytes exactly (for an MoE layer: given the step's routing counts), and the same
FLOPs within 1%.
"""

from __future__ import annotations

import pytest
import torch

from app.model import build_model
from app.runtime.read_counter import count_step
from app.spec import catalog
from app.spec.ffn import expected_experts_reached
from app.spec.roofline import step_cost

# One entry of each family the roofline must know, at explore scale.
FAMILIES = {
    "dense": "qwen3-0.6b",
    "sliding window": "gemma3-1b",
    "MLA, MoE with shared experts": "deepseek-v3",
    "DSA": "deepseek-v3.2",
    "Gated DeltaNet": "qwen3-next-80b-a3b",
    "Mamba-2": "nemotron-3-nano-30b-a3b",
    "mLSTM": "xlstm-7b",
    "latent MoE": "nemotron-3-super-120b-a12b",
    "Gemma 3n": "gemma3n-e2b",
    "MoE beside a dense MLP, branches normed apart": "gemma4-26b-a4b",
    "CCA, MLP router with a skip slot, learned residual scales": "zaya1-8b",
    "parallel block, MoE and shared experts averaged": "command-a-plus",
}
PROMPT = 72  # tokens: past the explore scale's sliding windows (Gemma 4's: 64) and DSA's top-k
# entries whose explore-scale window is wider: a prompt past it (Command A+'s: 256)
PROMPTS = {"command-a-plus": 264}


def measured_decode_step(spec, batch: int, prompt: int = PROMPT):
    """(the counts per place, the step's routing counts) of one decode step after a prompt."""
    model = build_model(spec, seed=0)
    generator = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, spec.vocab_size, (batch, prompt + 1), generator=generator)
    cache = model.new_cache(batch, prompt + 1)
    recording = hasattr(model, "record_routing")
    with torch.no_grad():
        model(tokens[:, :prompt], cache=cache, last_only=True)
    if recording:
        model.record_routing(True)
    counts = count_step(model, tokens[:, prompt:], cache)
    routing = {str(k): v for k, v in model.take_routing_counts().items()} if recording else None
    return counts, routing


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_roofline_counts_what_a_decode_step_reads(family, batch):
    spec = catalog.get(FAMILIES[family], "explore")
    prompt = PROMPTS.get(FAMILIES[family], PROMPT)
    counts, routing = measured_decode_step(spec, batch, prompt)
    rows = step_cost(spec, "decode", tokens=1, context=prompt, batch=batch, dtype_bytes=4, routing=routing)
    for row in rows[:spec.num_layers]:
        seen = counts[row.name]
        where = f"{FAMILIES[family]} {row.name} ({row.mixer_kind}, {row.ffn_kind}) at batch {batch}"
        assert row.weight_bytes == seen.weight_bytes, f"{where}: weight bytes"
        assert row.cache_bytes == seen.cache_bytes, f"{where}: cache bytes"
        assert row.flops == pytest.approx(seen.flops, rel=0.01), f"{where}: FLOPs"
    head = next(row for row in rows if row.name == "head")
    assert head.weight_bytes == counts["head"].weight_bytes
    assert head.flops == pytest.approx(counts["head"].flops, rel=0.01)


def test_without_routing_counts_an_moe_layer_reads_the_experts_it_is_expected_to_reach():
    spec = catalog.get("qwen3-30b-a3b", "explore")
    moe = spec.layers[0].ffn
    expert_bytes = 2 * 3 * spec.d_model * moe.expert.intermediate_size
    top_k_only = {"0": [1] * moe.top_k + [0] * (moe.num_experts - moe.top_k)}
    for batch in (1, 4, 64):
        known = step_cost(spec, batch=batch, dtype_bytes=2, routing=top_k_only)[0].ffn
        expected = step_cost(spec, batch=batch, dtype_bytes=2)[0].ffn
        reached = moe.top_k + (expected.weight_bytes - known.weight_bytes) / expert_bytes
        assert reached == pytest.approx(expected_experts_reached(moe.num_experts, moe.top_k, batch), abs=1e-3)
    # one token reaches its top_k experts; a large batch nearly every expert
    assert expected_experts_reached(moe.num_experts, moe.top_k, 1) == pytest.approx(moe.top_k)
    assert expected_experts_reached(moe.num_experts, moe.top_k, 1024) == pytest.approx(moe.num_experts)


def test_low_bit_routed_experts_count_at_their_bytes_per_weight():
    """A GGUF MoE file's experts kept low-bit: the roofline reads them at the file's bytes
    per weight, as the attention and the head (a 30B-A3B step at 0.625 bytes a weight
    would otherwise be counted as if its experts were float32)."""
    from app.spec.roofline import MatrixBytes

    spec = catalog.get("qwen3-30b-a3b")
    layers = spec.num_layers
    low_bit = MatrixBytes((0.625,) * layers, (0.625,) * layers, 0.625, 0.625)
    plain = step_cost(spec, dtype_bytes=4)[0].ffn
    kept = step_cost(spec, dtype_bytes=4, matrices=low_bit)[0].ffn
    # (the sublayer's norm stays float: a few kilobytes of the 150 MB)
    assert kept.weight_bytes == pytest.approx(plain.weight_bytes * 0.625 / 4, rel=1e-3)
    assert kept.flops == plain.flops
