"""Laguna (Poolside's Laguna XS.2) against transformers: tiny random checkpoints written here
load through load_pretrained and give the same logits in one forward, token by token through
the cache, and prefill then decode -- with a different query-head count from layer to layer
over one key/value head count, sliding-window layers beside global ones, each layer type
under its own RoPE (partial and YaRN-scaled on the global layers, as published), per-head
QK-norm, a softplus output gate from a projection of its own (per head, or per channel),
and a sigmoid router with a selection-only correction bias over routed experts plus a shared
expert, beside dense layers.

The configs cover the published form (global layers with fewer heads, `gating` true, layer 0
dense, routed scaling 2.5, YaRN) and the other settings the format holds (per-channel gate,
attention biases, router logit soft-capping, dense layers between sparse ones, more heads on
the global layers); the sequences run past the window, so the sliding layers drop keys.
"""

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    TOLERANCE,
    assert_every_checkpoint_tensor_is_used,
    assert_cache_holds_what_the_analysis_counts,
    assert_prefill_then_decode_matches,
    reference_logits,
    tiny_checkpoints,
)

SEQ_LEN = 11
PREFILL = 6
_S, _F = "sliding_attention", "full_attention"

TINY = {
    "published_form": dict(
        model_type="laguna", vocab_size=97, hidden_size=48, intermediate_size=72, num_hidden_layers=5,
        num_attention_heads=4, num_attention_heads_per_layer=[4, 8, 8, 8, 4], num_key_value_heads=2, head_dim=16,
        layer_types=[_F, _S, _S, _S, _F], sliding_window=4, gating=True,
        mlp_layer_types=["dense", "sparse", "sparse", "sparse", "sparse"], num_experts=8, num_experts_per_tok=2,
        moe_intermediate_size=24, shared_expert_intermediate_size=20, moe_routed_scaling_factor=2.5,
        rope_parameters={
            _F: {"rope_type": "yarn", "rope_theta": 500000.0, "factor": 32.0, "original_max_position_embeddings": 8,
                 "beta_fast": 64.0, "beta_slow": 1.0, "attention_factor": 1.0, "partial_rotary_factor": 0.5},
            _S: {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 1.0},
        },
        rms_norm_eps=1e-6, tie_word_embeddings=False, max_position_embeddings=64),
    "per_channel_gate": dict(
        model_type="laguna", vocab_size=83, hidden_size=32, intermediate_size=40, num_hidden_layers=4,
        num_attention_heads=6, num_attention_heads_per_layer=[6, 2, 4, 2], num_key_value_heads=2, head_dim=8,
        layer_types=[_F, _S, _F, _S], sliding_window=3, gating="per-element", attention_bias=True,
        mlp_layer_types=["sparse", "dense", "sparse", "dense"], num_experts=6, num_experts_per_tok=3,
        moe_intermediate_size=12, shared_expert_intermediate_size=16, moe_router_logit_softcapping=2.0,
        rope_parameters={
            _F: {"rope_type": "default", "rope_theta": 20000.0, "partial_rotary_factor": 0.5},
            _S: {"rope_type": "default", "rope_theta": 10000.0},
        },
        rms_norm_eps=1e-5, tie_word_embeddings=True, max_position_embeddings=64),
}


checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN)


def test_a_one_token_prompt_then_decode_matches(pair):
    assert_prefill_then_decode_matches(*pair, prefill=1)


def test_the_spec_has_the_configs_head_counts_layer_by_layer(pair, checkpoint):
    """Each layer's attention has its own query heads (and the projections their widths),
    one key/value head count throughout; the analysis counts each layer as built."""
    from app.spec.analysis import analyze

    _, ours, _ = pair
    _, _, config = checkpoint
    spec = ours.spec
    assert [layer.mixer.num_heads for layer in spec.layers] == config["num_attention_heads_per_layer"]
    assert len({layer.mixer.num_kv_heads for layer in spec.layers}) == 1
    for row, layer, block in zip(analyze(spec).layers, spec.layers, ours.layers):
        attention = block.mixer
        assert attention.q_proj.out_features == layer.mixer.num_heads * layer.mixer.head_dim
        assert attention.o_proj.in_features == layer.mixer.num_heads * layer.mixer.head_dim
        assert attention.g_proj.out_features == layer.mixer.gate_projection_width
        assert row.params == sum(p.numel() for p in block.parameters())


def test_every_checkpoint_tensor_is_used(checkpoint):
    """The name map consumes the whole checkpoint: the gate projections, the per-expert
    tensors, the shared expert, the router and its correction bias."""
    from app.weights.names_moe import router_bias_buffers

    _, directory, _ = checkpoint
    stored = assert_every_checkpoint_tensor_is_used(directory, router_bias_buffers)
    assert any(".self_attn.g_proj." in name for name in stored)


def test_the_cache_holds_what_the_analysis_counts(pair):
    """Sliding layers stop at their window, global ones keep every token; the query heads,
    which differ by layer, cache nothing."""
    _, ours, input_ids = pair
    assert_cache_holds_what_the_analysis_counts(ours, input_ids, PREFILL)


def test_without_the_softplus_gate_the_logits_leave_the_tolerance(pair):
    """The parity has teeth: the same weights without the output gate move the logits well
    past the tolerance."""
    import copy

    import torch

    reference, ours, input_ids = pair
    ungated = copy.deepcopy(ours)
    for block in ungated.layers:
        block.mixer.g_proj = None
    with torch.no_grad():
        drift = (ungated(input_ids) - reference_logits(reference, input_ids)).abs().max().item()
    assert drift > 20 * TOLERANCE


@pytest.mark.parametrize("name", ["laguna-xs.2"])
def test_the_published_config_converts_both_ways(name):
    """spec from the catalog's config.json, and back: every published field the format
    holds comes back as published, and transformers builds the published config with the
    parameters the analysis counts (its frozen correction biases aside)."""
    import torch
    import transformers

    from app.spec import catalog
    from app.spec.analysis import analyze
    from app.spec.hf import hf_config_from_spec, spec_from_hf_config

    published = catalog.entry(name).config
    spec = catalog.get(name)
    written = hf_config_from_spec(spec)
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_attention_heads_per_layer", "num_key_value_heads", "head_dim", "attention_bias", "rms_norm_eps",
                "max_position_embeddings", "tie_word_embeddings", "sliding_window", "layer_types", "gating",
                "mlp_layer_types", "num_experts", "num_experts_per_tok", "moe_intermediate_size",
                "shared_expert_intermediate_size", "moe_routed_scaling_factor"):
        assert written[key] == published[key], key
    for kind in (_F, _S):
        rope = published["rope_parameters"][kind]
        assert {key: written["rope_parameters"][kind].get(key, 1.0) for key in rope} == rope, kind
    assert spec_from_hf_config(written) == spec
    config = transformers.AutoConfig.for_model(**published)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert analyze(spec).total_params == trained
    assert [layer.self_attn.num_heads for layer in model.model.layers] == published["num_attention_heads_per_layer"]
