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

# Step 3.5 Flash (stepfun-ai/Step-3.5-Flash). No verbatim copy of its config.json was found.
# The keys are those of the release's own configuration class (configuration_step3p5.py) as two
# public ports mirror it with Step 3.5 Flash's values as defaults, cross-checked with the model
# card; layer_types full every fourth layer from 0 and moe_layers_enum 3-44 as transformers'
# Step3p7TextConfig documents the text decoder Step 3.7 Flash shares. The per-layer RoPE lists
# are written out from the ports' per-type values (5e6 and half the head on full layers, 1e4
# and the whole head on sliding ones). rope_scaling is left out: not known for Step 3.5.
_STEP_TYPES = ["full_attention" if i % 4 == 0 else "sliding_attention" for i in range(45)]
STEP_3_5_FLASH = {
    "architectures": ["Step3p5ForCausalLM"], "model_type": "step3p5", "vocab_size": 128896, "hidden_size": 4096,
    "intermediate_size": 11264, "num_hidden_layers": 45, "num_attention_heads": 64, "num_attention_groups": 8,
    "head_dim": 128, "hidden_act": "silu", "max_position_embeddings": 262144, "max_seq_len": 262144,
    "rms_norm_eps": 1e-05, "tie_word_embeddings": False, "use_qk_norm": True, "zero_centered": True,
    "use_moe": True, "moe_num_experts": 288, "moe_top_k": 8, "moe_intermediate_size": 1280, "share_expert_dim": 1280,
    "moe_layers_enum": ",".join(str(i) for i in range(3, 45)), "norm_expert_weight": True,
    "moe_router_activation": "sigmoid", "moe_router_scaling_factor": 3.0, "use_moe_router_bias": True,
    "need_fp32_gate": True, "att_impl_type": "GQA", "use_head_wise_attn_gate": True, "sliding_window": 512,
    "layer_types": _STEP_TYPES,
    "attention_other_setting": {"attention_type": "sliding_attention", "num_attention_heads": 96,
                                "num_attention_groups": 8, "head_dim": 128},
    "rope_theta": [5000000.0 if kind == "full_attention" else 10000.0 for kind in _STEP_TYPES],
    "partial_rotary_factors": [0.5 if kind == "full_attention" else 1.0 for kind in _STEP_TYPES],
    "yarn_only_types": ["full_attention"], "num_nextn_predict_layers": 3, "sink": False,
}

ENTRIES.append(
    Entry(
        slug="step-3.5-flash",
        title="Step 3.5 Flash",
        family="Step 3.5",
        source=("stepfun-ai/Step-3.5-Flash (model_type step3p5; https://huggingface.co/stepfun-ai/Step-3.5-Flash/"
                "blob/main/config.json, no verbatim copy found): the release's configuration_step3p5.py as two "
                "public ports mirror it with the Flash values as defaults -- ROCm ATOM's Step3p5Config "
                "('Mirrors the HF-hosted configuration_step3p5.py'; vocab 128896, 45 layers, 64 heads / 96 on "
                "sliding layers, 8 groups, head_dim 128, 11264 dense, 288 experts top-8 of 1280, shared 1280, "
                "router scaling 3.0, sliding_window 512, 262144 positions, zero-centered norms, head-wise gate) and "
                "sgl-jax's (the same, rope_theta 5e6, 3 MTP layers); sgl-jax's Step 3.5 tests (full layers "
                "theta 5e6 with partial_rotary_factor 0.5, sliding 1e4 with 1.0); transformers' Step3p7TextConfig "
                "(model_type step3p5: full attention every fourth layer from 0, layers 3-44 sparse). Model card "
                "(stepfun-ai/Step-3.5-Flash README): 45 layers, 4096 wide, vocab 128896, 196.81B total (196B "
                "backbone + 0.81B head), ~11B active, 288 routed + 1 shared expert, top-8, 256K context, an MTP "
                "head. The 36 sliding + 12 global count: the LLM Architecture Gallery row"),
        config=STEP_3_5_FLASH,
        published_total=196.81e9,
        published_active=11e9,
        headline_active_excludes="embeddings",
        notes=("No verbatim copy of Step-3.5-Flash's config.json was found: its numbers are the release's "
               "configuration class as public ports mirror it, checked against the model card (see source). "
               "Unknown: rope_scaling (none is built) and swiglu_limits (transformers clamps the SwiGLU where "
               "they are set -- Step 3.7 Flash sets them on its last two layers; none is built here).",
               "45 layers: a global layer then three sliding-window (512) ones: 12 global with 64 query heads, "
               "33 sliding with 96, over 8 key/value heads of 128 everywhere (4 KiB per token and layer in bf16). "
               "The gallery's 36 sliding + 12 global counts the 3 MTP layers (sliding) as well.",
               "Per-head zero-centered RMS QK-norm and a sigmoid gate per head from a projection of its own "
               "(g_proj), as Trinity's gate but one per head. Global layers rotate half of each head (theta 5M), "
               "sliding ones all of it (theta 10k). Every norm is zero-centered, (1 + w).",
               "Layers 0-2 are dense SwiGLU MLPs (11264); layers 3-44 route each token to 8 of 288 experts (1280 "
               "wide) by sigmoid scores with a selection-only bias, weights normalized then times 3.0, plus one "
               "shared expert (1280).",
               "The 196.81B headline is the model card's (196B backbone + 0.81B head); the three MTP layers "
               "(num_nextn_predict_layers) are left out of the network, like every catalog entry's MTP modules. "
               "StepFun does not say how its ~11B active is counted: it matches the count without the two "
               "embedding tables (0.53B each).",
               "transformers implements the text decoder (models/step3p7, Step3p7TextModel) without a causal-LM "
               "head class of its own: the parity test runs it with our head's weights, and no checkpoint name "
               "map is kept (Step 3.5's checkpoints name their tensors in the release's own code)."),
    ),
)
