"""Published dense config.json files, in the style they are published in, read into the
per-layer structure the builder and the analysis rely on."""

from dataclasses import replace

import pytest

from app.spec import catalog
from app.spec.parts import Rope, RopeScaling
from app.spec.hf import hf_config_from_spec, spec_from_hf_config

# google/gemma-3-27b-it config.json: the text_config lists only what differs from
# Gemma3TextConfig's defaults (vocabulary, thetas, the 5:1 period are left out).
GEMMA3_27B_IT = {
    "architectures": ["Gemma3ForConditionalGeneration"],
    "model_type": "gemma3",
    "mm_tokens_per_image": 256,
    "text_config": {
        "head_dim": 128, "hidden_size": 5376, "intermediate_size": 21504, "model_type": "gemma3_text",
        "num_attention_heads": 32, "num_hidden_layers": 62, "num_key_value_heads": 16,
        "query_pre_attn_scalar": 168, "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
        "sliding_window": 1024,
    },
    "vision_config": {"hidden_size": 1152, "image_size": 896, "intermediate_size": 4304,
                      "model_type": "siglip_vision_model", "num_attention_heads": 16, "num_hidden_layers": 27,
                      "patch_size": 14, "vision_use_head": False},
}

# google/gemma-3-1b-pt config.json: text only, the older key style.
GEMMA3_1B = {
    "model_type": "gemma3_text", "vocab_size": 262144, "hidden_size": 1152, "intermediate_size": 6912,
    "num_hidden_layers": 26, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256,
    "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
    "rope_local_base_freq": 10000.0, "rope_scaling": None, "sliding_window": 512, "sliding_window_pattern": 6,
    "query_pre_attn_scalar": 256, "hidden_activation": "gelu_pytorch_tanh", "attn_logit_softcapping": None,
    "final_logit_softcapping": None,
}

# meta-llama/Llama-3.2-1B config.json
LLAMA_3_2_1B = {
    "model_type": "llama", "vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 8192,
    "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
    "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "tie_word_embeddings": True, "attention_bias": False, "mlp_bias": False, "hidden_act": "silu",
}

# HuggingFaceTB/SmolLM3-3B config.json
SMOLLM3_3B = {
    "model_type": "smollm3", "vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 11008,
    "num_hidden_layers": 36, "num_attention_heads": 16, "num_key_value_heads": 4,
    "max_position_embeddings": 65536, "rms_norm_eps": 1e-06, "rope_theta": 5000000.0, "rope_scaling": None,
    "no_rope_layer_interval": 4, "no_rope_layers": [1, 1, 1, 0] * 9, "use_sliding_window": False,
    "sliding_window": None, "tie_word_embeddings": True,
}

# allenai/Olmo-3-1025-7B config.json
OLMO3_7B = {
    "model_type": "olmo3", "vocab_size": 100278, "hidden_size": 4096, "intermediate_size": 11008,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
    "max_position_embeddings": 65536, "rms_norm_eps": 1e-06, "rope_theta": 500000,
    "rope_scaling": {"attention_factor": 1.2079441541679836, "beta_fast": 32, "beta_slow": 1, "factor": 8.0,
                     "original_max_position_embeddings": 8192, "rope_type": "yarn"},
    "sliding_window": 4096,
    "layer_types": ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"] * 8,
    "tie_word_embeddings": False,
}

# microsoft/phi-4 config.json (model_type phi3: fused q/k/v and gate/up in the checkpoint)
PHI_4 = {
    "model_type": "phi3", "vocab_size": 100352, "hidden_size": 5120, "intermediate_size": 17920,
    "num_hidden_layers": 40, "num_attention_heads": 40, "num_key_value_heads": 10,
    "max_position_embeddings": 16384, "original_max_position_embeddings": 16384, "rms_norm_eps": 1e-05,
    "rope_scaling": None, "rope_theta": 250000, "sliding_window": None, "attention_bias": False,
    "tie_word_embeddings": False, "hidden_act": "silu", "resid_pdrop": 0.0, "embd_pdrop": 0.0,
}

# mistralai/Mistral-Small-3.1-24B-Instruct-2503 config.json, text part
MISTRAL_SMALL_3_1 = {
    "model_type": "mistral3",
    "text_config": {
        "model_type": "mistral", "vocab_size": 131072, "hidden_size": 5120, "intermediate_size": 32768,
        "num_hidden_layers": 40, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
        "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 1000000000.0,
        "sliding_window": None,
    },
    "vision_config": {"model_type": "pixtral", "hidden_size": 1024, "num_hidden_layers": 24},
}


def test_gemma3_27b_alternates_five_local_layers_with_one_global():
    spec = spec_from_hf_config(GEMMA3_27B_IT)
    assert spec.num_layers == 62
    local, global_ = spec.layers[0].mixer, spec.layers[5].mixer
    for layer in spec.layers[:5]:
        assert layer.mixer == local
    assert local.sliding_window == 1024
    assert local.rope == Rope(theta=10_000.0, rotary_dim=128)  # local layers: no context extension
    assert global_.sliding_window == 0
    assert global_.rope == Rope(theta=1_000_000.0, rotary_dim=128, scaling=RopeScaling("linear", 8.0))
    # the period repeats through the stack, which ends on two local layers
    assert [i for i, layer in enumerate(spec.layers) if not layer.mixer.sliding_window] == list(range(5, 62, 6))
    assert spec.layers[60].mixer.sliding_window and spec.layers[61].mixer.sliding_window


def test_gemma3_27b_keeps_what_its_text_config_leaves_to_defaults():
    spec = spec_from_hf_config(GEMMA3_27B_IT)
    attention = spec.layers[0].mixer
    assert spec.vocab_size == 262208 and spec.tie_embeddings and spec.embedding_scale
    assert attention.query_pre_attn_scalar == 168  # d_model / heads, not head_dim
    assert (attention.num_heads, attention.num_kv_heads, attention.head_dim) == (32, 16, 128)
    assert spec.layers[0].norm_placement == "sandwich" and spec.layers[0].norm.unit_offset
    assert attention.qk_norm.scope == "head"
    assert spec.layers[0].ffn.activation == "gelu_tanh"


def test_catalog_gemma3_entries_are_the_published_text_configs():
    """The catalog spells out the defaults that the published text_config leaves out; the
    spelled-out entry and the published file must be the same model."""
    gemma3_4b_it = {"model_type": "gemma3", "text_config": {
        "hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text", "num_hidden_layers": 34,
        "rope_scaling": {"factor": 8.0, "rope_type": "linear"}, "sliding_window": 1024},
        "vision_config": GEMMA3_27B_IT["vision_config"]}
    assert text_part(spec_from_hf_config(gemma3_4b_it)) == catalog.get("gemma3-4b")
    assert text_part(spec_from_hf_config(GEMMA3_27B_IT)) == catalog.get("gemma3-27b")


def text_part(spec):
    """A multimodal gemma3 spec without its vision front-end: its gemma3_text decoder."""
    assert spec.vision is not None and spec.model_type == "gemma3"
    return replace(spec, vision=None, model_type="gemma3_text")


def test_gemma3_1b_reads_the_period_and_the_local_theta():
    spec = spec_from_hf_config(GEMMA3_1B)
    windows = [layer.mixer.sliding_window for layer in spec.layers]
    assert windows == [512, 512, 512, 512, 512, 0] * 4 + [512, 512]
    assert spec.layers[0].mixer.rope == Rope(theta=10_000.0, rotary_dim=256)
    assert spec.layers[5].mixer.rope == Rope(theta=1_000_000.0, rotary_dim=256)  # no scaling at 32K


def test_llama3_scaling_reaches_every_layer():
    spec = spec_from_hf_config(LLAMA_3_2_1B)
    expected = Rope(theta=500_000.0, rotary_dim=64, scaling=RopeScaling(
        "llama3", 32.0, original_max_position=8192, low_freq_factor=1.0, high_freq_factor=4.0))
    assert all(layer.mixer.rope == expected for layer in spec.layers)
    assert all(layer.mixer.sliding_window == 0 for layer in spec.layers)
    assert spec.tie_embeddings
    assert (spec.layers[0].mixer.num_heads, spec.layers[0].mixer.num_kv_heads) == (32, 8)


def test_smollm3_drops_rope_on_every_fourth_layer():
    spec = spec_from_hf_config(SMOLLM3_3B)
    nope = [i for i, layer in enumerate(spec.layers) if layer.mixer.rope is None]
    assert nope == list(range(3, 36, 4))
    assert all(layer.mixer.rope == Rope(theta=5_000_000.0, rotary_dim=128)
               for i, layer in enumerate(spec.layers) if i not in nope)
    assert all(layer.mixer.sliding_window == 0 for layer in spec.layers)


def test_smollm3_interval_alone_gives_the_same_layers():
    without_list = {key: value for key, value in SMOLLM3_3B.items() if key != "no_rope_layers"}
    assert spec_from_hf_config(without_list) == spec_from_hf_config(SMOLLM3_3B)


def test_olmo3_slides_three_layers_in_four_with_post_norm_and_qk_norm_over_all_heads():
    spec = spec_from_hf_config(OLMO3_7B)
    assert [layer.mixer.sliding_window for layer in spec.layers[:8]] == [4096, 4096, 4096, 0] * 2
    for layer in spec.layers:
        assert layer.norm_placement == "post"
        assert layer.mixer.qk_norm.scope == "all_heads"


def test_olmo3_extends_context_on_full_layers_only():
    spec = spec_from_hf_config(OLMO3_7B)
    yarn = RopeScaling("yarn", 8.0, original_max_position=8192, beta_fast=32.0, beta_slow=1.0,
                       attention_factor=1.2079441541679836)
    assert spec.layers[3].mixer.rope == Rope(theta=500_000.0, rotary_dim=128, scaling=yarn)
    assert spec.layers[0].mixer.rope == Rope(theta=500_000.0, rotary_dim=128)


def test_olmo3_without_layer_types_uses_its_three_to_one_rule():
    without_list = {key: value for key, value in OLMO3_7B.items() if key != "layer_types"}
    assert spec_from_hf_config(without_list) == spec_from_hf_config(OLMO3_7B)


def test_phi4_is_llamas_block_with_gqa_40_to_10_and_no_window():
    spec = spec_from_hf_config(PHI_4)
    assert replace(catalog.get("phi-4"), name=spec.name, family=spec.family, notes=spec.notes) == spec
    attention = spec.layers[0].mixer
    assert (attention.num_heads, attention.num_kv_heads, attention.head_dim) == (40, 10, 128)
    assert {layer.mixer.sliding_window for layer in spec.layers} == {0}
    assert not attention.qkv_bias and not attention.out_bias and attention.qk_norm is None
    assert attention.rope == Rope(theta=250000.0, rotary_dim=128)
    # a Phi-3-style window, when a config sets one, covers every layer
    windowed = spec_from_hf_config(dict(PHI_4, sliding_window=2047))
    assert {layer.mixer.sliding_window for layer in windowed.layers} == {2047}


def test_mistral_small_reads_its_explicit_head_dim_and_no_window():
    spec = spec_from_hf_config(MISTRAL_SMALL_3_1)
    attention = spec.layers[0].mixer
    assert attention.head_dim == 128  # not 5120 / 32
    assert attention.sliding_window == 0
    assert attention.rope.theta == 1e9


def test_mistral_without_a_window_key_gets_transformers_default():
    text = {key: value for key, value in MISTRAL_SMALL_3_1["text_config"].items() if key != "sliding_window"}
    assert {layer.mixer.sliding_window for layer in spec_from_hf_config(text).layers} == {4096}


def test_qwen3_slides_from_max_window_layers_only_when_switched_on():
    qwen3 = {"model_type": "qwen3", "vocab_size": 1000, "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "sliding_window": 32, "max_window_layers": 4, "use_sliding_window": False}
    assert all(layer.mixer.sliding_window == 0 for layer in spec_from_hf_config(qwen3).layers)
    switched_on = spec_from_hf_config(qwen3 | {"use_sliding_window": True})
    assert [layer.mixer.sliding_window for layer in switched_on.layers] == [0, 0, 0, 0, 32, 32]
    assert spec_from_hf_config(hf_config_from_spec(switched_on)) == switched_on


# Keys a rope dict may state at their neutral value; transformers reads them as absent.
NEUTRAL_ROPE_KEYS = {"mscale": 1.0, "mscale_all_dim": 0.0}


def rope_by_layer_type(config) -> dict:
    params = config.rope_parameters
    per_type = params if all(isinstance(value, dict) for value in params.values()) else {"every layer": params}
    return {kind: {key: value for key, value in rope.items() if NEUTRAL_ROPE_KEYS.get(key, object()) != value}
            for kind, rope in per_type.items()}


def effective_head_dim(config) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


@pytest.mark.parametrize("published", [GEMMA3_27B_IT["text_config"], GEMMA3_1B, OLMO3_7B, SMOLLM3_3B, LLAMA_3_2_1B,
                                       PHI_4],
                         ids=["gemma3-27b", "gemma3-1b", "olmo3-7b", "smollm3-3b", "llama3.2-1b", "phi-4"])
def test_written_config_means_the_same_to_transformers(published):
    """The config we export resolves, in transformers, to the published model's per-layer
    attention types, windows and rope parameters."""
    transformers = pytest.importorskip("transformers")
    ours = transformers.AutoConfig.for_model(**hf_config_from_spec(spec_from_hf_config(published)))
    theirs = transformers.AutoConfig.for_model(**published)
    for key in ("layer_types", "sliding_window", "no_rope_layers", "query_pre_attn_scalar",
                "vocab_size", "tie_word_embeddings", "num_key_value_heads"):
        assert getattr(ours, key, None) == getattr(theirs, key, None), key
    assert effective_head_dim(ours) == effective_head_dim(theirs)
    assert rope_by_layer_type(ours) == rope_by_layer_type(theirs)
