"""Gemma 3n as a user sees it: which layers share their keys and values, what the
per-layer embedding table weighs apart from the rest, and the MatFormer width slider."""

import pytest

from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.hf import hf_config_from_spec, spec_from_hf_config
from app.spec.on_device import ffn_fraction, kv_sources, with_ffn_fraction

from .test_catalog_against_transformers import transformers_param_count


@pytest.mark.parametrize("name, layers, shared", [("gemma3n-e2b", 30, 10), ("gemma3n-e4b", 35, 15)])
def test_the_last_layers_share_the_last_sliding_and_global_layer_before_them(name, layers, shared):
    spec = catalog.get(name)
    assert spec.num_layers == layers
    first_shared = layers - shared
    sources = kv_sources(spec)
    assert sources[:first_shared] == [None] * first_shared
    # global layers are every fifth: the last one before sharing starts is first_shared - 1
    last_global, last_sliding = first_shared - 1, first_shared - 2
    assert sources[first_shared:] == [last_global if (i + 1) % 5 == 0 else last_sliding
                                      for i in range(first_shared, layers)]


@pytest.mark.parametrize("name", ["gemma3n-e2b", "gemma3n-e4b"])
def test_sharing_layers_add_no_cache_bytes(name):
    analysis = analyze(catalog.get(name))
    shared = [row for row, layer in zip(analysis.layers, analysis.spec.layers) if layer.mixer.shared_kv]
    assert shared and all(row.kv_bytes_per_token(2) == 0 and row.kv_bytes_at(32_768) == 0 for row in shared)
    # only the layers before them cache: 2 kv heads x (256 + 256) values each, bf16
    owners = analysis.spec.num_layers - len(shared)
    assert analysis.kv_bytes_per_token(2) == owners * 2 * 512 * 2
    assert "shared KV" in shared[0].mixer


@pytest.mark.parametrize("name, table", [("gemma3n-e2b", 262_144 * 30 * 256), ("gemma3n-e4b", 262_144 * 35 * 256)])
def test_the_per_layer_embedding_table_is_reported_apart(name, table):
    analysis = analyze(catalog.get(name))
    assert analysis.per_layer_embedding_params == table
    assert analysis.accelerator_params == analysis.total_params - table
    assert analysis.non_embedding_params == analysis.total_params - table - analysis.embedding_params
    # the table is looked up, not multiplied: it adds no FLOPs
    assert analysis.flops_per_token(0) == 2 * analysis.accelerator_params  # the tied head multiplies once


def test_the_matformer_slider_nests_e2b_widths_inside_e4b():
    e4b = catalog.get("gemma3n-e4b")
    assert ffn_fraction(e4b) == 1.0
    half = with_ffn_fraction(e4b, 0.5)
    assert ffn_fraction(half) == 0.5 and half.validate() == []
    e2b_width = catalog.get("gemma3n-e2b").layers[0].ffn.intermediate_size
    assert {layer.ffn.intermediate_size for layer in half.layers} == {e2b_width}
    saved = 35 * 3 * 2048 * (16_384 - e2b_width)
    assert analyze(e4b).total_params - analyze(half).total_params == saved
    assert analyze(half).total_params == transformers_param_count(hf_config_from_spec(half))
    with pytest.raises(ValueError):
        with_ffn_fraction(e4b, 1.5)


def test_validation_names_a_width_past_the_trained_one_and_a_share_without_source():
    from dataclasses import replace

    spec = catalog.get("gemma3n-e2b", "explore")
    wide = spec.with_layers([replace(spec.layers[0], ffn=replace(spec.layers[0].ffn, intermediate_size=99_999)),
                             *spec.layers[1:]])
    assert [p.path for p in wide.validate()] == ["layers[0].ffn.intermediate_size"]
    first = spec.layers[0]
    orphan = spec.with_layers([replace(first, mixer=replace(first.mixer, shared_kv=True)), *spec.layers[1:]])
    assert [p.path for p in orphan.validate()] == ["layers[0].mixer.shared_kv"]


def test_a_transformers_style_config_with_defaults_reads_as_e4b():
    spec = spec_from_hf_config({"model_type": "gemma3n_text"})
    assert spec == catalog.get("gemma3n-e4b")
