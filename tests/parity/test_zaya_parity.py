"""ZAYA1 (compressed convolutional attention, ZAYA1's MLP router with its depth state and skip
slot, learned residual scales) against transformers' zaya: tiny random checkpoints load
through load_pretrained and give the same logits in one forward, token by token and prefill
then decode; the cache holds what the analysis counts; the name map consumes the whole
checkpoint.

Token by token, every step's queries and keys come out of a convolution over the two or three
tokens before it, which only the cache's convolution state still holds, and half its values
are the previous token's: both cross every decode step. The "sliding" config has windowed
layers (window 4 of 11 tokens), a longer first convolution (cca_time0 3: three tokens of
history), biased projections (the first token's delayed value is the bias) and an untied head.
"""

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    TOLERANCE,
    assert_cache_holds_what_the_analysis_counts,
    assert_every_checkpoint_tensor_is_used,
    reference_logits,
    tiny_checkpoints,
)

torch = pytest.importorskip("torch")

SEQ_LEN = 11
PREFILL = 5

TINY = {
    "global": dict(model_type="zaya", vocab_size=97, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                   num_key_value_heads=2, head_dim=16, moe_intermediate_size=40, num_experts=4,
                   router_hidden_size=24, max_position_embeddings=64, tie_word_embeddings=True, eos_token_id=1),
    "sliding": dict(model_type="zaya", vocab_size=71, hidden_size=48, num_hidden_layers=4, num_attention_heads=6,
                    num_key_value_heads=2, head_dim=8, moe_intermediate_size=24, num_experts=3,
                    router_hidden_size=16, cca_time0=3, cca_time1=2, attention_bias=True, rms_norm_eps=1e-6,
                    layer_types=["hybrid", "hybrid_sliding", "hybrid_sliding", "hybrid"], sliding_window=4,
                    rope_parameters={"hybrid": {"rope_type": "default", "rope_theta": 1000.0,
                                                "partial_rotary_factor": 0.5},
                                     "hybrid_sliding": {"rope_type": "default", "rope_theta": 500.0,
                                                        "partial_rotary_factor": 0.5}},
                    max_position_embeddings=64, tie_word_embeddings=False, eos_token_id=1),
}


def sharpen(reference, name) -> None:
    """transformers starts the key temperatures at 0 (every key zero: uniform attention), the
    convolutions small beside their residuals, the router's scores near uniform, the experts'
    outputs faint and the skip slot's balancing bias at -1 (never chosen). Drawn large instead,
    attention is peaked, the convolutions move the queries and keys as much as the projections
    do, the router's choice and weights (and so its depth state) reach the logits, and the
    skip slot wins for some tokens."""
    generator = torch.Generator().manual_seed(3)
    for key, parameter in reference.named_parameters():
        if key.endswith("qk_norm.temp"):
            parameter.copy_(1.0 + torch.rand(parameter.shape, generator=generator))
        elif "conv_qk" in key and key.endswith("weight"):
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
        elif "mlp.gate." in key and parameter.dim() == 2:  # the router's matrices: scores of a few units
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 2.0 / parameter.shape[1] ** 0.5)
        elif "mlp.experts." in key:  # experts whose outputs weigh in the residual stream
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.15)
    for key, buffer in reference.named_buffers():
        if key.endswith("balancing_biases"):
            buffer.copy_(torch.randn(buffer.shape, generator=generator) * 0.05)
            buffer[-1] = 0.1  # the skip slot


checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN, sharpen)


def test_the_cache_holds_what_the_analysis_counts(pair):
    """Keys and values per token (a window's ring stops at 4), and the constant state: the
    convolutions' history and the delayed value half."""
    _, ours, input_ids = pair
    cache = assert_cache_holds_what_the_analysis_counts(ours, input_ids, prefill=PREFILL)
    states = [layer.state.nbytes() for layer in cache.layers]
    mixer = ours.spec.layers[0].mixer
    element = ours.embed_tokens.weight.element_size()
    assert states == [input_ids.shape[0] * mixer.state_values() * element] * len(states)
    assert mixer.state_values() == mixer.conv_channels * mixer.conv_history + mixer.kv_width // 2


def test_every_checkpoint_tensor_is_used(checkpoint):
    from app.weights.names_moe import router_bias_buffers

    _, directory, _ = checkpoint
    stored = assert_every_checkpoint_tensor_is_used(directory, router_bias_buffers)
    assert any(name.endswith("mlp.gate.balancing_biases") for name in stored)


def _decode_distance(ours, input_ids, reference, between_steps) -> float:
    """Largest distance from the reference of a prefill-then-decode run whose cache is
    changed by between_steps(cache) before every decode step."""
    batch, length = input_ids.shape
    cache = ours.new_cache(batch=batch, max_len=length)
    with torch.no_grad():
        outputs = [ours(input_ids[:, :PREFILL], cache=cache)]
        for i in range(PREFILL, length):
            between_steps(cache)
            outputs.append(ours(input_ids[:, i:i + 1], cache=cache))
    return (torch.cat(outputs, dim=1) - reference_logits(reference, input_ids)).abs().max().item()


def test_the_convolution_and_delayed_value_states_cross_decode_steps(pair):
    """What parity token by token rests on is not idle: with the convolutions' history, or the
    previous token's delayed values, forgotten before each decode step, the logits leave the
    tolerance by far (a cache that dropped either would fail the checks above)."""
    reference, ours, input_ids = pair

    def forget(name):
        def between_steps(cache):
            for layer in cache.layers:
                layer.state[name] = torch.zeros_like(layer.state[name])
        return between_steps

    assert _decode_distance(ours, input_ids, reference, lambda cache: None) <= TOLERANCE
    assert _decode_distance(ours, input_ids, reference, forget("conv")) > 100 * TOLERANCE
    assert _decode_distance(ours, input_ids, reference, forget("value")) > 100 * TOLERANCE


def test_the_routers_depth_state_and_skip_slot_act(pair):
    """ZAYA1's router is exercised: some tokens take the skip slot (they reach no expert), and
    without the previous layer's router state the logits leave the tolerance."""
    reference, ours, input_ids = pair
    expected = reference_logits(reference, input_ids)
    with torch.no_grad():
        ours.record_routing(True)
        ours(input_ids)
        counts = ours.take_routing_counts()
        ours.record_routing(False)
    tokens = input_ids.numel()
    assert any(sum(per_expert) < tokens for per_expert in counts.values())  # skipped tokens
    scales = [block.ffn.router.depth_scale for block in ours.layers if block.ffn.router.depth_scale is not None]
    assert scales and ours.layers[0].ffn.router.depth_scale is None  # the first MoE layer receives none
    saved = [scale.detach().clone() for scale in scales]
    try:
        with torch.no_grad():
            for scale in scales:
                scale.zero_()
            without = (ours(input_ids) - expected).abs().max().item()
    finally:
        with torch.no_grad():
            for scale, value in zip(scales, saved):
                scale.copy_(value)
    assert without > 100 * TOLERANCE
