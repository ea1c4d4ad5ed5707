"""DeepSeek V4 entries: V4-Flash and V4-Pro (model_type deepseek_v4).

Each config is the published config.json, trimmed to the keys that decide the architecture
(quantization, dtypes and token ids left out).
"""

from __future__ import annotations

from .entry import Entry

# deepseek-ai/DeepSeek-V4-Pro config.json (transformers_version 4.57.1), as copies of the
# published file in public code repositories give it key for key. compress_ratios has 62
# entries: one per layer (0, 1: HCA; then CSA and HCA in turn) and a last one, 0, for the
# multi-token-prediction module, which the converter leaves out as it does the module.
DEEPSEEK_V4_PRO = {
    "model_type": "deepseek_v4", "vocab_size": 129280, "hidden_size": 7168, "num_hidden_layers": 61,
    "num_attention_heads": 128, "num_key_value_heads": 1, "head_dim": 512, "qk_rope_head_dim": 64,
    "q_lora_rank": 1536, "o_lora_rank": 1024, "o_groups": 16, "hidden_act": "silu", "swiglu_limit": 10.0,
    "rms_norm_eps": 1e-6, "max_position_embeddings": 1048576, "rope_theta": 10000, "compress_rope_theta": 160000,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 16, "original_max_position_embeddings": 65536,
                     "type": "yarn"},
    "moe_intermediate_size": 3072, "n_routed_experts": 384, "n_shared_experts": 1, "num_experts_per_tok": 6,
    "norm_topk_prob": True, "routed_scaling_factor": 2.5, "scoring_func": "sqrtsoftplus", "topk_method": "noaux_tc",
    "num_hash_layers": 3, "sliding_window": 128, "index_n_heads": 64, "index_head_dim": 128, "index_topk": 1024,
    "hc_mult": 4, "hc_sinkhorn_iters": 20, "hc_eps": 1e-6, "num_nextn_predict_layers": 1,
    "attention_bias": False, "attention_dropout": 0.0, "tie_word_embeddings": False,
    "compress_ratios": [128, 128] + [4, 128] * 29 + [4, 0],
}

# deepseek-ai/DeepSeek-V4-Flash config.json, as copies of the published file in public code
# give it (the same keys as Pro's). 44 compress_ratios: layers 0 and 1 keep the sliding
# window alone (0), then CSA and HCA in turn from layer 2 (CSA) to 42 (CSA); the last entry
# is the MTP module's. (DeepSeek-V4-Flash-DSpark's later file adds dspark_* keys and two
# more entries for its draft layers; not this model.)
DEEPSEEK_V4_FLASH = DEEPSEEK_V4_PRO | {
    "hidden_size": 4096, "num_hidden_layers": 43, "num_attention_heads": 64, "q_lora_rank": 1024, "o_groups": 8,
    "moe_intermediate_size": 2048, "n_routed_experts": 256, "routed_scaling_factor": 1.5, "index_topk": 512,
    "compress_ratios": [0, 0] + [4, 128] * 20 + [4, 0],
}

_COMMON_NOTES = (
    "Every layer attends to a sliding window of 128 tokens through one shared 512-value key-value head "
    "(the key is the value), with a sink logit per head and a grouped low-rank output projection. A CSA layer "
    "also pools every 4 tokens (overlapping windows of 8) into one entry and its lightning indexer keeps the "
    "top-k of them per query; an HCA layer pools every 128 tokens and attends to all of its entries.",
    "The residual is 4 streams (manifold-constrained hyper-connections, Sinkhorn-projected mixing); the first "
    "3 MoE layers route by a fixed token-id table (hash routing), the rest by sqrt(softplus) scores.",
    "KV per token (bf16) counts the window's key-value head (which stops at 128 tokens) and each layer's "
    "share of its pooled entries and index keys; kv_bytes_at counts what is held at a context, the "
    "compressors' open window included.",
    "Checked against transformers 5.18's deepseek_v4: the meta-device parameter count, and logits on tiny "
    "random checkpoints (tests/parity/test_deepseek_v4_parity.py). The multi-token-prediction module is left "
    "out, as for every entry.",
)

ENTRIES = [
    Entry(
        slug="deepseek-v4-flash",
        title="DeepSeek V4-Flash (284B-A13B)",
        family="DeepSeek V4",
        source="deepseek-ai/DeepSeek-V4-Flash config.json (copies of the published file in public code; "
               "transformers 5.18 deepseek_v4 configuration for the keys' meaning); totals from the model card",
        config=DEEPSEEK_V4_FLASH,
        published_total=284e9,
        published_active=13e9,
        headline_active_excludes="input_embedding",
        notes=("284.33B against the card's 284B; 13.27B active without the input embedding (a lookup) against "
               "its 13B.",
               "Layers 0 and 1 attend to their window alone; 21 CSA and 20 HCA layers follow.") + _COMMON_NOTES,
    ),
    Entry(
        slug="deepseek-v4-pro",
        title="DeepSeek V4-Pro (1.6T-A49B)",
        family="DeepSeek V4",
        source="deepseek-ai/DeepSeek-V4-Pro config.json (copies of the published file in public code; "
               "transformers 5.18 deepseek_v4 configuration for the keys' meaning); totals from the model card",
        config=DEEPSEEK_V4_PRO,
        published_total=1.6e12,
        published_active=49e9,
        notes=("1572.997B against the card's 1.6T (1.7% under: the card rounds, and its checkpoint adds the "
               "MTP module); 49.78B active against its 49B.",
               "Layers 0 and 1 are HCA; then 30 CSA and 29 more HCA layers in turn.") + _COMMON_NOTES,
    ),
]
