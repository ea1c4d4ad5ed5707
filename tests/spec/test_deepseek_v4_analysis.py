"""DeepSeek V4's analysis worked by hand from the published configs: the hyper-connections'
parameters, the cache a CSA, an HCA and a window-only layer hold, and the attention FLOPs of
a query (transformers' meta count and the model cards are checked in
test_catalog_against_transformers.py, the cache against our torch cache in the parity test)."""

import pytest

from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.hf import hf_config_from_spec, spec_from_hf_config
from app.spec.errors import SpecError

BF16 = 2


def test_the_streams_add_two_maps_per_layer_and_the_heads_collapse():
    spec = catalog.get("deepseek-v4-pro")
    streams = spec.hyper_connections
    assert (streams.streams, streams.sinkhorn_iters) == (4, 20)
    # (2 + 4) x 4 = 24 weights from the 4 x 7168 flattened streams, their biases, 3 scales; twice
    assert streams.layer_params(7168) == 2 * (24 * 28672 + 24 + 3) == 1_376_310
    assert streams.head_params(7168) == 4 * 28672 + 4 + 1


def test_the_layer_pattern_is_the_published_compress_ratios():
    flash = [layer.mixer.describe().split()[0] for layer in catalog.get("deepseek-v4-flash").layers]
    pro = [layer.mixer.describe().split()[0] for layer in catalog.get("deepseek-v4-pro").layers]
    assert flash == ["SWA", "SWA"] + ["CSA", "HCA"] * 20 + ["CSA"]
    assert pro == ["HCA", "HCA"] + ["CSA", "HCA"] * 29 + ["CSA"]
    hashed = [layer.ffn.router.hash_routed for layer in catalog.get("deepseek-v4-pro").layers]
    assert hashed == [True] * 3 + [False] * 58


def test_kv_bytes_per_token_count_the_window_and_each_layers_share_of_an_entry():
    # Pro: 61 windows of one 512-value head; 30 CSA layers add (512 + 128 index) / 4, 31 HCA 512 / 128
    assert analyze(catalog.get("deepseek-v4-pro")).kv_bytes_per_token(BF16) == \
        (61 * 512 + 30 * 640 / 4 + 31 * 512 / 128) * BF16 == 72_312
    # Flash: 43 windows, 21 CSA and 20 HCA layers
    assert analyze(catalog.get("deepseek-v4-flash")).kv_bytes_per_token(BF16) == \
        (43 * 512 + 21 * 640 / 4 + 20 * 512 / 128) * BF16 == 50_912


def test_kv_bytes_at_a_context_hold_the_window_the_entries_and_the_open_window():
    rows = analyze(catalog.get("deepseek-v4-pro")).layers
    hca, csa = rows[0], rows[2]
    # 1000 tokens: the window's 128; HCA: 7 entries and 104 tokens not yet pooled (kv and gate,
    # 512 each); CSA: 250 entries of 512 + 128, nothing open, the last window's first series
    # and gates carried (4 tokens x 2 x (512 + 128))
    assert hca.kv_bytes_at(1000, BF16) == (128 * 512 + 7 * 512 + 104 * 2 * 512) * BF16
    assert csa.kv_bytes_at(1000, BF16) == (128 * 512 + 250 * 640 + 4 * 2 * 640) * BF16
    # 1001: CSA holds one open token (2 series of 512 and 2 of 128, kv and gate)
    assert csa.kv_bytes_at(1001, BF16) - csa.kv_bytes_at(1000, BF16) == 2 * (2 * 512 + 2 * 128) * BF16
    window = analyze(catalog.get("deepseek-v4-flash")).layers[0]
    assert window.kv_bytes_at(1000, BF16) == window.kv_bytes_at(128, BF16) == 128 * 512 * BF16


def test_a_query_attends_to_its_window_and_the_top_k_or_all_entries():
    layers = catalog.get("deepseek-v4-pro").layers
    csa, hca = layers[2].mixer, layers[0].mixer
    context = 65536
    # CSA: 128 window keys and the indexer's 1024 of 16384 entries, scores and values over 512;
    # the indexer's 64 heads of 128 over every entry, weighted; the token's pooled sums
    assert csa.score_flops_per_token(context) == (4 * 128 * 512 * (128 + 1024) + 2 * 2 * 512
                                                  + 2 * 64 * 129 * 16384 + 2 * 2 * 128)
    # HCA: all 512 entries of 128 tokens
    assert hca.score_flops_per_token(context) == 4 * 128 * 512 * (128 + 512) + 2 * 512


@pytest.mark.parametrize("key, value", [("num_key_value_heads", 8), ("n_shared_experts", 2),
                                        ("norm_topk_prob", False), ("compress_ratios", [64] * 61)])
def test_a_config_transformers_would_build_otherwise_is_refused_by_name(key, value):
    config = dict(catalog.entry("deepseek-v4-pro").config, **{key: value})
    with pytest.raises(SpecError, match=key):
        spec_from_hf_config(config)


def test_written_configs_read_back_as_the_same_spec():
    for slug in ("deepseek-v4-flash", "deepseek-v4-pro"):
        for scale in ("full", "explore", "slice"):
            spec = catalog.get(slug, scale)
            assert spec_from_hf_config(hf_config_from_spec(spec)) == spec
