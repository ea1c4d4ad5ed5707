"""Ling 2.5 1T and Ling 2.6 1T (inclusionAI): Ling 2.0 1T's MoE retrofitted with a 7:1 mix of
lightning attention and MLA (model_type bailing_hybrid, BailingMoeV2_5ForCausalLM; the
converter is app/spec/hf/bailing.py). transformers has no model of it, so no parity test
exists; the entries build and generate at explore scale, and the lightning variant's
differences from MiniMax's are pinned by hand-worked cases (tests/model/test_lightning_ling.py).

No copy of either release's config.json could be read here. The numbers are put together as
each is noted below; the keys and what the code does with them come from the published remote
code (inclusionAI/Ring-V2.5, models/configuration_bailing_moe_v2_5.py and
modeling_bailing_moe_v2_5.py, which the HF repos ship as trust_remote_code).
"""

from __future__ import annotations

from .entry import Entry

# Ling 2.0 1T's trunk, which Ling 2.5 / 2.6 keep ("retrofitted from Ling-2.0-1T-base" --
# the Ling-2.6-1T-base model card; the tech report, arXiv 2606.15079, migrates Ling 2.0's
# weights): 80 layers of width 8192, 64 heads of 128, vocabulary 157184, 256 experts of 2048
# (top 8, groups 8 / 4, scale 2.5) plus one shared, 4 dense layers of 18432. These are Ling-1T's
# config.json values; the model cards confirm 256 routed experts, top-8, one shared expert, the
# 1/32 activation ratio and the 80 layers (10 MLA + 70 lightning, the gallery row), and the
# count they give reproduces Ling-1T's own "1000B" (999.7B) and Ring-2.5-1T's "1012.5B" (the HF
# parameter count of the release; this spec: 1012.2B). Ling-1T's num_key_value_heads (8), which
# neither the lightning nor the MLA layers read, is left out.
_LING_2_TRUNK = {
    "model_type": "bailing_hybrid", "architectures": ["BailingMoeV2_5ForCausalLM"],
    "vocab_size": 157184, "hidden_size": 8192, "intermediate_size": 18432, "num_hidden_layers": 80,
    "num_attention_heads": 64, "head_dim": 128, "hidden_act": "silu",
    "use_qkv_bias": False, "use_bias": False, "rms_norm_eps": 1e-6, "tie_word_embeddings": False,
    "rope_theta": 600000, "partial_rotary_factor": 0.5, "use_qk_norm": True,
    "num_experts": 256, "num_shared_experts": 1, "num_experts_per_tok": 8, "n_group": 8, "topk_group": 4,
    "moe_intermediate_size": 2048, "moe_shared_expert_intermediate_size": 2048, "first_k_dense_replace": 4,
    "moe_router_enable_expert_bias": True, "routed_scaling_factor": 2.5, "score_function": "sigmoid",
}
# The hybrid's keys: layer_group_size 8 (the cards' 1:7 MLA to lightning, 10 MLA of 80);
# kv_lora_rank 512 and qk_rope_head_dim 64 (the gallery's 11.2 KiB per token is 10 x 576
# bf16 values); qk_rope_head_dim must be head_dim x partial_rotary_factor for the published
# code; group_norm_size 8 and kv_lora_rank 512 as a public tiny-random copy of Ring-2.5's
# config.json keeps them (tiny-random/ring-2.5, which also shows linear attention over all 64
# heads: num_kv_heads_for_linear_attn 64); q_lora_rank 1536 as Ling-2.6-flash's MLA has it
# (OsaurusAI/Ling-2.6-flash-JANGTQ's card) -- for the 1T models an assumption.
_HYBRID = {
    "layer_group_size": 8, "group_norm_size": 8, "linear_silu": False, "kv_lora_rank": 512, "q_lora_rank": 1536,
    "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128, "rope_interleave": True,
}

_NOT_CHECKED = ("No reference: transformers has no bailing_hybrid model, so nothing is checked against a "
                "reference implementation; the spec follows the published remote code "
                "(modeling_bailing_moe_v2_5.py): lightning attention without activation, with per-head QK-norm, "
                "partial RoPE, q.k scaled by 1/sqrt(128), ALiBi decay with the layer offset by one and a group "
                "RMSNorm of 8 groups; DeepSeek's MLA and router.")
_ASSUMED = ("Not read from the release's config.json (none could be read here): the trunk is Ling-1T's config "
            "(kept by the retrofit), the hybrid keys are argued in app/spec/catalog/ling.py; q_lora_rank 1536 "
            "is Ling-2.6-flash's (without query compression the total would be 1012.9B and 64.3B active), "
            "rope_theta 600000 is Ling 2.0's and the context length the card's native window.")

ENTRIES = [
    Entry(
        slug="ling-2.5",
        title="Ling 2.5 1T",
        family="Ling 2.5",
        source="inclusionAI/Ling-2.5-1T: Ling-1T's config.json values for the trunk, the hybrid keys from the "
               "published remote code and copies named in app/spec/catalog/ling.py; '1T total, 63B active' and "
               "'256K -> 1M (YaRN)' from the model card (github.com/inclusionAI/Ling-V2.5 README)",
        config=_LING_2_TRUNK | _HYBRID | {"max_position_embeddings": 262144, "num_nextn_predict_layers": 0},
        published_total=1e12,
        published_active=63e9,
        notes=("Model card: 1T total, 63B active. ArchScope counts 1012.2B and 63.6B per token (both embedding "
               "tables); the HF page of its sibling Ring-2.5-1T counts 1012.5B.",
               "80 layers = 10 x (7 lightning attention + 1 MLA); only the 10 MLA layers keep a per-token cache "
               "(10 x 576 bf16 values = 11.25 KiB, the gallery's 11.2 KiB); each lightning layer keeps a "
               "64 x 128 x 128 state.",
               _NOT_CHECKED, _ASSUMED),
    ),
    Entry(
        slug="ling-2.6",
        title="Ling 2.6 1T",
        family="Ling 2.5",
        source="inclusionAI/Ling-2.6-1T: Ling 2.5's architecture (the tech report, arXiv 2606.15079, and the "
               "Ling-2.6-1T-base card: the same 7:1 lightning / MLA retrofit of Ling-2.0-1T-base) plus one MTP "
               "layer (the gallery row); '1T total, 63B active' from the card and its 128K native context",
        config=_LING_2_TRUNK | _HYBRID | {"max_position_embeddings": 131072, "num_nextn_predict_layers": 1},
        published_total=1e12,
        published_active=63e9,
        notes=("Model card: about 1T total, 63B active. ArchScope counts 1012.2B and 63.6B per token (both "
               "embedding tables); the one multi-token-prediction layer is kept as mtp_layers, outside "
               "total_params, as for the other models.",
               "Same layers and caches as Ling 2.5 1T: 10 MLA layers (11.25 KiB per token in bf16) and 70 "
               "lightning layers of constant state.",
               _NOT_CHECKED, _ASSUMED),
    ),
]
