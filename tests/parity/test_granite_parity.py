"""Granite (IBM Granite 4.1 and 3.x dense) against transformers: tiny random checkpoints
written here load through load_pretrained and give the same logits in one forward, token by
token through the cache, and prefill then decode -- Llama's blocks under Granite's four
multipliers: embeddings times embedding_multiplier, the softmax scale attention_multiplier
itself, each sublayer's output times residual_multiplier, logits divided by logits_scaling.

The multipliers are far from 1 and from each other so that a misplaced one shows; one config
is the published form (GQA, tied embeddings, 4.1's embedding, residual and logit values; its
softmax scale 2.0, large enough for tiny random queries to move the attention pattern), the
other MHA with untied embeddings, attention and MLP biases and an explicit head_dim.
"""

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    TOLERANCE,
    assert_every_checkpoint_tensor_is_used,
    assert_prefill_then_decode_matches,
    reference_logits,
    tiny_checkpoints,
)

SEQ_LEN = 11
PREFILL = 6

TINY = {
    "granite_4_1": dict(model_type="granite", vocab_size=97, hidden_size=48, num_hidden_layers=3,
                        num_attention_heads=4, num_key_value_heads=2, intermediate_size=72, rms_norm_eps=1e-5,
                        rope_parameters={"rope_type": "default", "rope_theta": 50_000_000.0},
                        tie_word_embeddings=True, max_position_embeddings=64, embedding_multiplier=12.0,
                        attention_multiplier=2.0, residual_multiplier=0.175, logits_scaling=16.0),
    "biases_untied": dict(model_type="granite", vocab_size=83, hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=4, head_dim=12, intermediate_size=40,
                          attention_bias=True, mlp_bias=True, tie_word_embeddings=False,
                          max_position_embeddings=64, embedding_multiplier=3.0, attention_multiplier=0.3,
                          residual_multiplier=0.6, logits_scaling=0.5),
}


checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN)


def test_a_one_token_prompt_then_decode_matches(pair):
    assert_prefill_then_decode_matches(*pair, prefill=1)


def test_the_spec_carries_each_multiplier_on_its_field(checkpoint, pair):
    _, _, config = checkpoint
    _, ours, _ = pair
    spec = ours.spec
    assert spec.embedding_multiplier == config["embedding_multiplier"]
    assert spec.output_logit_scale == 1 / config["logits_scaling"]
    for layer in spec.layers:
        assert layer.mixer.query_scale == config["attention_multiplier"]
        assert layer.mixer_residual.alpha == layer.ffn_residual.alpha == 1.0
        assert layer.mixer_residual.beta == layer.ffn_residual.beta == config["residual_multiplier"]


def test_every_checkpoint_tensor_is_used(checkpoint):
    """The Llama lineage's names consume the whole checkpoint, biases and an untied head included."""
    _, directory, _ = checkpoint
    assert_every_checkpoint_tensor_is_used(directory)


@pytest.mark.parametrize("which", ["embedding", "attention", "residual", "logits"])
def test_each_multiplier_left_out_would_fail_the_tolerance(pair, which):
    """The parity has teeth: the same weights with any one multiplier set to 1 move the
    logits well past the tolerance."""
    import copy
    from dataclasses import replace

    import torch

    reference, ours, input_ids = pair
    plain = copy.deepcopy(ours)
    if which == "embedding":
        plain.spec = replace(plain.spec, embedding_multiplier=1.0)
    elif which == "logits":
        plain.spec = replace(plain.spec, output_logit_scale=1.0)
    for block in plain.layers:
        if which == "attention":
            block.mixer.scale = block.layer.mixer.head_dim ** -0.5  # Llama's scale
        if which == "residual":
            block.layer = replace(block.layer, mixer_residual=None, ffn_residual=None)
    with torch.no_grad():
        drift = (plain(input_ids) - reference_logits(reference, input_ids)).abs().max().item()
    assert drift > 20 * TOLERANCE


def test_the_published_config_converts_both_ways():
    """spec from the catalog's config.json, and back: every published field the format
    holds comes back as published, and transformers builds the published config with the
    parameters the analysis counts."""
    import torch
    import transformers

    from app.spec import catalog
    from app.spec.analysis import analyze
    from app.spec.hf import hf_config_from_spec

    published = catalog.entry("granite-4.1-30b").config
    written = hf_config_from_spec(catalog.get("granite-4.1-30b"))
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "hidden_act", "rms_norm_eps", "max_position_embeddings",
                "tie_word_embeddings", "embedding_multiplier", "attention_multiplier", "residual_multiplier",
                "logits_scaling"):
        assert written[key] == published[key], key
    assert written["rope_parameters"] == {"rope_type": "default", "rope_theta": published["rope_theta"]}
    config = transformers.AutoConfig.for_model(**published)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    assert analyze(catalog.get("granite-4.1-30b")).total_params == sum(p.numel() for p in model.parameters())
