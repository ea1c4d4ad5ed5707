"""Hybrid entries, where most layers keep a constant-size state instead of a growing
KV cache: Qwen3-Next and Qwen3.5 / 3.6 (Gated DeltaNet), Kimi Linear (Kimi Delta Attention), Nemotron 3
Nano, Super and Ultra (Mamba-2; Super and Ultra with a latent MoE), MiniMax-M1 (lightning attention),
LFM2.5 (gated short convolutions) and xLSTM 7B (mLSTM blocks only, no attention at all), each at its
published config.json (LFM2.5 and Nemotron 3 Ultra: as far as one could be read; see their entries)."""

from __future__ import annotations

from .entry import Entry

# Nemotron 3 Ultra's 108 blocks as its config.json lists them (NVIDIA's own names, which
# transformers reads as linear_attention and full_attention): attention at these 12 places,
# Mamba-2 and MoE taking turns everywhere else, starting with Mamba-2 -- 48 of each.
_ULTRA_ATTENTION = (7, 14, 23, 32, 39, 48, 57, 64, 73, 82, 89, 98)
_ULTRA_BLOCKS = [
    "attention" if index in _ULTRA_ATTENTION
    else ("mamba", "moe")[(index - sum(a < index for a in _ULTRA_ATTENTION)) % 2]
    for index in range(108)
]

ENTRIES = [
    Entry(
        slug="qwen3-next-80b-a3b",
        title="Qwen3-Next 80B-A3B",
        family="Qwen3-Next",
        source="Qwen/Qwen3-Next-80B-A3B-Instruct config.json",
        # 48 layers = 12 x (3 Gated DeltaNet + 1 gated attention), every one an MoE of
        # 512 experts (10 routed + 1 gated shared).
        config={"model_type": "qwen3_next", "vocab_size": 151936, "hidden_size": 2048, "num_hidden_layers": 48,
                "intermediate_size": 5120, "num_attention_heads": 16, "num_key_value_heads": 2, "head_dim": 256,
                "attention_bias": False, "full_attention_interval": 4, "partial_rotary_factor": 0.25,
                "rope_theta": 10000000, "max_position_embeddings": 262144, "rms_norm_eps": 1e-6,
                "hidden_act": "silu", "linear_conv_kernel_dim": 4, "linear_key_head_dim": 128,
                "linear_value_head_dim": 128, "linear_num_key_heads": 16, "linear_num_value_heads": 32,
                "decoder_sparse_step": 1, "mlp_only_layers": [], "num_experts": 512, "num_experts_per_tok": 10,
                "moe_intermediate_size": 512, "shared_expert_intermediate_size": 512, "norm_topk_prob": True,
                "tie_word_embeddings": False},
        published_total=80e9,
        # The card's "3B activated" (the A3B of the name) is a round figure that no way of
        # counting reproduces within 3%, so the active check is left out; see notes.
        notes=("Model card: 80B total (79B non-embedding, which this spec matches: the headline leaves "
               "out the multi-token-prediction layer, which transformers does not build either) and "
               "'3B activated', a rounded figure: ArchScope counts 3.87B per token with both embedding "
               "tables, 3.25B without them.",),
    ),
    # Qwen3.5 / Qwen3.6: the text decoder (text_config) of a multimodal release; each layout
    # is 3 Gated DeltaNet + 1 gated attention, repeated. Published text_config copies carry
    # layer_types as well; full_attention_interval 4 states the same pattern.
    Entry(
        slug="qwen3.5-397b-a17b",
        title="Qwen3.5 397B-A17B",
        family="Qwen3.5",
        source="Qwen/Qwen3.5-397B-A17B config.json (text_config), as quoted in public repositories (THUDM/slime "
               "scripts/models/qwen3.5-397B-A17B.sh; a gated-delta-rule walkthrough citing "
               "huggingface.co/Qwen/Qwen3.5-397B-A17B/blob/main/config.json for the linear heads; model-metadata "
               "tables of simulators and ports); '397B / 17B activated' from the model card",
        # shared_expert_intermediate_size 1024 as slime and most copies give it (one bridge-test
        # fixture says 4096; that would make 19.6B active, far from the card's 17B).
        # 60 layers = 15 x (3 Gated DeltaNet + 1 gated attention), every one an MoE of 512
        # experts (10 routed + 1 gated shared).
        config={"model_type": "qwen3_5_moe_text", "vocab_size": 248320, "hidden_size": 4096,
                "num_hidden_layers": 60, "num_attention_heads": 32, "num_key_value_heads": 2, "head_dim": 256,
                "attention_bias": False, "full_attention_interval": 4,
                "rope_parameters": {"rope_type": "default", "rope_theta": 10000000, "partial_rotary_factor": 0.25,
                                    "mrope_section": [11, 11, 10], "mrope_interleaved": True},
                "max_position_embeddings": 262144, "rms_norm_eps": 1e-6, "hidden_act": "silu",
                "linear_conv_kernel_dim": 4, "linear_key_head_dim": 128, "linear_value_head_dim": 128,
                "linear_num_key_heads": 16, "linear_num_value_heads": 64, "num_experts": 512,
                "num_experts_per_tok": 10, "moe_intermediate_size": 1024, "shared_expert_intermediate_size": 1024,
                "tie_word_embeddings": False},
        published_total=397e9,
        published_active=17e9,
        notes=("Model card: 397B total, 17B activated. ArchScope counts the text decoder: 396.3B total and "
               "17.35B per token (both embedding tables counted); the release adds a vision encoder and one "
               "multi-token-prediction layer, which transformers' text model does not build.",),
    ),
    Entry(
        slug="qwen3.6-35b-a3b",
        title="Qwen3.6 35B-A3B",
        family="Qwen3.5",
        source="Qwen/Qwen3.6-35B-A3B config.json (text_config), as quoted in public repositories (an inventory "
               "of its Hugging Face snapshot 7da1103; THUDM/slime scripts/models/qwen36-35B-A3B.sh, which reuses "
               "qwen3.5-35B-A3B.sh); '35B / 3B activated' from the model card",
        # 40 layers = 10 x (3 Gated DeltaNet + 1 gated attention), every one an MoE of 256
        # experts (8 routed + 1 gated shared). Qwen3.6 keeps Qwen3.5-35B-A3B's architecture.
        config={"model_type": "qwen3_5_moe_text", "vocab_size": 248320, "hidden_size": 2048,
                "num_hidden_layers": 40, "num_attention_heads": 16, "num_key_value_heads": 2, "head_dim": 256,
                "attention_bias": False, "full_attention_interval": 4,
                "rope_parameters": {"rope_type": "default", "rope_theta": 10000000, "partial_rotary_factor": 0.25,
                                    "mrope_section": [11, 11, 10], "mrope_interleaved": True},
                "max_position_embeddings": 262144, "rms_norm_eps": 1e-6, "hidden_act": "silu",
                "linear_conv_kernel_dim": 4, "linear_key_head_dim": 128, "linear_value_head_dim": 128,
                "linear_num_key_heads": 16, "linear_num_value_heads": 32, "num_experts": 256,
                "num_experts_per_tok": 8, "moe_intermediate_size": 512, "shared_expert_intermediate_size": 512,
                "tie_word_embeddings": False},
        published_total=35e9,
        # The card's "3B activated" (the A3B of the name) is a round figure: ArchScope counts
        # 3.45B per token, 2.95B without the input embedding, so the active check is left out.
        notes=("Model card: 35B total (ArchScope: 34.66B for the text decoder; the release adds a vision "
               "encoder and one multi-token-prediction layer) and '3B activated', a rounded figure: "
               "ArchScope counts 3.45B per token with both embedding tables, 2.95B without the input one, "
               "2.44B without both.",),
    ),
    Entry(
        slug="qwen3.6-27b",
        title="Qwen3.6 27B",
        family="Qwen3.5",
        source="Qwen/Qwen3.6-27B config.json (text_config), as quoted in public repositories and write-ups of "
               "its config.json (max_position_embeddings 262144, rope_theta 1e7); the model card's overview "
               "(27B, hidden 5120, "
               "64 layers, 48 V / 16 QK linear heads, 24 Q / 4 KV heads, head dims 128 and 256, rotary "
               "dimension 64, intermediate 17408, vocabulary 248320)",
        # 64 layers = 16 x (3 Gated DeltaNet + 1 gated attention), every one a dense SwiGLU MLP.
        config={"model_type": "qwen3_5_text", "vocab_size": 248320, "hidden_size": 5120,
                "num_hidden_layers": 64, "intermediate_size": 17408, "num_attention_heads": 24,
                "num_key_value_heads": 4, "head_dim": 256, "attention_bias": False, "full_attention_interval": 4,
                "rope_parameters": {"rope_type": "default", "rope_theta": 10000000, "partial_rotary_factor": 0.25,
                                    "mrope_section": [11, 11, 10], "mrope_interleaved": True},
                "max_position_embeddings": 262144, "rms_norm_eps": 1e-6, "hidden_act": "silu",
                "linear_conv_kernel_dim": 4, "linear_key_head_dim": 128, "linear_value_head_dim": 128,
                "linear_num_key_heads": 16, "linear_num_value_heads": 48, "tie_word_embeddings": False},
        published_total=27e9,
        notes=("Model card: 27B. ArchScope counts 26.90B for the text decoder; the release adds a vision "
               "encoder and one multi-token-prediction layer (its bf16 index totals 55.56 GB, about 27.8B).",),
    ),
    Entry(
        slug="kimi-linear-48b-a3b",
        title="Kimi Linear 48B-A3B",
        family="Kimi Linear",
        source="moonshotai/Kimi-Linear-48B-A3B-Instruct config.json",
        # 27 layers: Kimi Delta Attention, with NoPE MLA at layers 4, 8, ..., 24 and 27
        # (1-based); the first layer's feed-forward is dense, the rest are MoE.
        config={"model_type": "kimi_linear", "vocab_size": 163840, "hidden_size": 2304, "num_hidden_layers": 27,
                "intermediate_size": 9216, "num_attention_heads": 32, "num_key_value_heads": 32,
                "kv_lora_rank": 512, "q_lora_rank": None, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
                "v_head_dim": 128, "mla_use_nope": True, "hidden_act": "silu", "rms_norm_eps": 1e-5,
                "model_max_length": 1048576, "tie_word_embeddings": False,
                "linear_attn_config": {"full_attn_layers": [4, 8, 12, 16, 20, 24, 27], "head_dim": 128,
                                       "kda_layers": [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19, 21,
                                                      22, 23, 25, 26],
                                       "num_heads": 32, "short_conv_kernel_size": 4},
                "first_k_dense_replace": 1, "moe_layer_freq": 1, "num_experts": 256, "num_experts_per_token": 8,
                "num_shared_experts": 1, "moe_intermediate_size": 1024, "moe_renormalize": True,
                "moe_router_activation_func": "sigmoid", "num_expert_group": 1, "topk_group": 1,
                "routed_scaling_factor": 2.446, "num_nextn_predict_layers": 0},
        published_total=48e9,
        # The card's "3B activated" is a round figure (3.11B without the input embedding,
        # 2.73B without both tables), outside 3% either way, so the active check is left out.
        notes=("Model card: 48B total, '3B activated' (rounded): ArchScope counts 3.48B per token "
               "with both embedding tables, 3.11B without the input one, 2.73B without both.",),
    ),
    Entry(
        slug="nemotron-3-nano-30b-a3b",
        title="NVIDIA Nemotron 3 Nano 30B-A3B",
        family="Nemotron 3",
        source="nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16 config.json",
        # 52 single-sublayer blocks: 23 Mamba-2 (M), 23 MoE (E), 6 attention (*).
        config={"model_type": "nemotron_h", "vocab_size": 131072, "hidden_size": 2688, "num_hidden_layers": 52,
                "hybrid_override_pattern": "MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME",
                "num_attention_heads": 32, "num_key_value_heads": 2, "head_dim": 128, "attention_bias": False,
                "mamba_num_heads": 64, "mamba_head_dim": 64, "ssm_state_size": 128, "n_groups": 8,
                "conv_kernel": 4, "expand": 2, "chunk_size": 128, "use_conv_bias": True, "mamba_proj_bias": False,
                "use_bias": False, "mamba_hidden_act": "silu", "time_step_min": 0.001, "time_step_max": 0.1,
                "time_step_floor": 0.0001, "intermediate_size": 1856, "mlp_hidden_act": "relu2", "mlp_bias": False,
                "n_routed_experts": 128, "num_experts_per_tok": 6, "moe_intermediate_size": 1856,
                "n_shared_experts": 1, "moe_shared_expert_intermediate_size": 3712, "norm_topk_prob": True,
                "routed_scaling_factor": 2.5, "n_group": 1, "topk_group": 1, "layer_norm_epsilon": 1e-5,
                "max_position_embeddings": 262144, "tie_word_embeddings": False},
        published_total=31.6e9,
        published_active=3.2e9,
        headline_active_excludes="input_embedding",
        notes=("Model card: 31.6B total, about 3.2B active per token, 3.6B counting the embeddings; "
               "the 3.2B leaves out the input embedding table, which ArchScope counts (3.58B).",),
    ),
    Entry(
        slug="nemotron-3-nano-4b",
        title="NVIDIA Nemotron 3 Nano 4B",
        family="Nemotron 3",
        source="nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16 config.json, read through public code that quotes it: a "
               "Rust engine's full_config_from_json_nano_4b test (every key below but the context and "
               "norm epsilon key), an MLC port's test of the HF config (max_position_embeddings 262144, "
               "rms 1e-5), a serving test's metadata check (the same pattern and widths; 263 tensors) and "
               "NeMo Safe Synthesizer's config signature and block list; a GGUF of it agrees on 42 blocks, width "
               "3136, 40 heads, vocabulary 131072, state 128, kernel 4, 8 groups. Headline: the BF16 "
               "model.safetensors at revision dfaf35de (7,947,142,640 bytes less its 28,968-byte header and "
               "8-byte length: 3,973,556,832 bf16 weights), as a public smoke-test report gives it",
        # 42 single-sublayer blocks: 21 Mamba-2 (M), 17 relu2 MLPs (-), 4 attention (*); no MoE.
        config={"model_type": "nemotron_h", "vocab_size": 131072, "hidden_size": 3136, "num_hidden_layers": 42,
                "hybrid_override_pattern": "M-M-M-MM-M-M*-M-M*-M-M-M*-M-M-MM*-MMM-M-M-",
                "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128, "attention_bias": False,
                "mamba_num_heads": 96, "mamba_head_dim": 80, "ssm_state_size": 128, "n_groups": 8,
                "conv_kernel": 4, "chunk_size": 256, "use_conv_bias": True, "mamba_proj_bias": False,
                "use_bias": False, "mamba_hidden_act": "silu", "time_step_min": 0.001, "time_step_max": 0.1,
                "intermediate_size": 12544, "mlp_hidden_act": "relu2", "mlp_bias": False,
                "layer_norm_epsilon": 1e-5, "max_position_embeddings": 262144, "tie_word_embeddings": False},
        published_total=3_973_556_832,
        notes=("Nemotron Nano 9B v2 compressed (Nemotron Elastic) to a dense hybrid: 21 Mamba-2 blocks of 96 "
               "heads x 80 (7680 wide, not 2 x 3136), 17 squared-ReLU MLPs of 12544 and only four NoPE GQA "
               "blocks (40 query, 8 KV heads of 128), so the KV cache is 4 x 2 x 8 x 128 values a token.",
               "The copies quoted do not show the norm epsilon's key or time_step_floor; the epsilon is 1e-5 "
               "in every reading and is written under the family's layer_norm_epsilon; neither changes a count.",
               "The count equals the checkpoint's weights exactly (3,973,556,832, BF16 safetensors header)."),
    ),
    Entry(
        slug="nemotron-3-super-120b-a12b",
        title="NVIDIA Nemotron 3 Super 120B-A12B",
        family="Nemotron 3",
        source="nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-BF16 config.json, as quoted whole in public code (the "
               "NVFP4 release's copy, the same but for its quantization_config); '120B total, 12B active' from "
               "research.nvidia.com/labs/nemotron/Nemotron-3-Super and the tech report; the BF16 safetensors "
               "headers (123,611,012,096 weights, 2,942,324,736 of them the MTP head) as a public "
               "parameter-count test quotes them",
        # 88 single-sublayer blocks: 40 Mamba-2 (M), 40 latent MoE (E), 8 attention (*). Each
        # MoE routes from the full 4096-wide token to 22 of 512 experts that work in a
        # 1024-wide latent; the shared expert reads the full token. One MTP head (*E).
        config={"model_type": "nemotron_h", "vocab_size": 131072, "hidden_size": 4096, "num_hidden_layers": 88,
                "hybrid_override_pattern": "MEMEMEM*EMEMEMEM*EMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*"
                                           "EMEMEMEMEM*EMEMEMEM*EMEMEMEME",
                "num_attention_heads": 32, "num_key_value_heads": 2, "head_dim": 128, "attention_bias": False,
                "mamba_num_heads": 128, "mamba_head_dim": 64, "ssm_state_size": 128, "n_groups": 8,
                "conv_kernel": 4, "expand": 2, "chunk_size": 128, "use_conv_bias": True, "mamba_proj_bias": False,
                "use_bias": False, "mamba_hidden_act": "silu", "time_step_min": 0.001, "time_step_max": 0.1,
                "time_step_floor": 0.0001, "intermediate_size": 2688, "mlp_hidden_act": "relu2", "mlp_bias": False,
                "n_routed_experts": 512, "num_experts_per_tok": 22, "moe_intermediate_size": 2688,
                "moe_latent_size": 1024, "n_shared_experts": 1, "moe_shared_expert_intermediate_size": 5376,
                "moe_shared_expert_overlap": False, "norm_topk_prob": True, "routed_scaling_factor": 5.0,
                "n_group": 1, "topk_group": 1, "layer_norm_epsilon": 1e-5, "num_nextn_predict_layers": 1,
                "mtp_hybrid_override_pattern": "*E", "max_position_embeddings": 262144,
                "tie_word_embeddings": False},
        published_total=120e9,
        published_active=12e9,
        headline_active_excludes="input_embedding",
        notes=("NVIDIA: 120B total, 12B active, both round. ArchScope counts 120.67B without the multi-token-"
               "prediction head (1 attention + 1 latent MoE block, 2.94B in the checkpoint; transformers does "
               "not build it either) and 12.77B active per token with both embedding tables, 12.23B without "
               "the input embedding, which the family's Nano card leaves out of its active count too.",),
    ),
    Entry(
        slug="nemotron-3-ultra-550b-a55b",
        title="NVIDIA Nemotron 3 Ultra 550B-A55B",
        family="Nemotron 3",
        source="Assembled, no config.json of nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16 having been found in "
               "a public copy: widths, heads, Mamba-2 and expert sizes, top-k and latent from the Nemotron 3 "
               "Ultra tech report's Table 1 (2026-06-03; NVIDIA-NeMo/Nemotron skills/nemotron-ultra/paper/"
               "architecture.md); the block order (attention at 7, 14, 23, ..., 98) from public serving code "
               "that checks the published config; vocabulary, untied head, context, routed scaling 5.0, dense "
               "width 5120 and the MTP head from public summaries of that config.json; '550B total / 55B "
               "active' from the tech report",
        # 108 single-sublayer blocks: 48 Mamba-2, 48 latent MoE, 12 attention. Each MoE routes
        # from the full 8192-wide token to 22 of 512 experts working in a 2048-wide latent.
        config={"model_type": "nemotron_h", "vocab_size": 131072, "hidden_size": 8192,
                "layers_block_type": _ULTRA_BLOCKS,
                "num_attention_heads": 64, "num_key_value_heads": 2, "head_dim": 128, "attention_bias": False,
                "mamba_num_heads": 256, "mamba_head_dim": 64, "ssm_state_size": 128, "n_groups": 8,
                "conv_kernel": 4, "expand": 2, "chunk_size": 128, "use_conv_bias": True, "mamba_proj_bias": False,
                "use_bias": False, "mamba_hidden_act": "silu", "time_step_min": 0.001, "time_step_max": 0.1,
                "time_step_floor": 0.0001, "intermediate_size": 5120, "mlp_hidden_act": "relu2", "mlp_bias": False,
                "n_routed_experts": 512, "num_experts_per_tok": 22, "moe_intermediate_size": 5120,
                "moe_latent_size": 2048, "n_shared_experts": 1, "moe_shared_expert_intermediate_size": 10240,
                "moe_shared_expert_overlap": False, "norm_topk_prob": True, "routed_scaling_factor": 5.0,
                "n_group": 1, "topk_group": 1, "layer_norm_epsilon": 1e-5, "num_nextn_predict_layers": 1,
                "mtp_layers_block_type": ["attention", "moe"], "max_position_embeddings": 262144,
                "tie_word_embeddings": False},
        published_total=550e9,
        published_active=55e9,
        headline_active_excludes="input_embedding",
        notes=("Not read from a config.json: the numbers come from the sources named above. Unknown, and "
               "taken from Super's config (they change no parameter count): layer_norm_epsilon, the Mamba-2 "
               "conv bias and time-step range, the chunk size. The dense intermediate_size names no layer "
               "(every block is Mamba-2, attention or MoE).",
               "The tech report: 550B total, 55B active. ArchScope counts 549.3B without the multi-token-"
               "prediction head (1 attention + 1 latent MoE block, about 11.2B, which the checkpoint's 561B "
               "includes) and 56.0B active per token with both embedding tables, 54.9B without the input "
               "embedding, as the family's Nano card counts.",),
    ),
    Entry(
        slug="minimax-m1",
        title="MiniMax-M1",
        family="MiniMax-M1",
        source="MiniMaxAI/MiniMax-M1-80k config.json",
        # 80 layers = 10 x (7 lightning attention + 1 softmax attention), each with an MoE
        # of 32 experts (top 2); residuals carry the normed input, weighted 3.5566 : 1.
        config={"model_type": "minimax_m1", "vocab_size": 200064, "hidden_size": 6144, "num_hidden_layers": 80,
                "intermediate_size": 9216, "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 128,
                "attn_type_list": [0, 0, 0, 0, 0, 0, 0, 1] * 10, "rotary_dim": 64, "rope_theta": 10000000,
                "max_position_embeddings": 10240000, "rms_norm_eps": 1e-5, "hidden_act": "silu",
                "num_local_experts": 32, "num_experts_per_tok": 2, "shared_intermediate_size": 0,
                "postnorm": True, "layernorm_full_attention_alpha": 3.5565588200778455,
                "layernorm_full_attention_beta": 1.0, "layernorm_linear_attention_alpha": 3.5565588200778455,
                "layernorm_linear_attention_beta": 1.0, "layernorm_mlp_alpha": 3.5565588200778455,
                "layernorm_mlp_beta": 1.0, "sliding_window": None, "tie_word_embeddings": False},
        published_total=456e9,
        published_active=45.9e9,
        headline_active_excludes="embeddings",
        notes=("MiniMax's 45.9B active leaves out both embedding tables (1.23B each), which ArchScope "
               "counts (48.4B).",
               "The published config.json is MiniMax's remote-code form (model_type minimax_m1); it "
               "converts to transformers' minimax. Softmax layers rotate half of each head (rotary_dim "
               "64 of 128); transformers' minimax rotates the whole head, so its runs differ there.",),
    ),
    Entry(
        slug="lfm2.5-1.2b",
        title="LFM2.5 1.2B",
        family="LFM2.5",
        source="LiquidAI/LFM2.5-1.2B-Instruct model card (1.17B parameters; 16 layers = 10 double-gated LIV "
               "convolution + 6 GQA blocks; vocabulary 65,536); widths from LiquidAI/LFM2-1.2B config.json, "
               "whose architecture the card says LFM2.5 keeps (its own config.json was not found in a readable copy)",
        # 16 layers: gated short convolutions, with GQA (QK-norm) at layers 2, 5, 8, 10, 12 and 14
        # (0-based). block_ff_dim 12288 is the SwiGLU width before transformers' 2/3 rule: 8192.
        config={"model_type": "lfm2", "vocab_size": 65536, "hidden_size": 2048, "num_hidden_layers": 16,
                "num_attention_heads": 32, "num_key_value_heads": 8, "max_position_embeddings": 128000,
                "norm_eps": 1e-5, "conv_bias": False, "conv_L_cache": 3, "conv_dim": 2048,
                "block_ff_dim": 12288, "block_multiple_of": 256, "block_ffn_dim_multiplier": 1.0,
                "block_auto_adjust_ff_dim": True, "rope_theta": 1000000.0, "tie_embedding": True,
                "layer_types": ["conv", "conv", "full_attention", "conv", "conv", "full_attention", "conv", "conv",
                                "full_attention", "conv", "full_attention", "conv", "full_attention", "conv",
                                "full_attention", "conv"]},
        published_total=1.17e9,
        notes=("The LFM2.5 release changed the training (28T tokens, reinforcement learning), not the "
               "architecture: the widths here are LFM2-1.2B's, and reproduce the card's 1.17B. The card "
               "gives a 32,768-token context; max_position_embeddings is LFM2's 128000.",),
    ),
    Entry(
        slug="lfm2.5-350m",
        title="LFM2.5 350M",
        family="LFM2.5",
        source="LiquidAI/LFM2.5-350M model card (350M; 10 LIV convolution + 6 GQA blocks; 32,768-token "
               "context); widths from LFM2-350M's config.json (hidden 1024, 16 heads / 8 KV, block_ff_dim 6656) "
               "as third-party LFM2.5-350M loaders quote it; its own config.json was not found in a readable copy",
        # LFM2-1.2B's layer pattern at half the width; block_ff_dim 6656 becomes a 4608-wide SwiGLU.
        config={"model_type": "lfm2", "vocab_size": 65536, "hidden_size": 1024, "num_hidden_layers": 16,
                "num_attention_heads": 16, "num_key_value_heads": 8, "max_position_embeddings": 128000,
                "norm_eps": 1e-5, "conv_bias": False, "conv_L_cache": 3, "conv_dim": 1024,
                "block_ff_dim": 6656, "block_multiple_of": 256, "block_ffn_dim_multiplier": 1.0,
                "block_auto_adjust_ff_dim": True, "rope_theta": 1000000.0, "tie_embedding": True,
                "layer_types": ["conv", "conv", "full_attention", "conv", "conv", "full_attention", "conv", "conv",
                                "full_attention", "conv", "full_attention", "conv", "full_attention", "conv",
                                "full_attention", "conv"]},
        published_total=350e6,
        notes=("Unknown from a first-hand copy: the vocabulary (65,536 here, LFM2's and the LFM2.5-1.2B "
               "card's) and rope_theta (LFM2's 1e6). ArchScope counts 354.5M, LFM2-350M's published "
               "354,483,968 exactly; the card rounds to 350M.",),
    ),
    Entry(
        slug="lfm2.5-8b-a1b",
        title="LFM2.5 8B-A1B",
        family="LFM2.5 MoE",
        source="LiquidAI/LFM2.5-8B-A1B config.json as a third-party loader's test quotes it (vocab_size 124928, "
               "norm_eps 1e-6, rope_theta 5e6, the layer_types below), otherwise LiquidAI/LFM2-8B-A1B's; "
               "model card: 8.3B total, 1.5B active, 24 layers = 18 LIV convolution + 6 GQA, 128k context",
        # 24 layers, GQA at 2, 6, 10, 14, 18 and 21 (0-based); the first two feed-forwards are a dense
        # SwiGLU, the other 22 route each token to 4 of 32 experts by sigmoid scores plus a
        # per-expert bias that steers only the choice.
        config={"model_type": "lfm2_moe", "vocab_size": 124928, "hidden_size": 2048, "num_hidden_layers": 24,
                "intermediate_size": 7168, "moe_intermediate_size": 1792, "num_attention_heads": 32,
                "num_key_value_heads": 8, "max_position_embeddings": 128000, "norm_eps": 1e-6,
                "conv_bias": False, "conv_L_cache": 3, "num_dense_layers": 2, "num_experts": 32,
                "num_experts_per_tok": 4, "norm_topk_prob": True, "use_expert_bias": True,
                "routed_scaling_factor": 1.0, "rope_parameters": {"rope_theta": 5000000.0, "rope_type": "default"},
                "tie_word_embeddings": True,
                "layer_types": ["conv", "conv", "full_attention", "conv", "conv", "conv", "full_attention", "conv",
                                "conv", "conv", "full_attention", "conv", "conv", "conv", "full_attention", "conv",
                                "conv", "conv", "full_attention", "conv", "conv", "full_attention", "conv", "conv"]},
        published_total=8.3e9,
        # The card's 1.5B active is LFM2-8B-A1B's figure (1.56B with its 65,536-row table), which the
        # larger vocabulary moves out of 3% either way (see notes): the active check is left out.
        notes=("Not read first-hand: vocab_size 124928 (the card says 'vocabulary 128,000'), norm_eps 1e-6 and "
               "rope_theta 5e6 come from one third-party copy of the config (rope_theta 5e6 also from a second); "
               "every other number is LFM2-8B-A1B's published config, which the card says LFM2.5 keeps.",
               "Model card: 8.3B total and 1.5B active, LFM2-8B-A1B's figures. With the 124,928-row tied table "
               "ArchScope counts 8.46B total and 1.68B active per token (1.42B without the embedding lookup).",),
    ),
    Entry(
        slug="xlstm-7b",
        title="xLSTM 7B",
        family="xLSTM",
        source="NX-AI/xLSTM-7b config.json as first published (commit f52774c, "
               "huggingface.co/NX-AI/xLSTM-7b/raw/f52774cf035729106d92a7c566584262e9726b79/config.json); its "
               "later revision (#5, bb54ae8) only renames the kernel choices (chunkwise_kernel, step_kernel) and "
               "drops the _name_or_path, transformers_version and backend-name keys",
        # 32 blocks, each an mLSTM (8 heads; queries and keys 2048 wide, values 4096; per head a
        # 256 x 512 matrix memory) then a SwiGLU of 4096 x 2.667 rounded up to 10944. No attention,
        # no KV cache: every layer keeps a constant state. The older keys (add_post_blocks_norm,
        # cell_norm_eps, head_dim, ...) are the xlstm package's; transformers ignores them.
        config={"add_embedding_dropout": False, "add_forward_backend_padding": False, "add_out_norm": True,
                "add_post_blocks_norm": True, "add_post_norm": False, "add_qk_norm": False,
                "architectures": ["xLSTMForCausalLM"], "bos_token_id": 0, "cell_norm_eps": 1e-06,
                "embedding_dim": 4096, "eos_token_id": 2, "ffn_proj_factor": 2.667,
                "ffn_round_up_to_multiple_of": 64, "force_bos_token_insert": True,
                "forward_backend_name": "chunkwise--triton_limit_chunk", "gate_soft_cap": 15.0, "head_dim": 512,
                "igate_bias_init_range": -10.0, "mlstm_round_up_to_multiple_of": 64, "model_type": "xlstm",
                "norm_eps": 1e-06, "norm_reduction_force_float32": True, "num_blocks": 32, "num_heads": 8,
                "output_logit_soft_cap": 30.0, "pad_token_id": 1, "qk_dim_factor": 0.5, "return_last_states": True,
                "step_backend_name": "triton_fused", "tie_word_embeddings": False, "torch_dtype": "float32",
                "transformers_version": "4.47.0.dev0", "use_bias": False, "use_cache": True, "v_dim_factor": 1.0,
                "vocab_size": 50304},
        published_total=7e9,
        notes=("The headline is the name's '7B'; ArchScope counts 6.87B, as transformers builds it (both "
               "embedding tables untied, 0.41B together).",
               "Recurrent throughout: no KV cache grows with the context. Each layer keeps 8 heads x (256 x 512 "
               "memory + 256 normalizer + 1 stabilizer) values, 1.05M, whatever the context length.",
               "The config names no context length (the model was trained at 8,192 tokens).",),
    ),
]
