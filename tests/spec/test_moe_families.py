"""What a user studies in the MoE families beyond DeepSeek: gpt-oss's sliding/full
alternation with sinks, Llama 4's dense/MoE interleave and iRoPE, Qwen3 MoE's small active
share, MiniMax-M2's QK-norm over all heads, Grok 2.5's and Gemma 4 26B-A4B's dense MLP beside
the experts."""

import dataclasses

import pytest

from app.spec import SpecError, catalog
from app.spec.ffn import MoE
from app.spec.analysis import analyze
from app.spec.hf import hf_config_from_spec, spec_from_hf_config


def test_gpt_oss_alternates_sliding_128_and_full_layers_with_sinks():
    spec = catalog.get("gpt-oss-120b")
    windows = [layer.mixer.sliding_window for layer in spec.layers]
    assert windows == [128, 0] * 18
    assert all(layer.mixer.sinks and layer.mixer.qkv_bias and layer.mixer.out_bias for layer in spec.layers)
    rope = spec.layers[0].mixer.rope
    assert rope.scaling.type == "yarn" and rope.scaling.factor == 32 and rope.scaling.truncate is False
    moe = spec.layers[0].ffn
    assert (moe.num_experts, moe.top_k) == (128, 4)
    assert moe.expert.activation == "swiglu_oss" and moe.expert.bias and moe.router.bias


def test_gpt_oss_kv_cache_at_128k_holds_sliding_layers_at_128_tokens():
    spec = catalog.get("gpt-oss-20b")
    analysis = analyze(spec)
    per_layer_token = 8 * 64 * 2 * 2  # 8 kv heads x 64 dims, keys and values, bf16
    context = 131072
    full_layers = sliding_layers = 12
    expected = (full_layers * context + sliding_layers * 128) * per_layer_token
    assert analysis.kv_bytes_at(context, dtype_bytes=2) == expected
    sliding_rows = [row for row in analysis.layers if row.window]
    assert len(sliding_rows) == sliding_layers
    assert all(row.kv_bytes_at(context) == 128 * per_layer_token for row in sliding_rows)


def test_gpt_oss_published_count_and_openai_active_count():
    analysis = analyze(catalog.get("gpt-oss-20b"))
    assert analysis.total_params == pytest.approx(20.91e9, rel=0.001)  # the model card's 20.91B
    # OpenAI's 3.61B active leaves out the input embedding table.
    assert analysis.active_params - analysis.embedding_params == pytest.approx(3.61e9, rel=0.003)


def test_llama4_maverick_alternates_dense_and_moe_layers():
    spec = catalog.get("llama4-maverick")
    assert [isinstance(layer.ffn, MoE) for layer in spec.layers] == [False, True] * 24
    moe = spec.layers[1].ffn
    assert (moe.num_experts, moe.top_k) == (128, 1)
    assert moe.shared is not None and moe.shared.intermediate_size == moe.expert.intermediate_size == 8192
    assert moe.router.scoring == "sigmoid" and moe.router.weight_inputs and not moe.router.normalize_top_k
    assert spec.layers[0].ffn.intermediate_size == 16384  # intermediate_size_mlp


def test_llama4_maverick_has_nope_every_fourth_layer_and_chunked_rope_layers():
    spec = catalog.get("llama4-maverick")
    nope = [layer.mixer.rope is None for layer in spec.layers]
    assert nope == [(i + 1) % 4 == 0 for i in range(48)]
    for layer in spec.layers:
        attention = layer.mixer
        if attention.rope is None:
            assert attention.temperature_tuning and attention.chunk_size == 0
        else:
            assert attention.chunk_size == 8192 and attention.rope.interleaved
            assert not attention.temperature_tuning
    # Maverick's config turns the L2 QK-norm off; Scout's keeps it on the RoPE layers.
    assert all(layer.mixer.qk_norm is None for layer in spec.layers)
    scout = catalog.get("llama4-scout")
    assert all((layer.mixer.qk_norm is not None) == (layer.mixer.rope is not None) for layer in scout.layers)
    assert scout.layers[0].mixer.qk_norm.norm.kind == "l2"


def test_qwen3_30b_a3b_activates_about_3_3b_of_30_5b():
    analysis = analyze(catalog.get("qwen3-30b-a3b"))
    assert analysis.total_params == pytest.approx(30.5e9, rel=0.01)
    assert analysis.active_params == pytest.approx(3.3e9, rel=0.02)
    spec = catalog.get("qwen3-30b-a3b")
    assert all(layer.mixer.qk_norm.scope == "head" for layer in spec.layers)
    assert spec.layers[0].ffn.router.normalize_top_k


def test_qwen3_coder_30b_a3b_is_qwen3_30b_a3b_with_a_256k_context():
    coder, base = catalog.get("qwen3-coder-30b-a3b"), catalog.get("qwen3-30b-a3b")
    assert [layer.ffn for layer in coder.layers] == [layer.ffn for layer in base.layers]
    assert coder.max_context == 262144 and coder.layers[0].mixer.rope.theta == 10_000_000
    assert analyze(coder).total_params == analyze(base).total_params


def test_minimax_m2_5_keeps_minimax_m2s_layers():
    assert catalog.get("minimax-m2.5").layers == catalog.get("minimax-m2").layers


def test_qwen3_moe_mlp_only_layers_are_dense():
    config = dict(catalog.entry("qwen3-30b-a3b").config, num_hidden_layers=4, mlp_only_layers=[0, 2])
    spec = spec_from_hf_config(config)
    assert [isinstance(layer.ffn, MoE) for layer in spec.layers] == [False, True, False, True]
    assert spec_from_hf_config(hf_config_from_spec(spec)) == spec


def test_minimax_m2_normalizes_all_heads_rotates_half_and_keeps_its_mtp():
    spec = catalog.get("minimax-m2")
    attention = spec.layers[0].mixer
    assert attention.qk_norm.scope == "all_heads"
    assert (attention.rope.rotary_dim, attention.head_dim) == (64, 128)
    router = spec.layers[0].ffn.router
    assert router.scoring == "sigmoid" and router.score_correction_bias
    assert spec.mtp_layers == 3


def test_grok_2_5_averages_a_dense_mlp_with_two_of_eight_experts():
    spec = catalog.get("grok-2.5")
    assert spec.model_type == ""  # no transformers form: the comparison tests skip it
    moe = spec.layers[0].ffn
    assert (moe.num_experts, moe.top_k) == (8, 2)
    assert moe.shared.intermediate_size == 32768 and moe.output_scale == pytest.approx(2 ** -0.5)
    assert moe.router.logit_softcap == 30.0
    assert all(layer.norm_placement == "sandwich" and layer.mixer.logit_softcap == 30.0 for layer in spec.layers)
    assert spec.final_logit_softcap == 50.0


def test_gemma4_26b_a4b_runs_a_dense_mlp_beside_8_of_128_experts_each_branch_normed():
    spec = catalog.get("gemma4-26b-a4b")
    assert all(isinstance(layer.ffn, MoE) for layer in spec.layers)
    moe, norm = spec.layers[0].ffn, spec.layers[0].norm
    assert (moe.num_experts, moe.top_k, moe.expert.intermediate_size, moe.shared.intermediate_size) == (128, 8, 704, 2112)
    assert moe.branch_norm == norm and moe.router.input_norm == norm and moe.router.per_expert_scale
    assert moe.reads_residual and not moe.shared_gate
    analysis = analyze(spec)
    assert analysis.total_params == 25_233_141_760 and analysis.active_params == 3_822_530_560
    config = hf_config_from_spec(spec)
    assert config["enable_moe_block"] is True
    assert (config["num_experts"], config["top_k_experts"], config["moe_intermediate_size"]) == (128, 8, 704)
    assert config["intermediate_size"] == 2112


@pytest.mark.parametrize("change, path", [
    (lambda moe: dataclasses.replace(moe, router=dataclasses.replace(moe.router, per_expert_scale=False)), "router"),
    (lambda moe: dataclasses.replace(moe, branch_norm=None), "branch_norm"),
    (lambda moe: dataclasses.replace(moe, shared_gate=True), "shared"),
])
def test_gemma4_writes_only_its_own_mixture_of_experts(change, path):
    spec = catalog.get("gemma4-26b-a4b", "explore")
    layers = list(spec.layers)
    layers[3] = dataclasses.replace(layers[3], ffn=change(layers[3].ffn))
    with pytest.raises(SpecError, match=rf"layers\[3\]\.ffn\.{path}"):
        hf_config_from_spec(dataclasses.replace(spec, layers=tuple(layers)))
