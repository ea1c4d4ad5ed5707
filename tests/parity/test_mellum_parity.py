"""Mellum (JetBrains' Mellum2) against transformers: tiny random checkpoints written here load
through load_pretrained and give the same logits in one forward, token by token through the
cache, and prefill then decode -- with sliding-window layers beside full ones (three to one,
as published), each layer type under its own RoPE (YaRN-scaled on the full layers, plain on
the sliding ones), per-head QK-norm, and softmax-routed experts (renormalized top-k) on the
layers mlp_layer_types marks sparse, dense SwiGLU MLPs on the others.

The configs cover the published form (the 3:1 pattern, every layer sparse, YaRN with an
attention factor) and the other settings the format holds (dense layers between sparse ones,
top-k weights left unnormalized, attention biases, a tied head); the sequences
run past the window, so the sliding layers drop keys.
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
        model_type="mellum", vocab_size=97, hidden_size=48, intermediate_size=72, num_hidden_layers=4,
        num_attention_heads=6, num_key_value_heads=2, head_dim=16, layer_types=[_S, _S, _S, _F], sliding_window=4,
        mlp_layer_types=["sparse"] * 4, num_experts=8, num_experts_per_tok=3, moe_intermediate_size=24,
        norm_topk_prob=True,
        rope_parameters={
            _F: {"rope_type": "yarn", "rope_theta": 500000.0, "factor": 16.0, "original_max_position_embeddings": 8,
                 "beta_fast": 32.0, "beta_slow": 1.0, "attention_factor": 1.2772588722239782},
            _S: {"rope_type": "default", "rope_theta": 500000.0},
        },
        rms_norm_eps=1e-6, tie_word_embeddings=False, max_position_embeddings=64),
    "dense_layers_and_biases": dict(
        model_type="mellum", vocab_size=83, hidden_size=32, intermediate_size=40, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=1, head_dim=8, layer_types=[_F, _S, _F, _S], sliding_window=3,
        attention_bias=True, mlp_layer_types=["dense", "sparse", "dense", "sparse"], num_experts=6,
        num_experts_per_tok=2, moe_intermediate_size=12, norm_topk_prob=False,
        rope_parameters={
            _F: {"rope_type": "default", "rope_theta": 20000.0},
            _S: {"rope_type": "default", "rope_theta": 10000.0},
        },
        rms_norm_eps=1e-5, tie_word_embeddings=True, max_position_embeddings=64),
}


checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN)


def test_a_one_token_prompt_then_decode_matches(pair):
    assert_prefill_then_decode_matches(*pair, prefill=1)


def test_the_spec_follows_the_configs_layer_lists(pair, checkpoint):
    """layer_types places the windows, mlp_layer_types the experts; the analysis counts each
    layer as built."""
    from app.spec.analysis import analyze

    _, ours, _ = pair
    _, _, config = checkpoint
    spec = ours.spec
    assert [("sliding_attention" if layer.mixer.sliding_window else "full_attention")
            for layer in spec.layers] == config["layer_types"]
    assert [("sparse" if layer.ffn_kind == "moe" else "dense") for layer in spec.layers] == config["mlp_layer_types"]
    for row, block in zip(analyze(spec).layers, ours.layers):
        assert row.params == sum(p.numel() for p in block.parameters())


def test_every_checkpoint_tensor_is_used(checkpoint):
    _, directory, _ = checkpoint
    stored = assert_every_checkpoint_tensor_is_used(directory)
    assert any(".mlp.experts.0.gate_proj." in name for name in stored)


def test_the_cache_holds_what_the_analysis_counts(pair):
    """Sliding layers stop at their window, full ones keep every token."""
    _, ours, input_ids = pair
    assert_cache_holds_what_the_analysis_counts(ours, input_ids, PREFILL)


def test_without_the_window_the_logits_leave_the_tolerance(pair):
    """The parity has teeth: the same weights with every layer global (the sliding layers'
    window dropped) move the logits well past the tolerance, as the sequence runs past it."""
    import copy
    from dataclasses import replace

    import torch

    reference, ours, input_ids = pair
    unwindowed = copy.deepcopy(ours)
    for block in unwindowed.layers:
        block.mixer.spec = replace(block.mixer.spec, sliding_window=0)
    with torch.no_grad():
        drift = (unwindowed(input_ids) - reference_logits(reference, input_ids)).abs().max().item()
    assert drift > 20 * TOLERANCE


@pytest.mark.parametrize("name", ["mellum2-12b-a2.5b"])
def test_the_published_config_converts_both_ways(name):
    """spec from the catalog's config.json, and back: every published field the format holds
    comes back as published, and transformers builds the published config with the
    parameters the analysis counts."""
    import torch
    import transformers

    from app.spec import catalog
    from app.spec.analysis import analyze
    from app.spec.hf import hf_config_from_spec, spec_from_hf_config

    published = catalog.entry(name).config
    spec = catalog.get(name)
    written = hf_config_from_spec(spec)
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "head_dim", "attention_bias", "rms_norm_eps", "max_position_embeddings",
                "tie_word_embeddings", "sliding_window", "layer_types", "mlp_layer_types", "num_experts",
                "num_experts_per_tok", "moe_intermediate_size", "norm_topk_prob", "hidden_act"):
        assert written[key] == published[key], key
    for kind in (_F, _S):
        rope = published["rope_parameters"][kind]
        assert {key: written["rope_parameters"][kind].get(key) for key in rope} == rope, kind
    assert spec_from_hf_config(written) == spec
    config = transformers.AutoConfig.for_model(**published)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    assert analyze(spec).total_params == sum(p.numel() for p in model.parameters())
    assert [layer.self_attn.sliding_window for layer in model.model.layers] == [
        1024 if kind == _S else None for kind in published["layer_types"]]
