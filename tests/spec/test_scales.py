"""The explore and slice scales keep the structure a user came to study."""

import pytest

from app.spec import catalog
from app.spec.ffn import MoE
from app.spec.mixers import Attention
from app.spec.analysis import analyze

EXPLORE_PARAMS_LIMIT = 60e6


def layer_kind(layer):
    """What makes a layer structurally different, whatever its widths."""
    mixer = layer.mixer
    attention = isinstance(mixer, Attention)
    return (
        layer.mixer_kind,
        layer.ffn_kind,
        attention and bool(mixer.sliding_window),
        attention and bool(mixer.chunk_size),
        attention and mixer.rope is None,
        isinstance(layer.ffn, MoE) and layer.ffn.shared is not None,
        layer.norm_placement,
    )


@pytest.mark.parametrize("name", catalog.names())
def test_explore_is_small_and_keeps_every_kind_of_layer(name):
    full, small = catalog.get(name), catalog.get(name, "explore")
    assert small.validate() == []
    assert analyze(small).total_params <= EXPLORE_PARAMS_LIMIT
    assert {layer_kind(layer) for layer in small.layers} == {layer_kind(layer) for layer in full.layers}
    # Dense-first layers (DeepSeek V3's three) stay first.
    leading_dense = next((i for i, layer in enumerate(full.layers) if isinstance(layer.ffn, MoE)), 0)
    if leading_dense and leading_dense <= 3:
        assert [isinstance(layer.ffn, MoE) for layer in small.layers[:leading_dense + 1]] == \
            [False] * leading_dense + [True]


@pytest.mark.parametrize("name", catalog.names())
def test_explore_keeps_the_head_grouping_where_it_fits(name):
    for full_layer, small_layer in zip(catalog.get(name).layers, catalog.get(name, "explore").layers):
        if isinstance(full_layer.mixer, Attention) and isinstance(small_layer.mixer, Attention):
            full_group = full_layer.mixer.num_heads // full_layer.mixer.num_kv_heads
            small_group = small_layer.mixer.num_heads // small_layer.mixer.num_kv_heads
            assert small_group == min(full_group, small_layer.mixer.num_heads)


@pytest.mark.parametrize("name", catalog.names())
def test_slice_has_one_layer_of_each_kind_at_published_width(name):
    full, sliced = catalog.get(name), catalog.get(name, "slice")
    assert sliced.d_model == full.d_model
    assert len(set(sliced.layers)) == len(sliced.layers)
    assert set(sliced.layers) == set(full.layers)


def test_sliding_layers_plateau_at_their_window():
    if "gemma3-27b" not in catalog.names():
        pytest.skip("Gemma 3 entries not in the catalog")
    analysis = analyze(catalog.get("gemma3-27b"))
    sliding = [row for row in analysis.layers if row.window]
    assert sliding and all(row.window == 1024 for row in sliding)
    per_token_global = sum(row.kv_bytes_per_token(2) for row in analysis.layers if not row.window)
    grown = analysis.kv_bytes_at(131_072) - analysis.kv_bytes_at(65_536)
    assert grown == 65_536 * per_token_global  # only global layers keep growing
    at_window = sum(row.kv_bytes_per_token(2) * 1024 for row in sliding)
    assert analysis.kv_bytes_at(131_072) == 131_072 * per_token_global + at_window
