"""The DeepSeek lineage as a user studies it: dense-first MoE stacks, MLA's small cache,
V3.2's indexer key, and MiMo-V2-Flash's sliding layers that stop growing at 128 tokens."""

from dataclasses import replace

import pytest

from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.ffn import MLP, MoE
from app.spec.mixers import Attention, MultiHeadLatentAttention
from app.spec.errors import SpecError
from app.spec.hf import hf_config_from_spec, spec_from_hf_config

BF16 = 2


def test_deepseek_v3_has_three_dense_layers_then_58_moe_layers():
    spec = catalog.get("deepseek-v3")
    kinds = [type(layer.ffn) for layer in spec.layers]
    assert kinds == [MLP] * 3 + [MoE] * 58
    moe = spec.layers[3].ffn
    assert (moe.num_experts, moe.top_k, moe.expert.intermediate_size) == (256, 8, 2048)
    assert moe.shared.intermediate_size == 2048  # one shared expert of a routed expert's width
    router = moe.router
    assert router.scoring == "sigmoid" and router.score_correction_bias and router.normalize_top_k
    assert (router.num_groups, router.top_k_groups, router.routed_scaling) == (8, 4, 2.5)
    assert spec.mtp_layers == 1


def test_deepseek_v3_caches_only_the_latent_and_the_rope_key():
    analysis = analyze(catalog.get("deepseek-v3"))
    assert analysis.kv_bytes_per_token(BF16) == (512 + 64) * 61 * 2
    assert analysis.kv_bytes_at(1000, BF16) == 1000 * (512 + 64) * 61 * 2


def test_deepseek_v32_adds_the_indexer_key_to_every_layer():
    spec = catalog.get("deepseek-v3.2")
    indexers = {layer.mixer.indexer for layer in spec.layers}
    assert len(indexers) == 1
    indexer = indexers.pop()
    assert (indexer.num_heads, indexer.head_dim, indexer.top_k) == (64, 128, 2048)
    assert analyze(spec).kv_bytes_per_token(BF16) == (512 + 64 + 128) * 61 * 2


def test_deepseek_r1_is_deepseek_v3():
    assert catalog.get("deepseek-r1") == catalog.get("deepseek-v3")


def test_kimi_k2_is_deepseek_v3_with_more_experts_and_fewer_heads():
    spec = catalog.get("kimi-k2")
    assert spec.model_type == "deepseek_v3"
    assert [type(layer.ffn) for layer in spec.layers] == [MLP] + [MoE] * 60
    moe = spec.layers[1].ffn
    assert (moe.num_experts, moe.top_k, moe.router.num_groups) == (384, 8, 1)
    assert {layer.mixer.num_heads for layer in spec.layers} == {64}


def test_mistral_large_3_routes_with_a_plain_softmax():
    spec = catalog.get("mistral-3-large")
    router = spec.layers[3].ffn.router
    assert router.scoring == "softmax" and not router.score_correction_bias
    assert all(isinstance(layer.mixer, MultiHeadLatentAttention) for layer in spec.layers)
    assert spec.layers[0].mixer.query_position_scale == 0.1


def test_glm45_rotates_half_of_each_head_with_qkv_bias_and_qk_norm():
    attention = catalog.get("glm-4.5").layers[0].mixer
    assert (attention.num_heads, attention.num_kv_heads, attention.head_dim) == (96, 8, 128)
    assert attention.rope.rotary_dim == 64 and not attention.rope.interleaved
    assert attention.qkv_bias and not attention.out_bias and attention.qk_norm.scope == "head"
    assert catalog.get("glm-4.5-air").layers[0].mixer.qk_norm is None


def test_glm47_and_intellect3_keep_their_predecessors_layers():
    glm47, glm45 = catalog.get("glm-4.7"), catalog.get("glm-4.5")
    assert glm47.layers == glm45.layers and glm47.max_context == 202752
    assert catalog.get("intellect-3").layers == catalog.get("glm-4.5-air").layers
    # 92 layers x 8 kv heads x 128 x (k + v) in bf16: the gallery's 368 KiB per token
    assert analyze(glm47).kv_bytes_per_token(BF16) == 368 * 1024


def test_mimo_v2_flash_alternates_five_sliding_layers_with_one_global():
    spec = catalog.get("mimo-v2-flash")
    sliding = [bool(layer.mixer.sliding_window) for layer in spec.layers]
    assert sliding == [not (i == 0 or (i + 1) % 6 == 0) for i in range(48)]
    local, global_ = spec.layers[1].mixer, spec.layers[0].mixer
    assert (local.sliding_window, local.num_kv_heads, local.sinks) == (128, 8, True)
    assert (global_.sliding_window, global_.num_kv_heads, global_.sinks) == (0, 4, False)
    for attention in (local, global_):  # values narrower than queries and keys, partial RoPE
        assert (attention.head_dim, attention.v_dim, attention.rope.rotary_dim) == (192, 128, 64)
    assert local.rope.theta == 10_000 and global_.rope.theta == 5_000_000
    assert isinstance(spec.layers[0].ffn, MLP) and all(isinstance(layer.ffn, MoE) for layer in spec.layers[1:])
    assert spec.layers[1].ffn.shared is None


def test_mimo_v2_flash_sliding_layers_plateau_at_the_window():
    analysis = analyze(catalog.get("mimo-v2-flash"))
    sliding = [row for row in analysis.layers if row.window]
    global_rows = [row for row in analysis.layers if not row.window]
    assert len(sliding) == 39 and all(row.window == 128 for row in sliding)
    per_token_global = sum(row.kv_bytes_per_token(BF16) for row in global_rows)
    assert per_token_global == 9 * 4 * (192 + 128) * BF16
    # Past the window only the nine global layers keep growing.
    assert analysis.kv_bytes_at(65_536, BF16) - analysis.kv_bytes_at(32_768, BF16) == 32_768 * per_token_global
    at_window = sum(row.kv_bytes_per_token(BF16) * 128 for row in sliding)
    assert analysis.kv_bytes_at(65_536, BF16) == 65_536 * per_token_global + at_window
    assert analysis.kv_bytes_at(100, BF16) == 100 * analysis.kv_bytes_per_token(BF16)


def test_mimo_config_cannot_hold_sliding_layers_without_twice_the_kv_heads():
    spec = catalog.get("mimo-v2-flash", "slice")
    edited = spec.with_layers(
        replace(layer, mixer=replace(layer.mixer, num_kv_heads=layer.mixer.num_kv_heads * 4))
        if isinstance(layer.mixer, Attention) and layer.mixer.sliding_window else layer
        for layer in spec.layers)
    with pytest.raises(SpecError, match=r"layers\[1\]\.mixer"):
        hf_config_from_spec(edited)


def test_deepseek_v3_config_cannot_hold_dense_layers_after_moe_ones():
    spec = catalog.get("deepseek-v3", "slice")  # [dense, MoE]
    with pytest.raises(SpecError, match="first_k_dense_replace"):
        hf_config_from_spec(spec.with_layers(reversed(spec.layers)))


def test_glm5_is_deepseek_v32_with_an_interleaved_indexer_at_glm_scale():
    spec = catalog.get("glm-5")
    assert spec.model_type == "glm_moe_dsa" and spec.mtp_layers == 1
    assert [type(layer.ffn) for layer in spec.layers] == [MLP] * 3 + [MoE] * 75
    mla = spec.layers[0].mixer
    assert (mla.num_heads, mla.q_lora_rank, mla.kv_lora_rank, mla.qk_nope_head_dim, mla.qk_rope_head_dim,
            mla.v_head_dim) == (64, 2048, 512, 192, 64, 256)
    assert mla.rope.interleaved and mla.rope.theta == 1_000_000
    indexer = mla.indexer
    assert (indexer.num_heads, indexer.head_dim, indexer.top_k, indexer.rope_interleaved) == (32, 128, 2048, True)
    assert not catalog.get("deepseek-v3.2").layers[0].mixer.indexer.rope_interleaved
    # the cache: MLA's latent and rope key, and the indexer's key, in every layer
    assert analyze(spec).kv_bytes_per_token(BF16) == (512 + 64 + 128) * 78 * 2
    assert catalog.get("glm-5.1") == catalog.get("glm-5")


def test_glm5_checkpoint_count_is_the_decoder_plus_its_mtp_layer():
    """GLM-5.1's checkpoint holds 753,864,139,008 parameters (a public report of its weights),
    its 76 routers' score-correction biases (256 each) and the MTP layer included."""
    analysis = analyze(catalog.get("glm-5.1"))
    assert analysis.total_params + analysis.mtp_params + 76 * 256 == 753_864_139_008


def test_glm5_published_config_round_trips():
    published = catalog.entry("glm-5.1").config
    spec = catalog.get("glm-5.1")
    written = hf_config_from_spec(spec)
    for key, value in published.items():
        if key in written:
            assert written[key] == value, key
    # every published key comes back, head_dim and qk_head_dim (which transformers derives from
    # the MLA widths) and moe_layer_freq (which it does not read) included
    assert set(published) <= set(written)
    for scale in ("full", "explore", "slice"):
        scaled = catalog.get("glm-5.1", scale)
        assert spec_from_hf_config(hf_config_from_spec(scaled)) == scaled


def test_glm5_and_deepseek_v32_do_not_write_each_others_indexer():
    glm = catalog.get("glm-5")
    as_v32 = replace(glm, model_type="deepseek_v32")
    with pytest.raises(SpecError, match="indexer.rope_interleaved"):
        hf_config_from_spec(as_v32)
    v32 = catalog.get("deepseek-v3.2")
    with pytest.raises(SpecError, match="indexer.rope_interleaved"):
        hf_config_from_spec(replace(v32, model_type="glm_moe_dsa"))


def test_an_interleaved_indexer_under_half_split_mla_rope_is_refused():
    spec = catalog.get("glm-5")
    mla = spec.layers[0].mixer
    half_split = replace(mla, rope=replace(mla.rope, interleaved=False))
    edited = replace(spec, layers=tuple(replace(layer, mixer=half_split) for layer in spec.layers))
    assert any(str(problem).startswith("layers[0].mixer.indexer.rope_interleaved")
               for problem in edited.validate())
    assert not spec.validate()


def kimi_k25_release(text_config: dict, tied: bool = False) -> dict:
    """A kimi_k25 config.json as Moonshot publishes it: the decoder under text_config with
    model_type kimi_k2, a MoonViT vision_config beside it."""
    return {"model_type": "kimi_k25", "architectures": ["KimiK25ForConditionalGeneration"],
            "tie_word_embeddings": tied, "text_config": dict(text_config, model_type="kimi_k2"),
            "vision_config": {"patch_size": 14, "num_hidden_layers": 27, "hidden_size": 1152}}


@pytest.mark.parametrize("name", ["kimi-k2.5", "kimi-k2.6"])
def test_kimi_k25_release_reads_as_its_deepseek_v3_text_config(name):
    """Kimi K2.5's decoder is transformers' deepseek_v3 unchanged (its kimi_k25 module builds the
    text model with AutoModel from text_config), so the parity of tests/parity/test_mla_parity.py
    covers it; what is K2.5's own is the wrapper, read here to the same spec as its text_config."""
    text = catalog.entry(name).config
    spec = catalog.get(name)
    assert spec.model_type == "deepseek_v3" and spec.layers == catalog.get("kimi-k2-thinking").layers
    wrapped = spec_from_hf_config(kimi_k25_release(text))
    assert wrapped == spec_from_hf_config(text)
    # the wrapper's flag ties the head (the text model has none of its own): tied by default
    assert spec_from_hf_config(kimi_k25_release(text, tied=True)).tie_embeddings
    released = kimi_k25_release(text)
    del released["tie_word_embeddings"]
    assert spec_from_hf_config(released).tie_embeddings
    assert analyze(spec).kv_bytes_per_token(BF16) == 61 * (512 + 64) * BF16  # the gallery's 68.6 KiB


def test_kimi_k25_written_back_is_the_wrapper_around_deepseek_v3():
    from app.spec.hf.deepseek import kimi_k25_to_config

    for scale in ("full", "explore", "slice"):
        spec = catalog.get("kimi-k2.5", scale)
        written = kimi_k25_to_config(spec)
        assert written["model_type"] == "kimi_k25" and written["text_config"]["model_type"] == "deepseek_v3"
        assert spec_from_hf_config(written) == spec
    with pytest.raises(SpecError, match="kimi_k25 wraps a deepseek_v3"):
        kimi_k25_to_config(catalog.get("glm-5", "slice"))
    with pytest.raises(SpecError, match="text_config"):
        spec_from_hf_config({"model_type": "kimi_k25"})


def test_mistral_small_4_is_mla_and_moe_throughout_with_a_softmax_router_and_query_scale():
    spec = catalog.get("mistral-small-4")
    assert spec.model_type == "mistral4" and spec.num_layers == 36
    assert all(isinstance(layer.ffn, MoE) for layer in spec.layers)  # first_k_dense_replace 0
    moe = spec.layers[0].ffn
    assert (moe.num_experts, moe.top_k, moe.shared.intermediate_size) == (128, 4, 2048)
    assert moe.router.scoring == "softmax" and not moe.router.score_correction_bias
    mla = spec.layers[0].mixer
    assert (mla.num_heads, mla.q_lora_rank, mla.kv_lora_rank, mla.qk_nope_head_dim, mla.qk_rope_head_dim,
            mla.v_head_dim) == (32, 1024, 256, 64, 64, 128)
    # partial_rotary_factor 0.5 is of the whole query head: all 64 rope channels turn
    assert mla.rope.rotary_dim == 64 and mla.rope.interleaved
    assert (mla.query_position_scale, mla.query_position_floor) == (0.1, 8192)
    assert analyze(spec).kv_bytes_per_token(BF16) == 36 * (256 + 64) * BF16  # the gallery's 22.5 KiB


def test_mistral_small_4_release_reads_through_its_mistral3_wrapper():
    text = catalog.entry("mistral-small-4").config
    release = {"model_type": "mistral3", "architectures": ["Mistral3ForConditionalGeneration"],
               "text_config": text, "vision_config": {"model_type": "pixtral", "hidden_size": 1024}}
    assert spec_from_hf_config(release) == catalog.get("mistral-small-4")


def test_mistral4_refuses_what_its_config_cannot_say():
    spec = catalog.get("mistral-small-4", "slice")
    sigmoid = spec.with_layers(replace(layer, ffn=replace(layer.ffn, router=replace(
        layer.ffn.router, scoring="sigmoid", score_correction_bias=True))) for layer in spec.layers)
    with pytest.raises(SpecError, match="softmax"):
        hf_config_from_spec(sigmoid)
    moved = spec.with_layers(replace(layer, mixer=replace(layer.mixer, query_position_floor=4096))
                             for layer in spec.layers)
    with pytest.raises(SpecError, match="query_position_floor"):
        hf_config_from_spec(moved)
    bad = dict(catalog.entry("mistral-small-4").config)
    bad["rope_parameters"] = dict(bad["rope_parameters"], partial_rotary_factor=0.25)
    with pytest.raises(SpecError, match="partial_rotary_factor"):
        spec_from_hf_config(bad)


def test_sarvam_105b_is_deepseek_v3_without_a_query_latent():
    spec = catalog.get("sarvam-105b")
    assert spec.model_type == "deepseek_v3" and spec.num_layers == 32
    assert [type(layer.ffn) for layer in spec.layers] == [MLP] + [MoE] * 31
    mla = spec.layers[0].mixer
    assert (mla.num_heads, mla.q_lora_rank, mla.kv_lora_rank, mla.qk_nope_head_dim, mla.qk_rope_head_dim,
            mla.v_head_dim) == (64, 0, 512, 128, 64, 128)
    router = spec.layers[1].ffn.router
    assert router.scoring == "sigmoid" and router.score_correction_bias
    assert (router.num_groups, router.top_k_groups, router.routed_scaling) == (16, 2, 2.5)
    assert analyze(spec).kv_bytes_per_token(BF16) == 32 * (512 + 64) * BF16  # the gallery's 36 KiB


def test_sarvam_30b_is_qk_norm_gqa_over_deepseeks_router():
    spec = catalog.get("sarvam-30b")
    assert spec.model_type == "glm4_moe" and spec.num_layers == 19
    attention = spec.layers[0].mixer
    assert (attention.num_heads, attention.num_kv_heads, attention.head_dim) == (64, 4, 64)
    assert attention.rope.rotary_dim == 64 and attention.qk_norm.scope == "head" and not attention.qkv_bias
    moe = spec.layers[1].ffn
    assert (moe.num_experts, moe.top_k, moe.expert.intermediate_size, moe.shared.intermediate_size) == (128, 6, 1024,
                                                                                                       1024)
    assert moe.router.scoring == "sigmoid" and moe.router.score_correction_bias
    assert analyze(spec).kv_bytes_per_token(BF16) == 19 * 2 * 4 * 64 * BF16  # the gallery's 19 KiB
