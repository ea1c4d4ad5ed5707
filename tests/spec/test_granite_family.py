"""Granite 4.1 30B as a user sees it: Llama's blocks under four muP multipliers, each on the
spec field that means it; the published config read and written back at every scale; an
edited spec the granite format cannot hold refused by name; the softmax scale in the layer's box."""

import dataclasses

import pytest

from app.spec import SpecError, catalog
from app.spec.analysis import analyze
from app.spec.components import ResidualScale
from app.spec.hf import hf_config_from_spec, spec_from_hf_config

SLUG = "granite-4.1-30b"


def test_each_multiplier_lands_on_its_field():
    spec = catalog.get(SLUG)
    assert spec.embedding_multiplier == 12.0 and spec.output_logit_scale == 1 / 16
    assert not spec.embedding_scale and spec.tie_embeddings
    for layer in spec.layers:
        assert layer.mixer.query_scale == 1 / 128 and layer.mixer.query_pre_attn_scalar == 0.0
        assert layer.mixer_residual == layer.ffn_residual == ResidualScale(alpha=1.0, beta=0.175)
    analysis = analyze(spec)
    assert analysis.total_params == 28_865_728_512
    assert analysis.kv_bytes_per_token(2) == 256 * 1024


def test_the_published_config_round_trips():
    published = catalog.entry(SLUG).config
    written = hf_config_from_spec(catalog.get(SLUG))
    for key, value in published.items():
        if key in written:
            assert written[key] == value, key
    assert written["rope_parameters"] == {"rope_type": "default", "rope_theta": published["rope_theta"]}
    assert set(published) - set(written) == {"rope_theta"}  # written as rope_parameters
    for scale in ("full", "explore", "slice"):
        scaled = catalog.get(SLUG, scale)
        assert spec_from_hf_config(hf_config_from_spec(scaled)) == scaled


def test_the_explore_scale_keeps_the_softmax_scale_at_one_over_head_dim():
    """Granite's attention_multiplier is 1/head_dim (muP); the explore scale narrows the head
    and keeps that proportion, where 1/sqrt(head_dim) would be another model."""
    for scale in ("explore", "slice"):
        attention = catalog.get(SLUG, scale).layers[0].mixer
        assert attention.query_scale * attention.head_dim == 1.0


def _edited(change):
    spec = catalog.get(SLUG, "explore")
    return spec.with_layers([change(layer) for layer in spec.layers])


@pytest.mark.parametrize("change, words", [
    (lambda l: dataclasses.replace(l, ffn_residual=None), "one residual_multiplier on both sublayers"),
    (lambda l: dataclasses.replace(l, mixer_residual=ResidualScale(0.5, 0.175), ffn_residual=ResidualScale(0.5, 0.175)),
     "the residual itself unweighted"),
    (lambda l: dataclasses.replace(l, norm_placement="post"), "a Pre-Norm sequential block"),
    (lambda l: dataclasses.replace(l, mixer=dataclasses.replace(l.mixer, sliding_window=64)),
     "global attention with RoPE"),
    (lambda l: dataclasses.replace(l, mixer=dataclasses.replace(l.mixer, qkv_bias=True)),
     "one bias setting for q, k, v and o"),
])
def test_a_layer_the_format_cannot_hold_is_refused(change, words):
    with pytest.raises(SpecError, match=words):
        hf_config_from_spec(_edited(change))


def test_the_softmax_scale_given_twice_is_a_problem_at_its_field():
    spec = _edited(lambda l: dataclasses.replace(l, mixer=dataclasses.replace(l.mixer, query_pre_attn_scalar=64.0)))
    problems = [p for p in spec.validate() if p.path == "layers[0].mixer.query_scale"]
    assert problems and "given twice" in problems[0].message


def test_a_gemma_scale_writes_as_its_multiplier():
    """A spec scaled the Gemma way (query_pre_attn_scalar) writes the softmax scale it means."""
    spec = _edited(lambda l: dataclasses.replace(l, mixer=dataclasses.replace(l.mixer, query_scale=0.0,
                                                                               query_pre_attn_scalar=64.0)))
    assert hf_config_from_spec(spec)["attention_multiplier"] == 0.125


def test_the_attention_box_names_the_softmax_scale():
    assert catalog.get(SLUG).layers[0].mixer.box_lines() == ["32 heads · 8 KV · dim 128", "RoPE θ 50M", "scale 1/128"]
