"""DeepSeek-lineage entries: DeepSeek V3/R1/V3.2, Kimi K2/K2.5/K2.6, Mistral 3 Large, Mistral Small 4,
GLM-4.5/4.7, GLM-5/5.1, Sarvam 105B/30B, MiMo-V2-Flash.

Each config is the text decoder's published config.json, trimmed to the keys that
decide the architecture (tokenizer ids, dtypes and quantization left out).
"""

from __future__ import annotations

from .entry import Entry

# deepseek-ai/DeepSeek-V3 config.json; DeepSeek-R1 ships the identical file.
DEEPSEEK_V3 = {
    "model_type": "deepseek_v3", "vocab_size": 129280, "hidden_size": 7168, "intermediate_size": 18432,
    "moe_intermediate_size": 2048, "num_hidden_layers": 61, "num_attention_heads": 128,
    "num_key_value_heads": 128, "n_shared_experts": 1, "n_routed_experts": 256, "routed_scaling_factor": 2.5,
    "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_rope_head_dim": 64, "v_head_dim": 128,
    "qk_nope_head_dim": 128, "topk_method": "noaux_tc", "n_group": 8, "topk_group": 4,
    "num_experts_per_tok": 8, "moe_layer_freq": 1, "first_k_dense_replace": 3, "norm_topk_prob": True,
    "scoring_func": "sigmoid", "hidden_act": "silu", "max_position_embeddings": 163840, "rms_norm_eps": 1e-6,
    "rope_theta": 10000,
    "rope_scaling": {"type": "yarn", "factor": 40, "beta_fast": 32, "beta_slow": 1, "mscale": 1.0,
                     "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096},
    "attention_bias": False, "tie_word_embeddings": False, "num_nextn_predict_layers": 1,
}

# deepseek-ai/DeepSeek-V3.2-Exp config.json: V3 plus the lightning indexer.
DEEPSEEK_V32 = DEEPSEEK_V3 | {"model_type": "deepseek_v32", "index_n_heads": 64, "index_head_dim": 128,
                              "index_topk": 2048}

# moonshotai/Kimi-K2-Instruct config.json. Its model_type is "kimi_k2" but its
# architectures entry is DeepseekV3ForCausalLM: stored here as deepseek_v3.
KIMI_K2 = DEEPSEEK_V3 | {
    "vocab_size": 163840, "num_attention_heads": 64, "num_key_value_heads": 64, "n_routed_experts": 384,
    "routed_scaling_factor": 2.827, "n_group": 1, "topk_group": 1, "first_k_dense_replace": 1,
    "max_position_embeddings": 131072, "rope_theta": 50000.0,
    "rope_scaling": {"type": "yarn", "factor": 32.0, "beta_fast": 1.0, "beta_slow": 1.0, "mscale": 1.0,
                     "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096},
    "num_nextn_predict_layers": 0,
}

# moonshotai/Kimi-K2-Thinking config.json: K2's architecture with a 256K context.
KIMI_K2_THINKING = KIMI_K2 | {
    "max_position_embeddings": 262144,
    "rope_scaling": KIMI_K2["rope_scaling"] | {"factor": 64.0},
}

# moonshotai/Kimi-K2.5 and Kimi-K2.6 config.json, text_config (the release's model_type is
# kimi_k25: a MoonViT vision encoder before this decoder; its text_config says kimi_k2, which
# transformers reads as deepseek_v3). No verbatim public copy of either file was found: the
# decoder is K2 Thinking's, key for key, as the model cards' architecture tables give it
# (1T total, 32B active, 61 layers with 1 dense, 7168 wide, 64 MLA heads, 384 experts top 8
# plus 1 shared of 2048, 160K vocabulary, 256K context) and as NVIDIA TensorRT-LLM's bundled
# Kimi-K2.5 config repeats it (262144 positions, rope theta 50000, routed scaling 2.827,
# sigmoid noaux_tc routing); the YaRN factor 64 (256K / 4096) and rms_norm_eps 1e-6 are
# K2 Thinking's, not seen in a K2.5 file.
KIMI_K25 = KIMI_K2_THINKING

# mistralai/Mistral-Large-3-675B-Instruct-2512 ships a Mistral-format params.json; its
# text part under DeepSeek-V3 key names, as vLLM's Mistral adapter maps it (dim ->
# hidden_size, moe.expert_hidden_dim -> moe_intermediate_size, yarn.beta/alpha ->
# beta_fast/beta_slow; its router is a plain softmax top-k, no correction bias).
MISTRAL_LARGE_3 = {
    "model_type": "deepseek_v3", "vocab_size": 131072, "hidden_size": 7168, "intermediate_size": 16384,
    "moe_intermediate_size": 4096, "num_hidden_layers": 61, "num_attention_heads": 128,
    "num_key_value_heads": 128, "n_shared_experts": 1, "n_routed_experts": 128, "num_experts_per_tok": 4,
    "routed_scaling_factor": 1.0, "n_group": 1, "topk_group": 1, "first_k_dense_replace": 3,
    "norm_topk_prob": True, "scoring_func": "softmax", "topk_method": "greedy",
    "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128,
    "v_head_dim": 128, "hidden_act": "silu", "rms_norm_eps": 1e-6, "max_position_embeddings": 294912,
    "rope_theta": 10000.0,
    "rope_scaling": {"type": "yarn", "factor": 36, "beta_fast": 32, "beta_slow": 1, "mscale": 1.0,
                     "mscale_all_dim": 1.0, "original_max_position_embeddings": 8192},
    "llama_4_scaling": {"beta": 0.1, "original_max_position_embeddings": 8192},
    "attention_bias": False, "tie_word_embeddings": False,
}

# mistralai/Mistral-Small-4-119B-2603 config.json, text_config (the release is a mistral3 wrapper,
# Mistral3ForConditionalGeneration, around this mistral4 decoder and a Pixtral vision encoder). No
# verbatim public copy was found: the values are transformers 5.18's Mistral4Config defaults, which
# its docstring documents against this checkpoint, and agree with everything public about it (the
# card's 128 experts, 4 active, one shared; 119B total; the gallery's 36 MLA layers and 22.5 KiB
# per token, 36 x (256 + 64) x 2 bytes; a public Mistral-format converter's rope_parameters for
# Small 4: YaRN with mscale and mscale_all_dim 1.0 and llama_4_scaling_beta). Unknown: the
# published max_position_embeddings (the card says a 256K context; 1,048,576 is the class default).
MISTRAL_SMALL_4 = {
    "model_type": "mistral4", "vocab_size": 131072, "hidden_size": 4096, "intermediate_size": 12288,
    "moe_intermediate_size": 2048, "num_hidden_layers": 36, "num_attention_heads": 32, "num_key_value_heads": 32,
    "n_shared_experts": 1, "n_routed_experts": 128, "num_experts_per_tok": 4, "routed_scaling_factor": 1.0,
    "n_group": 1, "topk_group": 1, "first_k_dense_replace": 0, "norm_topk_prob": True,
    "kv_lora_rank": 256, "q_lora_rank": 1024, "qk_rope_head_dim": 64, "qk_nope_head_dim": 64, "v_head_dim": 128,
    "hidden_act": "silu", "max_position_embeddings": 1048576, "rms_norm_eps": 1e-6, "rope_interleave": True,
    "rope_parameters": {"type": "yarn", "rope_theta": 10000.0, "factor": 128.0,
                        "original_max_position_embeddings": 8192, "max_position_embeddings": 1048576,
                        "beta_fast": 32.0, "beta_slow": 1.0, "mscale_all_dim": 1.0, "mscale": 1.0,
                        "llama_4_scaling_beta": 0.1, "partial_rotary_factor": 0.5},
    "attention_bias": False, "tie_word_embeddings": False,
}

# sarvamai/sarvam-105b config.json (model_type sarvam_mla, Sarvam's remote code) under DeepSeek V3's key
# names: transformers' port of sarvam_mla (a modular file, not in 5.18) is DeepSeek V3's modules
# unchanged, its configuration DeepseekV3Config renaming num_experts -> n_routed_experts and
# num_shared_experts -> n_shared_experts, and reading rope type "deepseek_yarn" as yarn. No verbatim copy
# of the file was found: the values are those the port documents against this checkpoint (its defaults:
# 32 layers, 64 heads, no query latent, KV latent 512 + 64, 128 experts top 8 in 16 groups keeping 2,
# routed scaling 2.5, one shared, one dense layer of 16384) and that vLLM's config class for it mirrors
# (131072 positions; YaRN factor 40 over 4096, beta 32 / 1, mscale 1.0 and 1.0; rope theta 10000).
SARVAM_105B = {
    "model_type": "deepseek_v3", "vocab_size": 262144, "hidden_size": 4096, "intermediate_size": 16384,
    "moe_intermediate_size": 2048, "num_hidden_layers": 32, "num_attention_heads": 64, "num_key_value_heads": 64,
    "n_shared_experts": 1, "n_routed_experts": 128, "num_experts_per_tok": 8, "routed_scaling_factor": 2.5,
    "n_group": 16, "topk_group": 2, "first_k_dense_replace": 1, "norm_topk_prob": True, "scoring_func": "sigmoid",
    "topk_method": "noaux_tc", "kv_lora_rank": 512, "q_lora_rank": None, "qk_rope_head_dim": 64,
    "qk_nope_head_dim": 128, "v_head_dim": 128, "hidden_act": "silu", "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
    "rope_scaling": {"type": "yarn", "factor": 40, "beta_fast": 32, "beta_slow": 1, "mscale": 1.0,
                     "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096},
    "attention_bias": False, "tie_word_embeddings": False,
}

# sarvamai/sarvam-30b config.json (model_type sarvam_moe, Sarvam's remote code) under GLM-4.5's key names:
# transformers' port of sarvam_moe (not in 5.18) builds Qwen3's attention (per-head QK RMSNorm, RoPE over
# the whole head, no bias) before DeepSeek V3's router (sigmoid scores, a selection-only correction bias,
# group-limited top-k, normalized, routed scaling), one shared expert and dense first layers -- exactly
# transformers' glm4_moe with partial_rotary_factor 1, use_qk_norm and no attention bias. No verbatim copy
# of the file was found: the values are the port's defaults, documented against sarvamai/sarvam-30b-fp8
# (19 layers, 64 query heads, 4 kv heads of 64, 128 experts of 1024 top 6 plus one shared, one dense layer
# of 8192, routed scaling 2.5, 131072 positions); its rope theta is the class default (10000), unconfirmed.
SARVAM_30B = {
    "model_type": "glm4_moe", "vocab_size": 262144, "hidden_size": 4096, "intermediate_size": 8192,
    "moe_intermediate_size": 1024, "num_hidden_layers": 19, "num_attention_heads": 64, "num_key_value_heads": 4,
    "head_dim": 64, "n_routed_experts": 128, "n_shared_experts": 1, "num_experts_per_tok": 6,
    "first_k_dense_replace": 1, "routed_scaling_factor": 2.5, "n_group": 1, "topk_group": 1, "norm_topk_prob": True,
    "partial_rotary_factor": 1.0, "rope_theta": 10000.0, "rope_scaling": None, "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-6, "attention_bias": False, "use_qk_norm": True, "hidden_act": "silu",
    "num_nextn_predict_layers": 0, "tie_word_embeddings": False,
}

# zai-org/GLM-4.5 config.json
GLM_45 = {
    "model_type": "glm4_moe", "vocab_size": 151552, "hidden_size": 5120, "intermediate_size": 12288,
    "moe_intermediate_size": 1536, "num_hidden_layers": 92, "num_attention_heads": 96, "num_key_value_heads": 8,
    "head_dim": 128, "n_routed_experts": 160, "n_shared_experts": 1, "num_experts_per_tok": 8,
    "first_k_dense_replace": 3, "routed_scaling_factor": 2.5, "n_group": 1, "topk_group": 1,
    "norm_topk_prob": True, "partial_rotary_factor": 0.5, "rope_theta": 1000000, "rope_scaling": None,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "attention_bias": True, "use_qk_norm": True,
    "hidden_act": "silu", "num_nextn_predict_layers": 1, "tie_word_embeddings": False,
}

# zai-org/GLM-4.5-Air config.json
GLM_45_AIR = GLM_45 | {
    "hidden_size": 4096, "intermediate_size": 10944, "moe_intermediate_size": 1408, "num_hidden_layers": 46,
    "n_routed_experts": 128, "first_k_dense_replace": 1, "routed_scaling_factor": 1.0, "use_qk_norm": False,
}

# zai-org/GLM-4.7 config.json (as reproduced, key for key, by a public converter's test of the
# "official full config"): GLM-4.5's architecture with a 202,752-token context.
GLM_47 = GLM_45 | {"max_position_embeddings": 202752}

# zai-org/GLM-5.1 config.json, as dumped verbatim (with the model's weight list) in a public
# model-report file; the keys that decide the architecture, all of them kept.
GLM_51 = {
    "model_type": "glm_moe_dsa", "vocab_size": 154880, "hidden_size": 6144, "intermediate_size": 12288,
    "moe_intermediate_size": 2048, "num_hidden_layers": 78, "num_attention_heads": 64, "num_key_value_heads": 64,
    "head_dim": 64, "qk_head_dim": 256, "q_lora_rank": 2048, "kv_lora_rank": 512, "qk_nope_head_dim": 192,
    "qk_rope_head_dim": 64, "v_head_dim": 256, "index_n_heads": 32, "index_head_dim": 128, "index_topk": 2048,
    "indexer_rope_interleave": True, "rope_interleave": True, "n_routed_experts": 256, "n_shared_experts": 1,
    "num_experts_per_tok": 8, "first_k_dense_replace": 3, "moe_layer_freq": 1, "n_group": 1, "topk_group": 1,
    "norm_topk_prob": True, "routed_scaling_factor": 2.5, "scoring_func": "sigmoid", "topk_method": "noaux_tc",
    "hidden_act": "silu", "rms_norm_eps": 1e-5, "max_position_embeddings": 202752,
    "rope_parameters": {"rope_theta": 1000000, "rope_type": "default"}, "attention_bias": False,
    "tie_word_embeddings": False, "num_nextn_predict_layers": 1,
}

# zai-org/GLM-5 config.json: no verbatim public copy was found. jd-opensource/xllm's
# xllm/models/llm/glm5.h reads it (citing huggingface.co/zai-org/GLM-5/blob/main/config.json)
# and its defaults are GLM-5.1's values key for key (rope_theta 1e6, index 32 x 128 top 2048,
# indexer_rope_interleave true); GLM-5.1 is the same architecture, retrained.
GLM_5 = GLM_51

# XiaomiMiMo/MiMo-V2-Flash config.json, in its published key names: the sliding layers'
# own head counts (swa_*), hybrid_layer_pattern (1: sliding) and moe_layer_freq (1: MoE).
MIMO_V2_FLASH = {
    "model_type": "mimo_v2_flash", "vocab_size": 152576, "hidden_size": 4096, "intermediate_size": 16384,
    "moe_intermediate_size": 2048, "num_hidden_layers": 48, "num_attention_heads": 64, "num_key_value_heads": 4,
    "head_dim": 192, "v_head_dim": 128, "swa_num_attention_heads": 64, "swa_num_key_value_heads": 8,
    "swa_head_dim": 192, "swa_v_head_dim": 128, "partial_rotary_factor": 0.334, "rope_theta": 5000000,
    "swa_rope_theta": 10000, "sliding_window": 128, "add_swa_attention_sink_bias": True,
    "add_full_attention_sink_bias": False, "attention_value_scale": 0.707,
    "hybrid_layer_pattern": [0 if i == 0 or (i + 1) % 6 == 0 else 1 for i in range(48)],
    "moe_layer_freq": [0] + [1] * 47, "n_routed_experts": 256, "num_experts_per_tok": 8,
    "n_shared_experts": None, "scoring_func": "sigmoid", "topk_method": "noaux_tc", "n_group": 1, "topk_group": 1,
    "norm_topk_prob": True, "routed_scaling_factor": None, "layernorm_epsilon": 1e-5,
    "max_position_embeddings": 262144, "attention_bias": False, "hidden_act": "silu", "tie_word_embeddings": False,
}

# XiaomiMiMo/MiMo-V2.5: MiMo-V2-Flash's backbone (the model card), its config read as far as public
# copies go (see the entry's source); RoPE and norm scalars as two public ports' V2.5 fixtures give them.
MIMO_V2_5 = MIMO_V2_FLASH | {"rope_theta": 10000000, "partial_rotary_factor": 0.5, "layernorm_epsilon": 1e-6,
                             "max_position_embeddings": 1048576}

# XiaomiMiMo/MiMo-V2.5-Pro: the model card's sizes over MiMo-V2.5's config; what the card does not
# give is V2.5's (see the entry's notes). Global attention every seventh layer: 60 sliding + 10 global.
MIMO_V2_5_PRO = MIMO_V2_5 | {
    "hidden_size": 6144, "num_hidden_layers": 70, "num_attention_heads": 128, "num_key_value_heads": 8,
    "swa_num_attention_heads": 128, "swa_num_key_value_heads": 16, "n_routed_experts": 384,
    "hybrid_layer_pattern": [0 if (i + 1) % 7 == 0 else 1 for i in range(70)], "moe_layer_freq": [0] + [1] * 69,
}

# meituan-longcat/LongCat-Flash-Lite config.json (model_type longcat_flash_ngram, Meituan's remote
# code). Its keys as two public copies show them: the FP8 re-upload models123/LongCat-Flash-Lite-FP8
# (the file verbatim, a quantization_config added) and Intel/LongCat-Flash-Lite-int4-AutoRound;
# the tail they cut off (vocab, zero experts, rope theta, eps, scaling) from a subset "verified
# against the HF repo @ main" in a public engine's test fixture. No copy showed rope_scaling.
LONGCAT_FLASH_LITE = {
    "model_type": "longcat_flash_ngram", "attention_bias": False, "bos_token_id": 1, "eos_token_id": 2,
    "emb_neighbor_num": 4, "emb_split_num": 4, "expert_ffn_hidden_size": 1024, "ffn_hidden_size": 6144,
    "hidden_size": 3072, "kv_lora_rank": 512, "max_position_embeddings": 327680, "mla_scale_kv_lora": True,
    "mla_scale_q_lora": True, "moe_topk": 12, "n_routed_experts": 256, "ngram_vocab_size_ratio": 78,
    "num_attention_heads": 32, "num_layers": 14, "q_lora_rank": 1536, "qk_nope_head_dim": 128,
    "qk_rope_head_dim": 64, "v_head_dim": 128, "routed_scaling_factor": 6.0, "vocab_size": 131072,
    "zero_expert_num": 128, "zero_expert_type": "identity", "rope_theta": 5000000.0, "rms_norm_eps": 1e-5,
    "hidden_act": "silu",
}

ENTRIES = [
    Entry(
        slug="deepseek-v3",
        title="DeepSeek V3 (671B-A37B)",
        family="DeepSeek V3",
        source="deepseek-ai/DeepSeek-V3 config.json",
        config=DEEPSEEK_V3,
        published_total=671e9,
        published_active=37e9,
        notes=("Three dense layers, then 58 MoE layers of 256 routed experts (top 8) plus one shared.",
               "671B counts the main model; the 685B on the hub adds the 14B multi-token-prediction module."),
    ),
    Entry(
        slug="deepseek-r1",
        title="DeepSeek R1 (671B-A37B)",
        family="DeepSeek V3",
        source="deepseek-ai/DeepSeek-R1 config.json",
        config=DEEPSEEK_V3,
        published_total=671e9,
        published_active=37e9,
        notes=("The same architecture as DeepSeek V3 (identical config.json); R1 differs only in training.",),
    ),
    Entry(
        slug="deepseek-v3.2",
        title="DeepSeek V3.2-Exp (671B-A37B, sparse attention)",
        family="DeepSeek V3.2",
        source="deepseek-ai/DeepSeek-V3.2-Exp config.json",
        config=DEEPSEEK_V32,
        published_total=671e9,
        notes=("DeepSeek V3 plus DeepSeek sparse attention: a lightning indexer (64 heads x 128) scores "
               "every cached token and each query attends to the top 2048.",
               "The indexer caches one 128-value key per token per layer beside MLA's 512 + 64 latent.",
               "No active count is checked: the quoted 37B is V3's, and every token also passes through "
               "the indexers (about 0.85B over 61 layers)."),
    ),
    Entry(
        slug="kimi-k2",
        title="Kimi K2 Instruct (1T-A32B)",
        family="Kimi K2",
        source="moonshotai/Kimi-K2-Instruct config.json",
        config=KIMI_K2,
        published_total=1.0e12,
        published_active=32e9,
        notes=("Its config says model_type kimi_k2 with architectures DeepseekV3ForCausalLM: the DeepSeek V3 "
               "architecture, stored here as deepseek_v3.",
               "Against V3: 384 experts instead of 256, 64 attention heads instead of 128, one dense layer, "
               "no expert groups (n_group 1)."),
    ),
    Entry(
        slug="kimi-k2-thinking",
        title="Kimi K2 Thinking (1T-A32B)",
        family="Kimi K2",
        source="moonshotai/Kimi-K2-Thinking config.json",
        config=KIMI_K2_THINKING,
        published_total=1.0e12,
        published_active=32e9,
        notes=("The Kimi K2 architecture (DeepSeek V3, stored as deepseek_v3) with a 256K context "
               "(YaRN factor 64); the release ships INT4 expert weights, which do not change the count.",),
    ),
    Entry(
        slug="kimi-k2.5",
        title="Kimi K2.5 (1T-A32B, multimodal)",
        family="Kimi K2",
        source="moonshotai/Kimi-K2.5 (model_type kimi_k25): its text decoder as the model card's architecture "
               "table and a public engine's bundled K2.5 config give it, equal to Kimi K2 Thinking's config.json "
               "(no verbatim copy of K2.5's config.json found); counts: the card's 1T total / 32B active",
        config=KIMI_K25,
        published_total=1.0e12,
        published_active=32e9,
        notes=("K2 continually pretrained on about 15T mixed vision and text tokens: the text decoder is Kimi K2's "
               "DeepSeek V3 architecture (61 MLA layers, 1 dense then 384 experts top 8 plus one shared) with a "
               "256K context; its MoonViT vision encoder (about 400M, the card's figure) is not built here.",
               "The release's config.json is a kimi_k25 wrapper whose text_config says kimi_k2; ArchScope reads "
               "either form as this deepseek_v3 decoder, as transformers' kimi_k25 does.",
               "No public copy of its config.json was found: every width is K2 Thinking's, which the card's table "
               "and a public engine's bundled K2.5 config repeat; the YaRN factor 64 and rms_norm_eps 1e-6 are "
               "K2 Thinking's values, not read from a K2.5 file."),
    ),
    Entry(
        slug="kimi-k2.6",
        title="Kimi K2.6 (1T-A32B, multimodal)",
        family="Kimi K2",
        source="moonshotai/Kimi-K2.6 (model_type kimi_k25, transformers' kimi_k25 docstring checkpoint): "
               "its text decoder as Kimi K2.5's (see kimi-k2.5); counts: 1T total / 32B active",
        config=KIMI_K25,
        published_total=1.0e12,
        published_active=32e9,
        notes=("Kimi K2.5's architecture (the kimi_k25 wrapper around K2's DeepSeek V3 decoder, 256K context); "
               "it differs in training. Its vision encoder is not built here.",
               "No public copy of its config.json was found: the numbers are K2.5's (K2 Thinking's decoder), "
               "which transformers' kimi_k25 module, documented against this checkpoint, builds unchanged."),
    ),
    Entry(
        slug="mistral-3-large",
        title="Mistral Large 3 (675B-A41B)",
        family="Mistral 3 Large",
        source="mistralai/Mistral-Large-3-675B-Instruct-2512 params.json (text part) and model card",
        config=MISTRAL_LARGE_3,
        published_total=675e9,
        published_active=41e9,
        headline_extra_params=2.5e9,
        notes=("Its text decoder is DeepSeek V3's design: MLA, 3 dense layers, then MoE layers of 128 "
               "experts (top 4, softmax router without correction bias) plus one shared.",
               "The 675B headline includes the 2.5B vision encoder of the model card, not built here.",
               "Its YaRN runs with apply_scale false (no attention rescaling), which transformers' DeepSeek V3 "
               "module does not model."),
    ),
    Entry(
        slug="mistral-small-4",
        title="Mistral Small 4 (119B-A6B, multimodal)",
        family="Mistral Small 4",
        source="mistralai/Mistral-Small-4-119B-2603: its mistral4 text decoder as transformers 5.18's "
               "Mistral4Config defaults give it (documented against this checkpoint; no verbatim copy of the "
               "config.json found); counts: Mistral's card, 119B total, 6B active (8B with embeddings)",
        config=MISTRAL_SMALL_4,
        published_total=119e9,
        notes=("DeepSeek V3's design at a smaller size: 36 MLA layers (32 heads, query latent 1024, KV latent 256 "
               "+ 64 rope, 64 + 64 query/key and 128 value dims per head), every layer an MoE of 128 experts "
               "(top 4) plus one shared; no dense layers.",
               "What differs from DeepSeek V3 (transformers' mistral4): the router is a plain softmax without "
               "score-correction bias, and queries are scaled by Llama 4's 1 + 0.1 log(1 + floor(position / "
               "8192)) beyond the YaRN original length.",
               "The card's active figures are not checked: the config gives 5.56B per token without the "
               "embedding and output matrices (1.07B), 6.63B with them, against the card's 6B and 8B; the "
               "vision encoder of the multimodal release is not built here.",
               "No public copy of its config.json was found: the numbers are transformers' Mistral4Config "
               "defaults, documented against this checkpoint; the gallery's 36 MLA layers and 22.5 KiB per token "
               "agree. Unknown: the published max_position_embeddings (the card: a 256K context)."),
    ),
    Entry(
        slug="glm-4.5",
        title="GLM-4.5 (355B-A32B)",
        family="GLM-4.5",
        source="zai-org/GLM-4.5 config.json",
        config=GLM_45,
        published_total=355e9,
        published_active=32e9,
        headline_active_excludes="embeddings",
        notes=("Zhipu's 32B active leaves out the embedding and output matrices (1.6B), which ArchScope counts.",
               "GQA (96 query heads, 8 kv heads of 128) with qkv bias, per-head QK-norm and RoPE on half "
               "of each head; three dense layers, then 160 experts (top 8) plus one shared.",),
    ),
    Entry(
        slug="glm-4.5-air",
        title="GLM-4.5-Air (106B-A12B)",
        family="GLM-4.5",
        source="zai-org/GLM-4.5-Air config.json",
        config=GLM_45_AIR,
        published_total=106e9,
        published_active=12e9,
        headline_active_excludes="embeddings",
        notes=("Zhipu's 12B active leaves out the embedding and output matrices (1.2B), which ArchScope counts.",
               "GLM-4.5's design at 46 layers: one dense layer, 128 experts (top 8) plus one shared, "
               "no QK-norm.",),
    ),
    Entry(
        slug="glm-4.7",
        title="GLM-4.7 (355B-A32B)",
        family="GLM-4.5",
        source="zai-org/GLM-4.7 config.json (the copy in a public GLM converter's test fixture, "
               "'official full config'); counts: the gallery's 355B total / 32B active",
        config=GLM_47,
        published_total=355e9,
        published_active=32e9,
        headline_active_excludes="embeddings",
        notes=("GLM-4.5's architecture unchanged (92 layers, 3 dense, 160 experts top 8 plus one shared, "
               "GQA 96/8 with qkv bias, per-head QK-norm, RoPE on half of each head); the context grows "
               "to 202,752 tokens.",
               "Like GLM-4.5's, the 32B active leaves out the embedding and output matrices, which ArchScope "
               "counts.",
               "The config keeps one MTP layer (num_nextn_predict_layers 1), outside total_params."),
    ),
    Entry(
        slug="intellect-3",
        title="INTELLECT-3 (106B-A12B)",
        family="GLM-4.5",
        source="no copy of PrimeIntellect/INTELLECT-3 config.json was found: its technical report and the "
               "gallery's models.yml describe GLM-4.5-Air's architecture unchanged (SFT and RL on "
               "GLM-4.5-Air-Base), so the numbers are zai-org/GLM-4.5-Air config.json's",
        config=GLM_45_AIR,
        published_total=106e9,
        published_active=12e9,
        headline_active_excludes="embeddings",
        notes=("Prime Intellect's post-training of GLM-4.5-Air: the same 46 layers (one dense, then 128 "
               "experts top 8 plus one shared, GQA 96/8 with qkv bias, no QK-norm).",
               "No public copy of its config.json was found: every number is GLM-4.5-Air's, which the "
               "technical report and the gallery (46 GQA layers, 184 KiB of KV cache per token in bf16) "
               "say it keeps. Unknown: whether the release keeps Air's MTP layer and 131,072-token "
               "max_position_embeddings (the gallery lists a 128K context).",
               "Like GLM-4.5-Air's, the 12B active leaves out the embedding and output matrices, which "
               "ArchScope counts."),
    ),
    Entry(
        slug="glm-5",
        title="GLM-5 (744B-A40B, sparse attention)",
        family="GLM-5",
        source="zai-org/GLM-5: hyperparameters from the config.json as read by jd-opensource/xllm "
               "(xllm/models/llm/glm5.h), equal to GLM-5.1's published config.json; counts: Z.ai's model "
               "card (zai-org/GLM-5 README), 744B total / 40B active",
        config=GLM_5,
        published_total=744e9,
        published_active=40e9,
        headline_active_excludes="embeddings",
        notes=("Z.ai's 40B active leaves out the embedding and output matrices (1.9B), which ArchScope counts.",
               "DeepSeek V3.2's design at GLM scale: MLA (64 heads, q latent 2048, KV latent 512 + 64 rope, "
               "192 + 64 query/key and 256 value dims per head) with DeepSeek sparse attention (a lightning "
               "indexer of 32 heads x 128 picks the top 2048 tokens), 3 dense layers, then 75 MoE layers of "
               "256 experts (top 8, sigmoid router with correction bias) plus one shared.",
               "Unlike V3.2's, the indexer rotates its rope pairs interleaved, as the MLA does.",
               "The 744B leaves out the multi-token-prediction layer (layer 78 of the checkpoint, 9.95B), as "
               "ArchScope does: 743.9B here, plus 9.95B, is GLM-5.1's checkpoint to the parameter (less its "
               "routers' score-correction biases).",
               "No verbatim copy of GLM-5's own config.json was found; its values are those a public inference "
               "engine reads from it, which equal GLM-5.1's published file."),
    ),
    Entry(
        slug="glm-5.1",
        title="GLM-5.1 (744B-A40B, sparse attention)",
        family="GLM-5",
        source="zai-org/GLM-5.1 config.json (verbatim in a public model report that also lists its "
               "753.9B-parameter checkpoint, MTP layer included); counts: GLM-5's 744B / 40B",
        config=GLM_51,
        published_total=744e9,
        published_active=40e9,
        headline_active_excludes="embeddings",
        notes=("GLM-5's architecture unchanged (78 layers, MLA with a 2048-token sparse indexer, 256 experts "
               "top 8 plus one shared, 202,752-token context); it differs only in training.",
               "Z.ai quotes no separate size for GLM-5.1; the checkpoint's 753.9B is 744B plus the "
               "multi-token-prediction layer, which ArchScope leaves out.",
               "Its 40B active, like GLM-5's, leaves out the embedding and output matrices (1.9B)."),
    ),
    Entry(
        slug="sarvam-105b",
        title="Sarvam 105B (106B-A10B)",
        family="Sarvam",
        source="sarvamai/sarvam-105b (model_type sarvam_mla): its hyperparameters as transformers' sarvam_mla port "
               "documents them against this checkpoint and vLLM's config class for it mirrors them, in DeepSeek "
               "V3's key names (no verbatim copy of the config.json found); counts: 106B total / 10.3B active "
               "(Sarvam's figures as a public model survey quotes them)",
        config=SARVAM_105B,
        published_total=106e9,
        published_active=10.3e9,
        headline_active_excludes="embeddings",
        notes=("DeepSeek V3's architecture at 4096 wide: 32 MLA layers (64 heads, no query latent, a normed KV "
               "latent of 512 plus a 64-wide rope key; 128 + 64 query/key and 128 value dims per head), one dense "
               "layer, then 128 experts (top 8 in 16 groups, 2 kept; sigmoid router with correction bias) plus "
               "one shared; a 262,144-token vocabulary.",
               "Stored as deepseek_v3: transformers' port of sarvam_mla (not in 5.18) is DeepSeek V3's modules "
               "unchanged, so transformers' deepseek_v3 is its reference (its count and parity tests). Sarvam's "
               "own config keys (num_experts, num_shared_experts, rope type deepseek_yarn) are not read.",
               "The 10.3B active leaves out the embedding and output matrices (2.15B), which ArchScope counts.",
               "No public copy of its config.json was found: the numbers are the port's documented defaults and "
               "vLLM's mirror of the file. Unknown: whether n_group 16 / topk_group 2 are the published values "
               "(they change no count or cache size) and the published max_position_embeddings (131072 here)."),
    ),
    Entry(
        slug="sarvam-30b",
        title="Sarvam 30B (32B-A2.4B)",
        family="Sarvam",
        source="sarvamai/sarvam-30b (model_type sarvam_moe): its hyperparameters as transformers' sarvam_moe port "
               "documents them against sarvamai/sarvam-30b-fp8, in GLM-4.5's key names (no verbatim copy of the "
               "config.json found); counts: 32B total / 2.4B active (Sarvam's figures as a public model survey "
               "quotes them; the name says 30B)",
        config=SARVAM_30B,
        published_total=32e9,
        published_active=2.4e9,
        headline_active_excludes="embeddings",
        notes=("19 GQA layers (64 query heads, 4 kv heads of 64, per-head QK RMSNorm, RoPE over the whole head), "
               "one dense layer of 8192, then 128 experts of 1024 (top 6; sigmoid router with correction bias) "
               "plus one shared; a 262,144-token vocabulary and untied output.",
               "Stored as glm4_moe: transformers' port of sarvam_moe (not in 5.18) composes Qwen3's attention with "
               "DeepSeek V3's router and shared expert, which is transformers' glm4_moe with the rope over the "
               "whole head, QK-norm and no attention bias; that is its reference here (count and parity tests).",
               "The 2.4B active leaves out the embedding and output matrices (2.15B), which ArchScope counts.",
               "No public copy of its config.json was found: the numbers are the port's documented defaults. "
               "Unknown: the rope theta (10000, the class default, is used; it changes no count) and the published "
               "max_position_embeddings (131072 here; a survey lists a 64K context)."),
    ),
    Entry(
        slug="mimo-v2-flash",
        title="MiMo-V2-Flash (309B-A15B)",
        family="MiMo-V2-Flash",
        source="XiaomiMiMo/MiMo-V2-Flash config.json",
        config=MIMO_V2_FLASH,
        published_total=309e9,
        published_active=15e9,
        notes=("Five sliding-window layers (window 128, attention sinks, 8 kv heads) per global layer "
               "(4 kv heads); the first layer is global and dense.",
               "Query/key heads of 192 with RoPE on a third of them, value heads of 128 scaled by 0.707; "
               "256 experts (top 8), no shared expert."),
    ),
    Entry(
        slug="mimo-v2.5",
        title="MiMo-V2.5 (310B-A15B, omnimodal)",
        family="MiMo-V2-Flash",
        source="XiaomiMiMo/MiMo-V2.5 config.json (model_type mimo_v2, Xiaomi's remote code; text part), as far as "
               "its copies could be read: the part of MuVeraAI/MiMo-V2.5's config.json (a duplicate of the "
               "release) that a public index shows -- hidden_size 4096, head_dim 192, 64 sliding-window heads "
               "with 8 KV heads of 192 / 128, attention_value_scale 0.707, sinks on the sliding layers only, "
               "the hybrid_layer_pattern opening 0, 1, 1 -- and the model card: built on the MiMo-V2-Flash "
               "backbone, 5:1 sliding:global with a 128-token window, 310B total / 15B activated, a 729M-param "
               "ViT, a 261M-param audio encoder and three MTP modules of 329M together, up to 1M tokens. "
               "Everything else is MiMo-V2-Flash's config.json (see mimo-v2-flash), but RoPE theta 1e7, the "
               "rotary half and RMSNorm eps 1e-6, which two public ports' V2.5 fixtures (an MLX test's "
               "minimalMiMoV25Config and a runtime's \"release's shape at miniature dimensions\") agree on",
        config=MIMO_V2_5,
        published_total=310e9,
        published_active=15e9,
        headline_extra_params=0.729e9 + 0.261e9 + 0.329e9,
        notes=("MiMo-V2-Flash's text decoder (48 layers: 9 global with 4 KV heads, 39 sliding-window with 8 KV "
               "heads and sinks; 256 experts, top 8, no shared expert) inside an omnimodal model; the vision and "
               "audio encoders and the three MTP modules are not built here. The 310B headline adds them back "
               "from the model card: 308.78B + 0.729B + 0.261B + 0.329B = 310.10B.",
               "Not read from a verbatim copy of the release's config.json (see source): the expert and dense "
               "widths, vocabulary and the absence of a shared expert are V2-Flash's (the card's 310B and 15B "
               "leave no room for another expert's width: with a shared expert of 2048 the text decoder alone "
               "would be 310.0B and 16.6B active); the exact context (1,048,576 here, the card's \"up to 1M\"), "
               "RoPE theta, rotary fraction and norm epsilon change no count or cache size.",
               "The release stores q, k and v as one fused projection (attention_projection_layout fused_qkv); "
               "ArchScope's name map reads transformers' separate ones, so Xiaomi's own checkpoint does not load "
               "as it is."),
    ),
    Entry(
        slug="mimo-v2.5-pro",
        title="MiMo-V2.5-Pro (1.02T-A42B)",
        family="MiMo-V2-Flash",
        source="Assembled, no copy of XiaomiMiMo/MiMo-V2.5-Pro's config.json having been found: 70 layers (1 dense, "
               "69 MoE), 384 routed experts, top 8, hidden size 6144, 128 query and 8 KV heads, query/key heads "
               "of 192 and value heads of 128, 60 sliding-window + 10 global layers, 1.02T total / 42B active "
               "and a 1M-token context from the model card as a public review quotes it (A. Maier, \"Xiaomi at "
               "the Trillion-Parameter Table\") and SGLang's MiMo-V2.5 cookbook (1.02T / 42B, text only, 3 MTP "
               "layers); the gallery row (6:1 sliding-window/global, 60 + 10). Everything else is MiMo-V2.5's "
               "(see mimo-v2.5), as the notes list",
        config=MIMO_V2_5_PRO,
        published_total=1.02e12,
        published_active=42e9,
        notes=("MiMo-V2.5's design at 1.5x the width and 70 layers: sliding-window layers (window 128, sinks) "
               "beside global ones, 192-wide query/key and 128-wide value heads, 384 experts without a shared "
               "one; text only. Its three MTP layers are not built here.",
               "Unknown, and taken from the V2 family: the expert width (2048: with it the count is 1022.2B "
               "total and 42.8B active against 1.02T and 42B; 1536 would give 0.77T, 2560 1.27T), the dense "
               "layer's 16384, the vocabulary (152,576), the 128-token window, RoPE and norm scalars, and the "
               "sliding layers' KV heads: 16, twice the global layers' 8, the rule of V2-Flash, V2.5 and "
               "transformers' mimo_v2_flash, whose form this entry takes (the card gives one figure, 8). With 8 "
               "there too the counts would be 1021.2B and 41.9B and the cache 350 KiB a token, not 650 KiB: the "
               "gallery's figure, a hint that the release says 8; mimo_v2_flash cannot hold that, so it would "
               "need a model type of its own.",
               "Which 10 layers are global is not known either: every seventh here (6, 13, ..., 69); the "
               "placement changes no count or cache size."),
    ),
    Entry(
        slug="longcat-flash-lite",
        title="LongCat-Flash-Lite (68.5B-A3B, N-gram embedding)",
        family="LongCat-Flash",
        source="meituan-longcat/LongCat-Flash-Lite config.json (keys from its public FP8 and int4 re-uploads "
               "and an engine's fixture verified against the repo); counts: Meituan's model card, 68.5B total, "
               "about 3B activated (2.9B to 4.5B by routing)",
        config=LONGCAT_FLASH_LITE,
        published_total=68.5e9,
        notes=("14 published layers, each two MLA sublayers with a dense SwiGLU MLP (6144) after each, and a "
               "shortcut-connected MoE: it reads the first MLP's normed input and joins after the second. "
               "ArchScope draws the 28 sublayers as 28 layers (the first of each pair holds the MoE, its "
               "dense MLP as the shared expert), as transformers' longcat_flash numbers its caches.",
               "256 experts plus 128 zero (identity) experts share 12 routing slots: a token computes 0 to 12 "
               "real experts. Active counts the 8 a token computes under uniform routing, the share the "
               "router's bias steers to; the card's 2.9B (no real expert) and 4.5B (twelve) bracket it.",
               "The card's \"approximately 3B activated\" is not checked: less the token embedding (0.4B) "
               "ArchScope's 4.39B is 3.99B, the uniform 8 real experts; 3B would be about one real expert "
               "per token, which the card does not state.",
               "Over 30B of the 68.5B are the N-gram embedding: 12 hashed tables (2..4-grams, 4 splits) of "
               "78 x the vocabulary in rows of 256, each row projected to 3072 and added to the token's "
               "embedding, the sum divided by 13. A table row is looked up, not computed: the tables count "
               "in the total, not in the active figure; their projections count in both. Its cache keeps "
               "the last 3 token ids (24 bytes a sequence, counted in the state).",
               "Checked against transformers 5.18's longcat_flash (which has no N-gram embedding): the "
               "trunk's modules -- scaled MLA latents, zero experts, the shortcut MoE -- give its logits on "
               "tiny random checkpoints, and the trunk at this size counts what transformers' model holds "
               "less the zero experts' gate/up weights it allocates and never reads (14 x 128 x 2 x 1024 x "
               "3072). Not checked against any reference run: the N-gram embedding, written from Meituan's "
               "modeling_longcat_ngram.py and tested by hand-worked hashes and cached steps equal to a "
               "recompute; and the loading of Meituan's own checkpoint (the name map is checked on "
               "transformers' save_pretrained, whose names Meituan's follow).",
               "The config copies found do not show rope_scaling (the card's 256k context is reached by YaRN); "
               "RoPE theta 5e6 without scaling is read, which changes no count or cache size."),
    ),
]
