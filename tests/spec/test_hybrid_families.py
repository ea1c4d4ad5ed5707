"""The hybrid families as a user sees them: which layers keep a growing KV cache and
which a constant state, in the published order, and what that does to cache bytes."""

import pytest

from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.hf import hf_config_from_spec, spec_from_hf_config
from app.spec.serialize import spec_from_json, spec_to_json
from app.spec.ffn import MLP, MoE
from app.spec.mixers import (
    Attention,
    GatedDeltaNet,
    GatedShortConv,
    KimiDeltaAttention,
    LightningAttention,
    Mamba2,
    MultiHeadLatentAttention,
)

HYBRIDS = ["qwen3-next-80b-a3b", "kimi-linear-48b-a3b", "nemotron-3-nano-30b-a3b", "nemotron-3-super-120b-a12b",
           "nemotron-3-ultra-550b-a55b", "minimax-m1", "lfm2.5-1.2b", "lfm2.5-350m", "lfm2.5-8b-a1b"]
LFM2_ATTENTION_LAYERS = {"lfm2.5-1.2b": [2, 5, 8, 10, 12, 14], "lfm2.5-350m": [2, 5, 8, 10, 12, 14],
                         "lfm2.5-8b-a1b": [2, 6, 10, 14, 18, 21]}


def test_qwen3_next_is_three_gated_deltanet_layers_then_one_gated_attention_layer_repeated():
    spec = catalog.get("qwen3-next-80b-a3b")
    assert spec.num_layers == 48
    kinds = [layer.mixer_kind for layer in spec.layers]
    assert kinds == (["gated_deltanet"] * 3 + ["attention"]) * 12
    attention = spec.layers[3].mixer
    assert attention.output_gate and attention.head_dim == 256
    assert attention.rope.rotary_dim == 64  # a quarter of each head rotates
    assert all(layer.norm.unit_offset for layer in spec.layers) and spec.final_norm.unit_offset
    moe = spec.layers[0].ffn
    assert (moe.num_experts, moe.top_k, moe.shared_gate) == (512, 10, True)


def test_qwen3_next_cache_grows_only_with_its_full_attention_layers():
    analysis = analyze(catalog.get("qwen3-next-80b-a3b"))
    # 12 full-attention layers, each caching keys and values of 2 heads x 256, in bf16
    full_layer_bytes_per_token = 12 * 2 * (256 + 256) * 2
    assert analysis.kv_bytes_per_token(2) == full_layer_bytes_per_token
    short, long = analysis.kv_bytes_at(4096, 2), analysis.kv_bytes_at(65536, 2)
    assert long - short == (65536 - 4096) * full_layer_bytes_per_token
    # What is not per-token is the 36 Gated DeltaNet layers' constant state.
    constant = short - 4096 * full_layer_bytes_per_token
    assert constant == analysis.state_bytes(2) > 0
    assert sum(row.state_values > 0 for row in analysis.layers) == 36


def test_nemotron_3_nano_layers_follow_its_published_pattern_string():
    pattern = catalog.entry("nemotron-3-nano-30b-a3b").config["hybrid_override_pattern"]
    spec = catalog.get("nemotron-3-nano-30b-a3b")
    expected = {"M": ("mamba2", "none"), "*": ("attention", "none"), "-": ("none", "mlp"), "E": ("none", "moe")}
    assert [(layer.mixer_kind, layer.ffn_kind) for layer in spec.layers] == [expected[c] for c in pattern]
    assert pattern.count("M") == 23 and pattern.count("E") == 23 and pattern.count("*") == 6
    attention = next(layer.mixer for layer in spec.layers if isinstance(layer.mixer, Attention))
    assert attention.rope is None  # Nemotron-H attention has no positions
    moe = next(layer.ffn for layer in spec.layers if isinstance(layer.ffn, MoE))
    assert moe.expert.activation == "relu2" and not moe.expert.gated and moe.shared is not None
    assert moe.router.scoring == "sigmoid" and moe.router.routed_scaling == 2.5


@pytest.mark.parametrize("name, width, latent, mamba, attention_at", [
    ("nemotron-3-super-120b-a12b", 4096, 1024, 40, [7, 16, 25, 36, 47, 58, 69, 78]),
    ("nemotron-3-ultra-550b-a55b", 8192, 2048, 48, [7, 14, 23, 32, 39, 48, 57, 64, 73, 82, 89, 98]),
])
def test_nemotron_3_super_and_ultra_route_to_experts_in_a_latent(name, width, latent, mamba, attention_at):
    spec = catalog.get(name)
    assert [i for i, layer in enumerate(spec.layers) if isinstance(layer.mixer, Attention)] == attention_at
    assert sum(isinstance(layer.mixer, Mamba2) for layer in spec.layers) == mamba
    moes = [layer.ffn for layer in spec.layers if isinstance(layer.ffn, MoE)]
    assert len(moes) == mamba and len(set(moes)) == 1  # every MoE block alike
    moe = moes[0]
    assert (moe.num_experts, moe.top_k, moe.latent_size, moe.latent_bias) == (512, 22, latent, False)
    assert moe.router.routed_scaling == 5.0 and moe.shared.intermediate_size == 2 * moe.expert.intermediate_size
    # the router reads the full token, the experts the latent: down, up and E experts at the latent width
    experts = 512 * 2 * latent * moe.expert.intermediate_size
    shared = 2 * width * moe.shared.intermediate_size
    assert moe.params(width) == width * 512 + 2 * width * latent + shared + experts
    assert moe.active_params(width) == width * 512 + 2 * width * latent + shared + experts * 22 // 512
    assert "experts in latent %d" % latent in moe.box_lines() and f"in latent {latent}" in moe.describe()
    assert spec.mtp_layers == 1 and analyze(spec).mtp_params > 0  # the MTP head, counted apart


def test_nemotron_3_super_counts_its_checkpoint_without_the_mtp_head():
    """The BF16 safetensors hold 123,611,012,096 weights, 2,942,324,736 of them the MTP head;
    ArchScope's total is the rest, and its active count per token 12,770,216,960."""
    analysis = analyze(catalog.get("nemotron-3-super-120b-a12b"))
    assert analysis.total_params == 123_611_012_096 - 2_942_324_736
    assert analysis.active_params == 12_770_216_960


def test_nemotron_3_ultra_reads_nvidias_block_names():
    """Ultra's config lists its blocks as mamba / moe / attention, which read as transformers' names."""
    config = catalog.entry("nemotron-3-ultra-550b-a55b").config
    assert set(config["layers_block_type"]) == {"mamba", "moe", "attention"}
    renamed = dict(config, layers_block_type=[{"mamba": "linear_attention", "attention": "full_attention"}.get(t, t)
                                              for t in config["layers_block_type"]])
    assert spec_from_hf_config(renamed) == catalog.get("nemotron-3-ultra-550b-a55b")


def test_a_nemotron_config_without_a_latent_stays_as_it_was():
    """Nano has no moe_latent_size (or null): experts at d_model, no latent key written back."""
    nano = catalog.get("nemotron-3-nano-30b-a3b")
    assert all(layer.ffn.latent_size == 0 for layer in nano.layers if isinstance(layer.ffn, MoE))
    config = hf_config_from_spec(nano)
    assert "moe_latent_size" not in config and "num_nextn_predict_layers" not in config
    assert spec_from_hf_config(dict(config, moe_latent_size=None)) == nano
    moe = next(layer.ffn for layer in nano.layers if isinstance(layer.ffn, MoE))
    assert not any("latent" in line for line in moe.box_lines())


def test_kimi_linear_full_layers_are_nope_mla_and_the_rest_kimi_delta_attention():
    spec = catalog.get("kimi-linear-48b-a3b")
    full = [i for i, layer in enumerate(spec.layers) if isinstance(layer.mixer, MultiHeadLatentAttention)]
    assert [i + 1 for i in full] == [4, 8, 12, 16, 20, 24, 27]
    assert all(spec.layers[i].mixer.rope is None for i in full)
    assert all(isinstance(layer.mixer, KimiDeltaAttention) for i, layer in enumerate(spec.layers) if i not in full)
    assert isinstance(spec.layers[0].ffn, MLP)  # first_k_dense_replace = 1
    assert all(isinstance(layer.ffn, MoE) and layer.ffn.router.scoring == "sigmoid" for layer in spec.layers[1:])


def test_minimax_m1_puts_softmax_attention_on_every_eighth_layer_with_weighted_residuals():
    spec = catalog.get("minimax-m1")
    kinds = [type(layer.mixer) for layer in spec.layers]
    assert kinds == ([LightningAttention] * 7 + [Attention]) * 10
    layer = spec.layers[0]
    assert layer.residual_from_norm and layer.mixer_residual.alpha == pytest.approx(3.5566, abs=1e-4)
    assert spec.layers[7].mixer.rope.rotary_dim == 64  # half of each 128-wide head rotates


@pytest.mark.parametrize("name", HYBRIDS)
def test_explore_scale_keeps_every_kind_of_layer_and_stays_small(name):
    full, small = catalog.get(name), catalog.get(name, "explore")
    kinds = {(layer.mixer_kind, layer.ffn_kind) for layer in full.layers}
    assert {(layer.mixer_kind, layer.ffn_kind) for layer in small.layers} == kinds
    assert analyze(small).total_params <= 60_000_000


@pytest.mark.parametrize("name", HYBRIDS)
def test_spec_json_round_trip_keeps_the_hybrid_details(name):
    spec = catalog.get(name)
    assert spec_from_json(spec_to_json(spec)) == spec


def test_recurrent_state_counts_what_the_cache_holds():
    """transformers' caches keep the whole conv window (conv_kernel inputs per channel)
    besides the recurrence, so a Mamba-2 layer of Nemotron 3 Nano holds
    64 heads x 64 x 128 state values plus 4 x (4096 + 2 x 8 x 128) conv values."""
    spec = catalog.get("nemotron-3-nano-30b-a3b")
    row = next(row for row, layer in zip(analyze(spec).layers, spec.layers) if isinstance(layer.mixer, Mamba2))
    assert row.state_values == 64 * 64 * 128 + 4 * (64 * 64 + 2 * 8 * 128)
    deltanet = catalog.get("qwen3-next-80b-a3b").layers[0].mixer
    assert isinstance(deltanet, GatedDeltaNet)
    row = analyze(catalog.get("qwen3-next-80b-a3b")).layers[0]
    assert row.state_values == 32 * 128 * 128 + 4 * (2 * 16 * 128 + 32 * 128)


@pytest.mark.parametrize("name", sorted(LFM2_ATTENTION_LAYERS))
def test_lfm2_5_layers_are_gated_short_convolutions_with_qk_normed_gqa_where_published(name):
    spec = catalog.get(name)
    attends = [i for i, layer in enumerate(spec.layers) if isinstance(layer.mixer, Attention)]
    assert attends == LFM2_ATTENTION_LAYERS[name]
    convs = [layer.mixer for layer in spec.layers if not isinstance(layer.mixer, Attention)]
    assert all(conv == GatedShortConv(channels=spec.d_model, kernel=3) for conv in convs)
    attention = spec.layers[attends[0]].mixer
    assert attention.qk_norm.scope == "head" and attention.head_dim == 64 and spec.tie_embeddings


def test_lfm2_5_dense_widths_follow_transformers_two_thirds_rule():
    """block_ff_dim is the width before the rule: 12288 -> 8192 and 6656 -> 4608 (rounded up to 256)."""
    assert catalog.get("lfm2.5-1.2b").layers[0].ffn == MLP(8192, "silu")
    assert catalog.get("lfm2.5-350m").layers[0].ffn == MLP(4608, "silu")


def test_lfm2_5_8b_a1b_routes_by_sigmoid_after_two_dense_layers():
    spec = catalog.get("lfm2.5-8b-a1b")
    assert [layer.ffn_kind for layer in spec.layers] == ["mlp"] * 2 + ["moe"] * 22
    moe = spec.layers[2].ffn
    assert (moe.num_experts, moe.top_k, moe.expert.intermediate_size, moe.shared) == (32, 4, 1792, None)
    router = moe.router
    assert router.scoring == "sigmoid" and router.score_correction_bias and router.normalize_top_k
    assert router.normalize_epsilon == 1e-6  # transformers' Lfm2MoeTopKRouter
    assert isinstance(spec.layers[0].mixer, GatedShortConv) and spec.layers[2].mixer.rope.theta == 5e6


@pytest.mark.parametrize("name", sorted(LFM2_ATTENTION_LAYERS))
def test_lfm2_config_round_trip_gives_back_the_published_fields(name):
    """What the converter writes says what the published config says; only the MLP width is
    written as built (intermediate_size, adjustment off), which transformers builds the same."""
    published = catalog.entry(name).config
    written = hf_config_from_spec(catalog.get(name))
    spec = catalog.get(name)
    assert spec_from_hf_config(written) == spec
    renamed = {"tie_embedding": "tie_word_embeddings", "rope_theta": "rope_parameters"}
    derived = {"block_ff_dim", "block_auto_adjust_ff_dim", "block_multiple_of", "block_ffn_dim_multiplier",
               "intermediate_size", "conv_dim"}
    for key, value in published.items():
        if key in derived:
            continue
        theirs = written[renamed.get(key, key)]
        if key == "rope_theta":
            theirs = theirs["rope_theta"]
        assert theirs == value, key
    if spec.model_type == "lfm2":
        assert written["intermediate_size"] == spec.layers[0].ffn.intermediate_size
        assert written["block_auto_adjust_ff_dim"] is False
    else:
        assert written["intermediate_size"] == published["intermediate_size"]


def test_lfm2_5_caches_grow_only_in_their_six_attention_layers():
    analysis = analyze(catalog.get("lfm2.5-1.2b"))
    assert analysis.kv_bytes_per_token(2) == 6 * 2 * 8 * 64 * 2  # keys and values of 8 heads x 64, bf16
    # the ten convolution layers keep their 3-token window of B * x: 2048 channels x 3
    assert analysis.state_bytes(2) == 10 * 2048 * 3 * 2



def test_an_lfm2_spec_its_config_cannot_hold_is_refused_by_layer():
    """lfm2_moe has no key for a dense layer after an MoE one, lfm2 none for a convolution
    narrower than the model."""
    from dataclasses import replace

    from app.spec import SpecError

    spec = catalog.get("lfm2.5-8b-a1b", "explore")
    dense = spec.layers[0].ffn
    late_dense = spec.with_layers([replace(layer, ffn=dense) if i == 3 else layer for i, layer in enumerate(spec.layers)])
    with pytest.raises(SpecError, match=r"layers\[3\]\.ffn: lfm2_moe keeps its dense layers first"):
        hf_config_from_spec(late_dense)
    spec = catalog.get("lfm2.5-350m", "explore")
    narrow = GatedShortConv(channels=spec.d_model // 2)
    narrowed = spec.with_layers([replace(layer, mixer=narrow) if isinstance(layer.mixer, GatedShortConv) else layer
                                 for layer in spec.layers])
    with pytest.raises(SpecError, match=r"layers\[0\]\.mixer\.channels: 128 differs from d_model 256"):
        hf_config_from_spec(narrowed)
