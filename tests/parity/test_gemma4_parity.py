"""Gemma 4's text model against transformers: tiny random gemma4_text and
gemma4_unified_text checkpoints load through load_pretrained and give the same logits, in
one forward, token by token, and after a prefill. Each checkpoint switches on what its
release has: global layers with wider heads and proportional RoPE, keys doubling as values
with fewer KV heads (31B, 12B, 26B-A4B), learned block-output scalars (all), per-layer
embeddings, KV sharing and double-wide MLPs in the sharing layers (E2B), a mixture of
experts beside the dense MLP in every layer, its branches normed apart (26B-A4B)."""

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    reference_pair,
    save_reference,
)

torch = pytest.importorskip("torch")

SEQ_LEN = 13  # longer than the sliding window
PREFILL = 8
VOCAB = 97

_COMMON = dict(
    vocab_size=VOCAB, hidden_size=48, intermediate_size=40, num_hidden_layers=6, num_attention_heads=4,
    num_key_value_heads=2, head_dim=16, global_head_dim=32, sliding_window=5,
    layer_types=["sliding_attention", "sliding_attention", "full_attention"] * 2, final_logit_softcapping=30.0,
    rope_parameters={"full_attention": dict(rope_type="proportional", partial_rotary_factor=0.25, rope_theta=1e6),
                     "sliding_attention": dict(rope_type="default", rope_theta=1e4)},
)
TINY = {
    # 31B: keys double as values on global layers, which have a single KV head
    "dense": _COMMON | dict(model_type="gemma4_text", attention_k_eq_v=True, num_global_key_value_heads=1,
                            hidden_size_per_layer_input=0, enable_moe_block=False),
    # 12B: the same decoder under its own model_type
    "unified": _COMMON | dict(model_type="gemma4_unified_text", attention_k_eq_v=True,
                              num_global_key_value_heads=1),
    # E2B: per-layer embeddings, the last 3 layers reuse earlier keys and values, with MLPs twice as wide
    "on_device": _COMMON | dict(model_type="gemma4_text", attention_k_eq_v=False, hidden_size_per_layer_input=12,
                                vocab_size_per_layer_input=VOCAB, num_kv_shared_layers=3, use_double_wide_mlp=True,
                                enable_moe_block=False),
    # 26B-A4B: the 31B's attention, and 3 of 7 experts (odd widths) beside the dense MLP in every layer
    "moe": _COMMON | dict(model_type="gemma4_text", attention_k_eq_v=True, num_global_key_value_heads=1,
                          hidden_size_per_layer_input=0, enable_moe_block=True, num_experts=7, top_k_experts=3,
                          moe_intermediate_size=18),
}


@pytest.fixture(scope="module", params=sorted(TINY))
def checkpoint(request, tmp_path_factory):
    """(the transformers model, the directory its save_pretrained wrote, the config's name)."""
    directory = tmp_path_factory.mktemp(f"gemma4-{request.param}")
    return save_reference(TINY[request.param], directory), directory, request.param


@pytest.fixture(scope="module")
def pair(checkpoint):
    reference, directory, name = checkpoint
    return (*reference_pair(reference, directory, VOCAB, SEQ_LEN), name)


def test_the_tiny_models_have_their_parts(pair):
    _, ours, _, name = pair
    layers = ours.spec.layers
    global_layers = [layer.mixer for layer in layers if not layer.mixer.sliding_window]
    assert all(mixer.head_dim == 32 and mixer.rope.frequency_dim == 32 and mixer.rope.rotary_dim == 8
               for mixer in global_layers)
    assert all(layer.scaled_output for layer in layers)
    assert all(block.output_scale.item() != 1.0 for block in ours.layers)  # loaded, not left at 1
    if name == "moe":
        assert all(layer.ffn.num_experts == 7 and layer.ffn.top_k == 3 and layer.ffn.expert.intermediate_size == 18
                   and layer.ffn.shared.intermediate_size == 40 and layer.ffn.branch_norm == layer.norm
                   for layer in layers)
        for block in ours.layers:  # every part loaded, not left at its initial value
            moe = block.ffn
            for ones in (moe.router.per_expert_scale, moe.router.input_norm.weight, moe.experts_pre_norm.weight,
                         moe.experts_post_norm.weight, moe.shared_post_norm.weight):
                assert not torch.equal(ones, torch.ones_like(ones))
    if name == "on_device":
        assert ours.spec.per_layer_embedding.width == 12
        assert [layer.mixer.shared_kv for layer in layers] == [False] * 3 + [True] * 3
        assert [layer.ffn.intermediate_size for layer in layers] == [40] * 3 + [80] * 3
        assert not any(mixer.keys_as_values for mixer in global_layers)
    else:
        assert all(mixer.keys_as_values and mixer.num_kv_heads == 1 for mixer in global_layers)
        assert all(block.mixer.v_proj is None for block in ours.layers if not block.layer.mixer.sliding_window)


def test_the_experts_load_from_the_fused_gate_up_tensor(pair):
    """gate_up_proj [E, 2I, d]: the gate is the first I rows of each expert, up the rest."""
    reference, ours, _, name = pair
    if name != "moe":
        pytest.skip("no experts")
    theirs, mine = reference.model.layers[2], ours.layers[2].ffn
    width = mine.experts.up_proj.shape[1]
    torch.testing.assert_close(mine.experts.gate_proj, theirs.experts.gate_up_proj[:, :width], rtol=0, atol=0)
    torch.testing.assert_close(mine.experts.up_proj, theirs.experts.gate_up_proj[:, width:], rtol=0, atol=0)
    torch.testing.assert_close(mine.experts.down_proj, theirs.experts.down_proj, rtol=0, atol=0)


def test_analysis_counts_the_loaded_model_and_its_cache(pair):
    from app.spec.analysis import analyze

    reference, ours, input_ids, _ = pair
    analysis = analyze(ours.spec)
    assert analysis.total_params == sum(p.numel() for p in ours.parameters())
    assert analysis.total_params == sum(p.numel() for p in reference.parameters())
    cache = ours.new_cache(batch=2, max_len=SEQ_LEN)
    ours(input_ids, cache=cache)
    assert cache.layer_nbytes() == [2 * row.kv_bytes_at(SEQ_LEN, dtype_bytes=4) for row in analysis.layers]


def test_proportional_rope_turns_only_the_fastest_pairs_of_each_half():
    """Spaced over the whole head: the turning pairs' frequencies are those of a full
    rotation of the head, and the rest do not turn at all (transformers' proportional)."""
    from app.model.rope import inverse_frequencies
    from app.spec.parts import Rope

    inv_freq, factor = inverse_frequencies(Rope(theta=1e6, rotary_dim=8, frequency_dim=32))
    full, _ = inverse_frequencies(Rope(theta=1e6, rotary_dim=32))
    assert factor == 1.0 and inv_freq.shape == (16,)
    torch.testing.assert_close(inv_freq[:4], full[:4])
    assert not inv_freq[4:].any()
