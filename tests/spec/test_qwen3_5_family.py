"""Qwen3.5 / Qwen3.6 as a user sees them: Qwen3-Next's 3:1 Gated DeltaNet / gated attention
decoder with an MoE (397B-A17B, 35B-A3B) or a dense MLP (27B) in every layer; the published
text_config read and written back; what the cache holds."""

import pytest

from app.spec import SpecError, catalog
from app.spec.analysis import analyze
from app.spec.ffn import MLP, MoE
from app.spec.hf import hf_config_from_spec, spec_from_hf_config
from app.spec.hf.qwen3_5 import mrope_sections

QWEN3_5 = {"qwen3.5-397b-a17b": (60, MoE), "qwen3.6-35b-a3b": (40, MoE), "qwen3.6-27b": (64, MLP)}


@pytest.mark.parametrize("name", sorted(QWEN3_5))
def test_three_gated_deltanet_layers_then_one_gated_attention_layer_repeated(name):
    layers, ffn = QWEN3_5[name]
    spec = catalog.get(name)
    assert [layer.mixer_kind for layer in spec.layers] == (["gated_deltanet"] * 3 + ["attention"]) * (layers // 4)
    attention = spec.layers[3].mixer
    assert attention.output_gate and attention.head_dim == 256 and attention.rope.rotary_dim == 64
    assert all(layer.norm.unit_offset for layer in spec.layers) and spec.final_norm.unit_offset
    assert all(type(layer.ffn) is ffn for layer in spec.layers)
    assert not spec.tie_embeddings and spec.vocab_size == 248320


def test_the_moe_router_renormalizes_and_the_shared_expert_is_gated():
    moe = catalog.get("qwen3.5-397b-a17b").layers[0].ffn
    assert (moe.num_experts, moe.top_k, moe.expert.intermediate_size, moe.shared.intermediate_size) == (
        512, 10, 1024, 1024)
    assert moe.router.normalize_top_k and moe.shared_gate


@pytest.mark.parametrize("name", sorted(QWEN3_5))
def test_config_round_trip_gives_back_the_published_fields(name):
    published = catalog.entry(name).config
    written = hf_config_from_spec(catalog.get(name))
    for key, value in published.items():
        if key == "full_attention_interval":  # written as the layer_types it stands for
            assert written["layer_types"] == (["linear_attention"] * (value - 1) + ["full_attention"]) * (
                published["num_hidden_layers"] // value)
        else:
            assert written[key] == value, key


def test_the_whole_published_config_reads_through_its_text_config():
    text = catalog.entry("qwen3.6-35b-a3b").config
    wrapper = {"model_type": "qwen3_5_moe", "architectures": ["Qwen3_5MoeForConditionalGeneration"],
               "text_config": text, "vision_config": {"model_type": "qwen3_5_moe", "depth": 27}}
    spec = spec_from_hf_config(wrapper)
    assert spec.model_type == "qwen3_5_moe_text"
    assert spec == spec_from_hf_config(text)


def test_mrope_sections_split_the_rotary_pairs_as_the_release_does():
    assert mrope_sections(32) == [11, 11, 10]  # Qwen3.5: 64 rotary channels
    assert mrope_sections(3) == [1, 1, 1] and mrope_sections(2) == [1, 1, 0]


@pytest.mark.parametrize("name, full_layers, kv_heads, linear", [
    ("qwen3.5-397b-a17b", 15, 2, (16, 64)), ("qwen3.6-35b-a3b", 10, 2, (16, 32)), ("qwen3.6-27b", 16, 4, (16, 48))])
def test_cache_grows_only_with_the_full_attention_layers(name, full_layers, kv_heads, linear):
    analysis = analyze(catalog.get(name))
    per_token = full_layers * 2 * kv_heads * 256 * 2  # keys and values, head_dim 256, bf16
    assert analysis.kv_bytes_per_token(2) == per_token
    key_heads, value_heads = linear
    # each Gated DeltaNet layer: value_heads x 128 x 128 state, and the conv's 4-input window
    # over q, k (key heads x 128 each) and v (value heads x 128)
    state = value_heads * 128 * 128 + 4 * (2 * key_heads * 128 + value_heads * 128)
    assert analysis.state_bytes(2) == 3 * full_layers * state * 2
    assert analysis.kv_bytes_at(4096, 2) == 4096 * per_token + analysis.state_bytes(2)


def test_a_spec_its_config_cannot_hold_is_refused():
    from dataclasses import replace

    spec = catalog.get("qwen3.6-35b-a3b", "explore")
    moe = spec.layers[0].ffn
    ungated = spec.with_layers([replace(layer, ffn=replace(moe, shared_gate=False)) for layer in spec.layers])
    with pytest.raises(SpecError, match="gated shared expert"):
        hf_config_from_spec(ungated)
    dense = catalog.get("qwen3.6-27b", "explore")
    mixed = dense.with_layers([replace(layer, ffn=moe) if i == 1 else layer for i, layer in enumerate(dense.layers)])
    with pytest.raises(SpecError, match=r"layers\[1\]"):
        hf_config_from_spec(mixed)
