"""Laguna XS.2 as a user sees it: 48 query heads on its 10 global layers and 64 on its 30
sliding ones over 8 key/value heads everywhere, a softplus output gate per head, a dense first
layer before sigmoid-routed experts with a shared one; the published config read and written
back; the per-layer head counts in the catalog row, the layer table and the canvas box."""

import dataclasses

import pytest

from app.spec import SpecError, catalog
from app.spec.analysis import analyze
from app.spec.ffn import MLP, MoE
from app.spec.hf import hf_config_from_spec, spec_from_hf_config
from app.spec.summary import catalog_row, layer_rows


def test_query_heads_differ_by_layer_type_over_one_kv_head_count():
    spec = catalog.get("laguna-xs.2")
    heads = [layer.mixer.num_heads for layer in spec.layers]
    windows = [layer.mixer.sliding_window for layer in spec.layers]
    assert heads == [48, 64, 64, 64] * 10
    assert windows == [0, 512, 512, 512] * 10
    assert {layer.mixer.num_kv_heads for layer in spec.layers} == {8}
    assert {layer.mixer.softplus_gate for layer in spec.layers} == {"head"}
    global_rope, sliding_rope = spec.layers[0].mixer.rope, spec.layers[1].mixer.rope
    assert (global_rope.rotary_dim, global_rope.theta, global_rope.scaling.type) == (64, 500_000.0, "yarn")
    assert (sliding_rope.rotary_dim, sliding_rope.theta, sliding_rope.scaling) == (128, 10_000.0, None)


def test_the_wider_sliding_layers_cost_more_but_cache_the_same():
    """Query heads widen q_proj, o_proj and the gate, never the cache: 16 more heads of 128
    cost 2 x 2048 x 16 x 128 + 2048 x 16 more parameters, and every layer caches 4 KiB."""
    rows = analyze(catalog.get("laguna-xs.2")).layers
    assert rows[5].params - rows[4].params == 2 * 2048 * 16 * 128 + 2048 * 16
    assert {row.kv_bytes_per_token(2) for row in rows} == {8 * 128 * 2 * 2}


def test_a_dense_first_layer_then_experts_with_a_shared_one():
    spec = catalog.get("laguna-xs.2")
    assert isinstance(spec.layers[0].ffn, MLP) and spec.layers[0].ffn.intermediate_size == 8192
    assert all(isinstance(layer.ffn, MoE) for layer in spec.layers[1:])
    moe = spec.layers[1].ffn
    assert (moe.num_experts, moe.top_k, moe.expert.intermediate_size, moe.shared.intermediate_size) == (256, 8, 512, 512)
    router = moe.router
    assert router.scoring == "sigmoid" and router.score_correction_bias and router.normalize_top_k
    assert router.routed_scaling == 2.5
    analysis = analyze(spec)
    assert analysis.total_params == 33_442_607_104  # INC4AI's 33.44B for the checkpoint
    assert analysis.kv_bytes_per_token(2) == 160 * 1024


def test_the_published_config_round_trips():
    published = catalog.entry("laguna-xs.2").config
    spec = catalog.get("laguna-xs.2")
    written = hf_config_from_spec(spec)
    for key, value in published.items():
        if key == "rope_parameters":
            for kind in ("full_attention", "sliding_attention"):
                assert {k: written[key][kind].get(k, 1.0) for k in value[kind]} == value[kind], kind
        elif key in written:
            assert written[key] == value, key
    # what the format does not hold: token ids, dtype, training-only settings
    assert set(published) - set(written) == {"attention_dropout", "router_aux_loss_coef", "bos_token_id",
                                             "eos_token_id", "pad_token_id", "use_cache", "torch_dtype"}
    for scale in ("full", "explore", "slice"):
        scaled = catalog.get("laguna-xs.2", scale)
        assert spec_from_hf_config(hf_config_from_spec(scaled)) == scaled


def test_gating_reads_as_transformers_builds_it():
    """`gating` picks the granularity, never whether there is a gate: false is per channel."""
    config = dict(catalog.entry("laguna-xs.2").config)
    for value, expected in ((True, "head"), ("per-head", "head"), ("per-element", "element"), (False, "element")):
        spec = spec_from_hf_config(config | {"gating": value})
        assert {layer.mixer.softplus_gate for layer in spec.layers} == {expected}
    element = spec_from_hf_config(config | {"gating": "per-element"})
    assert hf_config_from_spec(element)["gating"] == "per-element"
    assert element.layers[1].mixer.params(2048) - catalog.get("laguna-xs.2").layers[1].mixer.params(2048) == \
        2048 * 64 * 127


def test_the_catalog_row_and_layer_table_show_each_layers_heads():
    spec = catalog.get("laguna-xs.2")
    assert catalog_row(spec)["attention"] == "GQA 48/8x128 gated, 10 global + 30 sliding 512 (64 heads)"
    rows = layer_rows(spec)
    assert rows[0]["mixer"] == "GQA 48/8x128 gated" and rows[1]["mixer"] == "GQA 64/8x128 sliding 512 gated"
    assert spec.layers[1].mixer.box_lines() == ["64 heads · 8 KV · dim 128", "RoPE θ 10k",
                                                "window 512 · QK-norm · softplus gate per head"]


@pytest.mark.parametrize("change, words", [
    (lambda a: dataclasses.replace(a, softplus_gate=""), "always gates"),
    (lambda a: dataclasses.replace(a, output_gate=True), "a softplus output gate and nothing else"),
])
def test_only_laguna_attention_is_written(change, words):
    spec = catalog.get("laguna-xs.2", "explore")
    layers = [dataclasses.replace(layer, mixer=change(layer.mixer)) for layer in spec.layers]
    with pytest.raises(SpecError, match=words):
        hf_config_from_spec(spec.with_layers(layers))


def test_an_unknown_gate_is_a_problem_at_its_field():
    spec = catalog.get("laguna-xs.2", "explore")
    layer = spec.layers[2]
    edited = dataclasses.replace(layer, mixer=dataclasses.replace(layer.mixer, softplus_gate="token"))
    problems = spec.with_layers((*spec.layers[:2], edited, *spec.layers[3:])).validate()
    assert [p for p in problems if p.path == "layers[2].mixer.softplus_gate"], problems
