"""Cohere2 (Tiny Aya, Command A) against transformers: tiny random checkpoints written here
load through load_pretrained and give the same logits in one forward, token by token through
the cache, and prefill then decode -- every layer a parallel block (attention and MLP on one
LayerNorm of the input, both added to the residual), sliding layers under interleaved RoPE
beside global layers with no positions, logits times logit_scale.

The configs cover the published form (layer_types, tied embeddings, GQA) and the older one
(sliding_window_pattern, untied embeddings, MHA, attention biases); the sequences run past
the window, so the sliding layers drop keys.
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
    "layer_types": dict(model_type="cohere2", vocab_size=97, hidden_size=48, num_hidden_layers=5,
                        num_attention_heads=4, num_key_value_heads=2, intermediate_size=72,
                        layer_types=[_S, _S, _F, _S, _F], sliding_window=4, logit_scale=0.25,
                        rope_parameters={"rope_type": "default", "rope_theta": 50_000.0},
                        tie_word_embeddings=True, max_position_embeddings=64),
    "pattern_key": dict(model_type="cohere2", vocab_size=83, hidden_size=32, num_hidden_layers=6,
                        num_attention_heads=4, num_key_value_heads=4, intermediate_size=40,
                        sliding_window_pattern=3, sliding_window=3, logit_scale=0.0625, attention_bias=True,
                        layer_norm_eps=1e-6, tie_word_embeddings=False, max_position_embeddings=64),
}


checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN)


def test_a_one_token_prompt_then_decode_matches(pair):
    assert_prefill_then_decode_matches(*pair, prefill=1)


def test_the_spec_has_parallel_blocks_sliding_rope_and_global_nope(pair):
    from app.spec.analysis import analyze

    _, ours, _ = pair
    spec = ours.spec
    assert all(layer.parallel for layer in spec.layers)
    sliding = [layer.mixer.sliding_window > 0 for layer in spec.layers]
    assert any(sliding) and not all(sliding)
    for layer, slides in zip(spec.layers, sliding):
        assert (layer.mixer.rope is not None) == slides
        assert layer.mixer.rope is None or layer.mixer.rope.interleaved
    # one LayerNorm (no bias) per layer: d values, not 2d
    norm = spec.d_model
    assert all(layer.norm.kind == "layernorm" and not layer.norm.bias for layer in spec.layers)
    for row, layer in zip(analyze(spec).layers, spec.layers):
        matrices = sum(p.numel() for name, p in ours.layers[row.index].named_parameters() if "norm" not in name)
        assert row.params == matrices + norm
        assert ours.layers[row.index].pre_ffn_norm is None


def test_every_checkpoint_tensor_is_used(checkpoint):
    """The name map consumes the whole checkpoint: the one input_layernorm per layer, the
    projections, the final norm, and the head where it is not tied."""
    _, directory, _ = checkpoint
    assert_every_checkpoint_tensor_is_used(directory)


def test_the_cache_holds_what_the_analysis_counts(pair):
    """Sliding layers stop at their window, global ones keep every token."""
    _, ours, input_ids = pair
    assert_cache_holds_what_the_analysis_counts(ours, input_ids, PREFILL)


def test_a_serial_block_would_fail_the_tolerance(pair):
    """The parity has teeth: the same weights run as a serial block (the MLP reading the norm
    of the attention's residual sum) move the logits well past the tolerance."""
    import copy
    from dataclasses import replace

    import torch

    reference, ours, input_ids = pair
    serial = copy.deepcopy(ours)
    for block in serial.layers:
        block.layer = replace(block.layer, parallel=False)
        block.pre_ffn_norm = block.pre_mixer_norm
    with torch.no_grad():
        drift = (serial(input_ids) - reference_logits(reference, input_ids)).abs().max().item()
    assert drift > 20 * TOLERANCE


@pytest.mark.parametrize("name", ["tiny-aya", "command-a"])
def test_the_published_config_converts_both_ways(name):
    """spec from the catalog's config.json, and back: every published field the format
    holds comes back as published, and transformers builds the published config with the
    parameters the analysis counts."""
    import torch
    import transformers

    from app.spec import catalog
    from app.spec.analysis import analyze
    from app.spec.hf import hf_config_from_spec

    published = catalog.entry(name).config
    written = hf_config_from_spec(catalog.get(name))
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "hidden_act", "layer_norm_eps", "attention_bias", "logit_scale",
                "max_position_embeddings", "tie_word_embeddings", "sliding_window", "layer_types", "rope_parameters"):
        assert written[key] == published[key], key
    config = transformers.AutoConfig.for_model(**published)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    assert analyze(catalog.get(name)).total_params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("key, value, expected", [
    ("head_dim", 64, "head_dim: Cohere2 derives it as hidden_size / num_attention_heads = 8, found 64"),
    ("layer_types", ["sliding_attention", "chunked"], "layer_types"),
    ("logit_scale", 0, "logit_scale"),
])
def test_hostile_cohere2_keys_are_refused_by_name(key, value, expected):
    from app.spec.errors import SpecError
    from app.spec.hf import spec_from_hf_config

    config = dict(TINY["pattern_key"]) | {key: value}
    with pytest.raises(SpecError, match=expected):
        spec_from_hf_config(config)


def test_a_parallel_block_is_validated_at_its_field():
    """Both sublayers, Pre-Norm and plain residual sums, each rule reported at
    layers[i].parallel."""
    from dataclasses import replace

    from app.spec import catalog

    spec = catalog.get("tiny-aya", "explore")
    layer = spec.layers[0]
    for edited, words in ((replace(layer, ffn=None), "needs both a mixer and a feed-forward"),
                          (replace(layer, norm_placement="sandwich"), "found norm_placement 'sandwich'"),
                          (replace(layer, residual_from_norm=True), "plain residual")):
        problems = spec.with_layers((edited, *spec.layers[1:])).validate()
        assert [p for p in problems if p.path == "layers[0].parallel" and words in p.message], problems
