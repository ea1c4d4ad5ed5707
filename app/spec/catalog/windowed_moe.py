"""Mixture-of-experts entries whose attention interleaves sliding-window and global layers
three to one, from the LLM Architecture Gallery: JetBrains' Mellum2, Arcee's Trinity Large and
StepFun's Step 3.5 Flash, each at the numbers of its published config.json."""

from __future__ import annotations

from .entry import Entry

# Mellum2 12B-A2.5B (JetBrains/Mellum2-12B-A2.5B-Thinking). Every key is the published
# config.json as its public copies give it (see the entry's source): three sliding-window
# layers then a full one, seven times; every layer sparse.
_MELLUM_TYPES = ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"] * 7
MELLUM2_12B_A2_5B = {
    "architectures": ["MellumForCausalLM"], "model_type": "mellum", "vocab_size": 98304, "hidden_size": 2304,
    "intermediate_size": 7168, "num_hidden_layers": 28, "num_attention_heads": 32, "num_key_value_heads": 4,
    "head_dim": 128, "hidden_act": "silu", "max_position_embeddings": 131072, "initializer_range": 0.02,
    "rms_norm_eps": 1e-06, "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 0, "eos_token_id": 28,
    "tie_word_embeddings": False, "use_cache": True, "dtype": "bfloat16",
    "num_experts": 64, "num_experts_per_tok": 8, "moe_intermediate_size": 896, "norm_topk_prob": True,
    "output_router_logits": False, "router_aux_loss_coef": 0.001,
    "sliding_window": 1024, "use_sliding_window": True, "max_window_layers": 0,
    "rope_parameters": {
        "full_attention": {"rope_type": "yarn", "rope_theta": 500000.0, "factor": 16.0,
                           "original_max_position_embeddings": 8192, "beta_fast": 32.0, "beta_slow": 1.0,
                           "attention_factor": 1.2772588722239782},
        "sliding_attention": {"rope_type": "default", "rope_theta": 500000.0},
    },
    "layer_types": _MELLUM_TYPES,
    "mlp_layer_types": ["sparse"] * 28,
}

# Trinity Large (arcee-ai/Trinity-Large-Base). No verbatim copy of its config.json was found.
# The widths, depths, expert counts and window are the Large config as an AWS Neuron port of
# Trinity tests it (LARGE_OVERRIDES over its verbatim copy of Trinity-Nano-Preview's
# config.json), and agree with the model card (256 experts with 1 shared, 4 active, 6 dense
# layers); every other key is that Nano config.json's, which the port applies to Large
# unchanged -- so rope_theta, max_position_embeddings, route_scale, rms_norm_eps and
# mup_enabled are the Nano's, not verified for Large (none of them changes a count).
TRINITY_LARGE = {
    "architectures": ["AfmoeForCausalLM"], "model_type": "afmoe", "vocab_size": 200192, "hidden_size": 3072,
    "intermediate_size": 12288, "moe_intermediate_size": 3072, "num_hidden_layers": 60, "num_dense_layers": 6,
    "num_attention_heads": 48, "num_key_value_heads": 8, "head_dim": 128, "hidden_act": "silu",
    "max_position_embeddings": 131072, "initializer_range": 0.02, "rms_norm_eps": 1e-05, "attention_dropout": 0.0,
    "tie_word_embeddings": False, "use_cache": True, "dtype": "bfloat16",
    "num_experts": 256, "num_experts_per_tok": 4, "num_shared_experts": 1, "route_norm": True, "route_scale": 2.826,
    "score_func": "sigmoid", "n_group": 1, "topk_group": 1, "num_expert_groups": 1, "num_limited_groups": 1,
    "use_grouped_mm": True, "global_attn_every_n_layers": 4, "sliding_window": 4096, "mup_enabled": True,
    "rope_theta": 10000, "rope_scaling": None,
}

ENTRIES = [
    Entry(
        slug="mellum2-12b-a2.5b",
        title="Mellum2 12B-A2.5B",
        family="Mellum",
        source=("https://huggingface.co/JetBrains/Mellum2-12B-A2.5B-Thinking/blob/main/config.json (model_type "
                "mellum), read through public verbatim copies of the Mellum2 config.json: the Mellum2 Thinking "
                "config embedded in a Rust port's tests (MellumConfig MELLUM2_CONFIG: every key but the two "
                "per-layer lists) and an MLX adapter's copy of the Mellum 2.1 Thinking config.json (the same "
                "keys and values, plus layer_types -- full_attention where index % 4 == 3, else sliding -- and "
                "mlp_layer_types all sparse, which the adapter checks the downloaded file against); "
                "transformers' MellumConfig names JetBrains/Mellum2-12B-A2.5B-Base as its checkpoint and defaults "
                "to the same widths. The 21 sliding + 7 full count: the LLM Architecture Gallery row. Headline: "
                "the model's name, 12B total, 2.5B active"),
        config=MELLUM2_12B_A2_5B,
        published_total=12e9,
        published_active=2.5e9,
        notes=("28 layers, three sliding-window (1024) layers then a full one: 21 sliding + 7 full, every one "
               "GQA with 32 query and 4 key/value heads of 128 (2 KiB per token and layer in bf16) and per-head "
               "RMS QK-norm, no output gate.",
               "RoPE keyed by layer type: the full layers YaRN-scaled x16 from 8192 (theta 500k, attention "
               "factor 1.277), the sliding ones plain (theta 500k).",
               "Every layer routes each token to 8 of 64 experts (896 wide) by softmax, the chosen weights "
               "renormalized (norm_topk_prob); no shared expert, no dense layer (mlp_layer_types all sparse).",
               "use_sliding_window and max_window_layers are Qwen3 MoE's switches, still in the published file; "
               "transformers' MellumConfig drops them and windows exactly the layers layer_types calls sliding, "
               "as here."),
    ),
]

ENTRIES.append(
    Entry(
        slug="trinity-large",
        title="Trinity Large",
        family="Trinity",
        source=("arcee-ai/Trinity-Large-Base (model_type afmoe; https://huggingface.co/arcee-ai/Trinity-Large-Base/"
                "blob/main/config.json, no verbatim copy found): hidden_size 3072, intermediate_size 12288, "
                "moe_intermediate_size 3072, 48 heads, 8 key/value heads, 6 dense layers, 256 experts, top-4, 60 "
                "layers, sliding_window 4096 as an AWS Neuron (NxDI) port of Trinity sets them for Large in its "
                "tests (LARGE_OVERRIDES); every other key from that port's verbatim copy of "
                "arcee-ai/Trinity-Nano-Preview's config.json (head_dim 128, vocab 200192, one shared expert, "
                "global_attn_every_n_layers 4, mup_enabled, sigmoid routing, route_scale 2.826, rope_theta 10000). "
                "The Trinity-Large-Preview model card: ~398B total, ~13B active, 256 experts (1 shared), 4 active, 6 "
                "dense layers; the technical report (arXiv 2602.17004): 400B total, 13B active, gated attention, "
                "interleaved local/global attention, sandwich norm, sigmoid routing. The 45 sliding + 15 global "
                "count: the LLM Architecture Gallery row"),
        config=TRINITY_LARGE,
        published_total=400e9,
        published_active=13e9,
        notes=("No verbatim copy of Trinity-Large-Base's config.json was found: its widths and counts are an "
               "inference port's reading of it, and agree with the model card and the gallery (see source). "
               "rope_theta (10000), max_position_embeddings (131072), route_scale (2.826), rms_norm_eps and "
               "mup_enabled are Trinity Nano's published values, unverified for Large; none changes a count.",
               "60 layers, three sliding-window (4096) layers with RoPE then a global one without (NoPE): 45 "
               "sliding + 15 global, every one GQA with 48 query and 8 key/value heads of 128 (4 KiB per token "
               "and layer in bf16), per-head RMS QK-norm, and the attention output times sigmoid(x W_g), one gate "
               "per channel from a projection of its own (gate_proj) -- Qwen3-Next's output gate, with the gate "
               "weights in their own matrix instead of interleaved into q_proj.",
               "RMSNorm before and after both sublayers (a sandwich, as Gemma 3's); the embeddings times "
               "sqrt(3072) (mup_enabled).",
               "Layers 0-5 are dense SwiGLU MLPs (12288); layers 6-59 route each token to 4 of 256 experts (3072 "
               "wide) by sigmoid scores with a selection-only expert bias, the chosen scores normalized then "
               "times route_scale, plus one shared expert (3072).",
               "The router's expert_bias (256 per MoE layer) is a frozen parameter in transformers and a buffer "
               "here: set by a balancing rule (SMEBU), not trained, it is not counted."),
    ),
)
