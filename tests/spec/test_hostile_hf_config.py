"""A Hugging Face config.json as hostile input: a size past any real model is refused
naming the key and the bound before the per-layer list is made, so neither a billion
layers nor 1e300 can exhaust memory, hang or raise OverflowError."""

import json

import pytest

from app.spec import SpecError, catalog
from app.spec.hf import hf_config_from_spec, spec_from_hf_config
from app.spec.limits import MAX_LAYERS

from ..limited_cli import refusal_line, run_archscope


def _config(name):
    return json.loads(json.dumps(hf_config_from_spec(catalog.get(name))))


@pytest.mark.parametrize("name", ["llama3-8b", "gemma3-27b", "deepseek-v3", "qwen3-next-80b-a3b"])
@pytest.mark.parametrize("layers, shown", [(10**9, "1,000,000,000"), (10**6, "1,000,000"), (10**7, "10,000,000"),
                                           (1e300, "about 2**996")])
def test_a_layer_count_past_the_bound_is_refused_naming_the_key(name, layers, shown):
    if name not in catalog.names():
        pytest.skip(f"{name} is not in the catalog")
    config = _config(name)
    config["num_hidden_layers"] = layers
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config(config)
    assert f"num_hidden_layers: {shown} exceeds the bound of {MAX_LAYERS:,} on a layer count" in \
        [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize("key, value, expected", [
    ("vocab_size", 10**12, "vocab_size: 1,000,000,000,000 exceeds the bound of 16,777,216 on a vocabulary size"),
    ("hidden_size", 2**40, "hidden_size: 1,099,511,627,776 exceeds the bound of 1,048,576 on a width"),
    ("num_attention_heads", 2**62, "num_attention_heads: about 2**62 exceeds the bound of 16,384"),
    ("rope_parameters.rope_theta", 10**400, "rope_parameters.rope_theta: expected a finite number, found about 2**1328"),
    ("rms_norm_eps", float("nan"), "rms_norm_eps: expected a number, found nan"),
    ("intermediate_size", float("inf"), "intermediate_size: expected an integer, found inf"),
])
def test_other_sizes_and_numbers_are_named(key, value, expected):
    config = _config("llama3-8b")
    *parents, last = key.split(".")
    holder = config
    for parent in parents:
        holder = holder[parent]
    holder[last] = value
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config(config)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems


def test_experts_past_the_bound_are_named():
    config = _config("deepseek-v3")
    config["n_routed_experts"] = 2**20
    with pytest.raises(SpecError, match="n_routed_experts: 1,048,576 exceeds the bound of 16,384 on an expert count"):
        spec_from_hf_config(config)


def test_a_config_nested_too_deeply_is_a_spec_error():
    config = _config("llama3-8b")
    nested: dict = {}
    for _ in range(10_000):
        nested = {"a": nested}
    config["rope_scaling"] = nested
    with pytest.raises(SpecError, match="nested more than 64 levels deep"):
        spec_from_hf_config(config)


def test_the_cli_refuses_a_billion_layers_at_once_under_a_small_address_space(tmp_path):
    config = _config("gemma3-27b")
    config["num_hidden_layers"] = 10**9
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    line = refusal_line(run_archscope("show", str(folder / "config.json")))
    assert f"{folder / 'config.json'}: num_hidden_layers: 1,000,000,000 exceeds the bound of 10,000" in line


@pytest.mark.parametrize("key, value, expected", [
    ("num_attention_heads_per_layer", [48] * 39, "num_attention_heads_per_layer: has 39 entries, expected one per "
     "layer (40)"),
    ("num_attention_heads_per_layer", [48, 0] + [64] * 38, "num_attention_heads_per_layer: entry 1 must be at "
     "least 1, found 0"),
    ("num_attention_heads_per_layer", [2**20] * 40, "num_attention_heads_per_layer: 1,048,576 exceeds the bound "
     "of 16,384 on a head or group count"),
    ("num_attention_heads_per_layer", ["48"] * 40, "num_attention_heads_per_layer: expected a list of integers"),
    ("num_attention_heads_per_layer", [48] * 39 + [60], "layers[39].mixer.num_kv_heads"),
    ("gating", "per-token", "gating: expected true, false, \"per-head\" or \"per-element\""),
    ("moe_apply_router_weight_on_input", True, "moe_apply_router_weight_on_input: true is not supported"),
    ("norm_topk_prob", False, "norm_topk_prob: false is not built"),
    ("moe_router_logit_softcapping", -1.0, "moe_router_logit_softcapping: must be 0 (none) or positive"),
    ("moe_routed_scaling_factor", 0, "moe_routed_scaling_factor: must be positive"),
    ("rope_parameters", {"rope_type": "default", "rope_theta": 10000.0}, "rope_parameters: needs an object for "
     "layer type"),
    ("mlp_layer_types", ["dense", "moe"] * 20, "mlp_layer_types: unknown entries ['moe']"),
    ("layer_types", ["full_attention"] * 40 + ["sliding_attention"], "layer_types: has 41 entries"),
])
def test_laguna_keys_are_refused_by_name(key, value, expected):
    config = dict(catalog.entry("laguna-xs.2").config)
    config[key] = value
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config(config)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("name, key, value, expected", [
    ("lfm2.5-1.2b", "conv_L_cache", 2**40, "conv_L_cache: 1,099,511,627,776 exceeds the bound of 1,048,576 on a width"),
    ("lfm2.5-1.2b", "conv_dim", 1024, "conv_dim: 1024 differs from hidden_size 2048"),
    ("lfm2.5-1.2b", "block_ff_dim", 2**40, "block_ff_dim: 1,099,511,627,776 exceeds the bound of 1,048,576"),
    ("lfm2.5-1.2b", "layer_types", ["conv", "mamba"] * 8, "layer_types: unknown entries ['mamba']"),
    ("lfm2.5-1.2b", "conv_bias", "yes", "conv_bias: expected true or false"),
    ("lfm2.5-8b-a1b", "num_dense_layers", 10**6, "num_dense_layers: 1,000,000 exceeds the bound of 10,000"),
    ("lfm2.5-8b-a1b", "use_expert_bias", 1, "use_expert_bias: expected true or false"),
    ("lfm2.5-8b-a1b", "layer_types", None, "layer_types: missing; lfm2_moe configs list each layer's type"),
])
def test_lfm2_keys_are_refused_by_name(name, key, value, expected):
    config = dict(catalog.entry(name).config)
    config[key] = value
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config(config)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("key, value, expected", [
    ("enable_moe_block", "yes", "enable_moe_block: expected true or false"),
    ("num_experts", 2**20, "num_experts: 1,048,576 exceeds the bound of 16,384 on an expert count"),
    ("num_experts", None, "num_experts: missing required key"),
    ("top_k_experts", 0, "top_k_experts: must be at least 1, found 0"),
    ("top_k_experts", 2**40, "top_k_experts: 1,099,511,627,776 exceeds the bound of 16,384 on an expert count"),
    ("top_k_experts", 129, "top_k_experts: 129 exceeds num_experts 128"),
    ("moe_intermediate_size", 2**40, "moe_intermediate_size: 1,099,511,627,776 exceeds the bound of 1,048,576"),
    ("moe_intermediate_size", 1.5, "moe_intermediate_size: expected an integer, found 1.5"),
])
def test_gemma4_expert_keys_are_refused_by_name(key, value, expected):
    config = dict(catalog.entry("gemma4-26b-a4b").config)
    config[key] = value
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config(config)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("key, value, expected", [
    ("embedding_multiplier", 0, "embedding_multiplier: must be positive, found 0"),
    ("embedding_multiplier", "12", "embedding_multiplier: expected a number, found '12'"),
    ("attention_multiplier", -0.0078125, "attention_multiplier: must be positive, found -0.0078125"),
    ("attention_multiplier", float("nan"), "attention_multiplier: expected a number, found nan"),
    ("residual_multiplier", float("inf"), "residual_multiplier: expected a number, found inf"),
    ("residual_multiplier", None, "residual_multiplier: missing required key"),
    ("logits_scaling", 0, "logits_scaling: must be positive, found 0"),
    ("logits_scaling", 1e-320, "logits_scaling: 1e-320 is too small to divide the logits by"),
    ("attention_bias", "no", "attention_bias: expected true or false"),
    ("head_dim", 2**40, "head_dim: 1,099,511,627,776 exceeds the bound of 1,048,576 on a width"),
])
def test_granite_keys_are_refused_by_name(key, value, expected):
    config = dict(catalog.entry("granite-4.1-30b").config)
    config[key] = value
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config(config)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("key, value, expected", [
    ("indexer_rope_interleave", False, "indexer_rope_interleave: must be true"),
    ("rope_interleave", False, "rope_interleave: must be true"),
    ("indexer_types", ["full"] * 3 + ["shared"] * 75, "indexer_types: 75 'shared' entries"),
    ("indexer_types", ["full"] * 77, "indexer_types: has 77 entries, expected one per layer (78)"),
    ("indexer_types", ["full"] * 77 + ["sparse"], "indexer_types: unknown entries ['sparse']"),
    ("index_topk_pattern", "FSSS" * 19 + "FS", "index_topk_pattern: expected only 'F' (full) entries"),
    ("index_topk_freq", 4, "index_topk_freq: must be 1"),
    ("index_topk_freq", "4", "index_topk_freq: expected an integer"),
    ("index_n_heads", 0, "index_n_heads: must be at least 1"),
    ("index_head_dim", 2**40, "index_head_dim: 1,099,511,627,776 exceeds the bound"),
    ("index_topk", -1, "index_topk: must be at least 1"),
    ("q_lora_rank", None, "layers[0].mixer.q_lora_rank"),
])
def test_glm_moe_dsa_keys_are_refused_by_name(key, value, expected):
    config = dict(catalog.entry("glm-5").config)
    config[key] = value
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config(config)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("key, value, expected", [
    ("moe_latent_size", 0, "moe_latent_size: must be at least 1, found 0"),
    ("moe_latent_size", -1024, "moe_latent_size: must be at least 1, found -1,024"),
    ("moe_latent_size", 8192, "moe_latent_size: 8192 exceeds hidden_size 4096"),
    ("moe_latent_size", 2**40, "moe_latent_size: 1,099,511,627,776 exceeds the bound of 1,048,576 on a width"),
    ("moe_latent_size", 1024.5, "moe_latent_size: expected an integer, found 1024.5"),
    ("moe_latent_size", "1024", "moe_latent_size: expected an integer"),
    ("num_nextn_predict_layers", -1, "num_nextn_predict_layers: must be at least 0, found -1"),
    ("num_nextn_predict_layers", 10**6, "num_nextn_predict_layers: 1,000,000 exceeds the bound of 10,000"),
    ("layers_block_type", ["mamba", "moe", "ssm"], "layers_block_type: unknown entries ['ssm']"),
])
def test_nemotron_3_latent_moe_keys_are_refused_by_name(key, value, expected):
    config = dict(catalog.entry("nemotron-3-super-120b-a12b").config)
    if key == "layers_block_type":
        del config["hybrid_override_pattern"], config["num_hidden_layers"]
    config[key] = value
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config(config)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("key, value, expected", [
    ("num_heads", 3, "qk_dim_factor: width 2048 is not divisible by num_heads 3"),
    ("num_heads", 2**40, "num_heads: 1,099,511,627,776 exceeds the bound"),
    ("qk_dim_factor", 0.3, "qk_dim_factor: hidden_size 4096 x 0.3 = 1228.8 is not a positive multiple of 64"),
    ("qk_dim_factor", -0.5, "qk_dim_factor: must be positive"),
    ("v_dim_factor", float("nan"), "v_dim_factor: expected a number, found nan"),
    ("v_dim_factor", 1e300, "v_dim_factor: hidden_size 4096 x 1e+300 = 4.096e+303 exceeds the bound of 1,048,576"),
    ("ffn_proj_factor", 1e6, "ffn_proj_factor: hidden_size 4096 x 1e+06 = 4.096e+09 exceeds the bound"),
    ("gate_soft_cap", 0, "gate_soft_cap: must be positive"),
    ("output_logit_soft_cap", "30", "output_logit_soft_cap: expected a number"),
    ("use_bias", True, "use_bias: true; ArchScope's RMSNorm has no additive term"),
    ("weight_mode", "fused", "weight_mode:"),
    ("hidden_size", 2048, "embedding_dim: 4096 differs from hidden_size 2048"),
    ("num_hidden_layers", 16, "num_hidden_layers: 16 is fewer than num_blocks 32"),
    ("num_blocks", 10**6, "num_blocks: 1,000,000 exceeds the bound of 10,000 on a layer count"),
    ("ffn_proj_factor", float("inf"), "ffn_proj_factor: expected a number, found inf"),
    ("ffn_round_up_to_multiple_of", 0, "ffn_round_up_to_multiple_of: must be at least 1"),
    ("chunk_size", -64, "chunk_size: must be at least 1"),
    ("eps", 0, "eps: must be positive"),
])
def test_xlstm_keys_are_refused_by_name(key, value, expected):
    config = dict(catalog.entry("xlstm-7b").config)
    config[key] = value
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config(config)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("key, value, expected", [
    ("emb_neighbor_num", 1, "ngram_embedding.orders: 1: the n-grams start at 2 tokens"),
    ("emb_neighbor_num", 10**9, "emb_neighbor_num: 1,000,000,000 exceeds the bound of 16,384"),
    ("emb_split_num", 0, "emb_split_num: must be at least 1"),
    ("emb_split_num", 2000, "ngram_embedding.splits: 6000 tables share d_model 3072"),
    ("ngram_vocab_size_ratio", 2**31 - 1, "ngram_embedding.table_ratio: 2147483647 x vocab 131072 rows: the n-gram "
                                          "hash reaches about 2**"),
    ("ngram_vocab_size_ratio", 78.5, "ngram_vocab_size_ratio: expected an integer"),
    ("eos_token_id", [2, 3], "eos_token_id: the n-grams restart at one end-of-sequence id"),
    ("eos_token_id", 10**6, "ngram_embedding.boundary_token: 1000000 is not a token id below vocab_size 131072"),
    ("zero_expert_num", -1, "zero_expert_num: must be at least 0"),
    ("zero_expert_num", 2**20, "zero_expert_num: 1,048,576 exceeds the bound of 16,384"),
    ("zero_expert_type", "copy", "zero_expert_type:"),
    ("router_bias", True, "router_bias: LongCat's router ignores a classifier bias"),
    ("head_dim", 128, "head_dim: LongCat rotates the qk_rope_head_dim (64) channels"),
    ("mla_scale_kv_lora", False, "mla_scale_kv_lora: scales the KV latent without the query latent"),
    ("num_hidden_layers", 30, "num_hidden_layers: 30 is not 2 x num_layers (28)"),
    ("moe_topk", 10**6, "moe_topk: 1,000,000 exceeds the bound of 16,384"),
    ("expert_ffn_hidden_size", 2**40, "expert_ffn_hidden_size: 1,099,511,627,776 exceeds the bound of 1,048,576"),
])
def test_longcat_keys_are_refused_by_name(key, value, expected):
    """LongCat-Flash-Lite's new keys: the zero experts, the N-gram embedding (whose table
    count and hash must stay in bounds before any table is listed), the router and RoPE."""
    config = dict(catalog.entry("longcat-flash-lite").config)
    config[key] = value
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config(config)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("key, value, expected", [
    ("cca_time0", 10**7, "cca_time0: 10,000,000 exceeds the bound"),
    ("cca_time1", 0, "cca_time1: must be at least 1"),
    ("router_hidden_size", 10**9, "router_hidden_size: 1,000,000,000 exceeds the bound"),
    ("num_experts_per_tok", 2, "num_experts_per_tok: 2; transformers' ZAYA supports top-1 routing only"),
    ("num_key_value_heads", 3, "num_attention_heads: 8 is not a multiple of num_key_value_heads 3"),
    ("layer_types", ["hybrid_sliding"] * 40, "sliding_window: the layer pattern has sliding layers"),
    ("layer_types", ["full_attention"] * 40, "layer_types: unknown entries ['full_attention']"),
    ("rope_parameters", {"hybrid": 5}, "rope_parameters: needs an object for layer type 'hybrid'"),
    ("lm_head_bias", True, "lm_head_bias: true is not built"),
    ("hidden_act", "gelu", "hidden_act: expected one of silu"),
    # Zyphra's first, Megatron-style config of the same checkpoint (80 layers) is not misread as 80 CCA layers
    ("ffn_hidden_size", 4096, "ffn_hidden_size: a key of Zyphra's first, Megatron-style ZAYA1 config"),
])
def test_zaya_keys_are_refused_by_name(key, value, expected):
    config = dict(catalog.entry("zaya1-8b").config)
    config[key] = value
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config(config)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems
