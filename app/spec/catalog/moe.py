"""Mixture-of-experts entries outside the DeepSeek line: Qwen3 MoE (and Qwen3-Coder), gpt-oss,
Llama 4, MiniMax-M2, Grok 2.5 and Laguna XS.2, each at the numbers of its published config.json."""

from __future__ import annotations

import math

from ..arch import ArchSpec
from ..components import Layer
from ..ffn import MLP, MoE, Router
from ..mixers import Attention
from ..parts import Norm, Rope
from .entry import Entry


def _qwen3_moe(layers: int, d_model: int, heads: int, dense_width: int, expert_width: int) -> dict:
    """The keys Qwen3-30B-A3B and Qwen3-235B-A22B share: 128 experts, top-8, normalized."""
    return {"model_type": "qwen3_moe", "vocab_size": 151936, "hidden_size": d_model, "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": 4, "head_dim": 128,
            "intermediate_size": dense_width, "moe_intermediate_size": expert_width, "num_experts": 128,
            "num_experts_per_tok": 8, "norm_topk_prob": True, "decoder_sparse_step": 1, "mlp_only_layers": [],
            "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_scaling": None,
            "attention_bias": False, "use_sliding_window": False, "sliding_window": None,
            "tie_word_embeddings": False, "hidden_act": "silu"}


def _gpt_oss(layers: int, experts: int) -> dict:
    """gpt-oss-20b and -120b differ only in depth and expert count."""
    return {"model_type": "gpt_oss", "vocab_size": 201088, "hidden_size": 2880, "intermediate_size": 2880,
            "num_hidden_layers": layers, "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 64,
            "layer_types": ["sliding_attention", "full_attention"] * (layers // 2), "sliding_window": 128,
            "num_local_experts": experts, "num_experts_per_tok": 4, "attention_bias": True,
            "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 150000,
            "rope_scaling": {"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0, "beta_slow": 1.0,
                             "original_max_position_embeddings": 4096, "truncate": False},
            "swiglu_limit": 7.0, "hidden_act": "silu", "tie_word_embeddings": False}


def _llama4_text(experts: int, moe_step: int, context: int, use_qk_norm: bool, rope_scaling) -> dict:
    """Maverick and Scout text decoders: 48 layers, d 5120, NoPE every 4th layer."""
    return {"model_type": "llama4_text", "vocab_size": 202048, "hidden_size": 5120, "num_hidden_layers": 48,
            "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 8192,
            "intermediate_size_mlp": 16384, "num_local_experts": experts, "num_experts_per_tok": 1,
            "interleave_moe_layer_step": moe_step, "no_rope_layers": [1, 1, 1, 0] * 12,
            "attention_chunk_size": 8192, "attn_temperature_tuning": 4, "floor_scale": 8192, "attn_scale": 0.1,
            "use_qk_norm": use_qk_norm, "max_position_embeddings": context, "rms_norm_eps": 1e-5,
            "rope_theta": 500000.0, "rope_scaling": rope_scaling, "attention_bias": False, "hidden_act": "silu",
            "tie_word_embeddings": False}


# Llama 4's vision encoder and projector, not part of the text decoder spec. The model card
# gives only the 17B-active / 109B / 400B headlines, so this is transformers' count of
# Llama4VisionModel at the published vision_config (34 layers, width 1408, MLP 5632, 16
# heads, 336 px / 14 px patches, pixel shuffle 0.5, projector 4096) plus the 4096 -> 5120
# multi-modal projector.
VISION_ENCODER_PARAMS = 871_932_416.0
VISION_NOTE = ("The headline counts the vision encoder and projector (0.87B, transformers' count at the "
               "published vision_config), which this text-decoder spec leaves out.")


def grok_2_5() -> ArchSpec:
    """Grok 2.5 (xai-org/grok-2) has no transformers model_type: built here from its config.

    64 layers of GQA 64/8x128 with tanh soft-capped scores (30), sandwich RMSNorms, and a
    feed-forward that averages a dense GeGLU "residual" MLP (32768) with top-2 of 8 GeGLU
    experts (16384): (mlp + moe) / sqrt(2). The router soft-caps its logits at 30 and keeps
    the raw softmax weights of its two picks. Embeddings are scaled by sqrt(8192)
    (embedding_multiplier_scale 90.51), logits by output_multiplier_scale 0.5, then
    soft-capped at 50. rope_type "original": plain RoPE at theta 208533496."""
    d = 8192
    norm = Norm("rmsnorm", 1e-5)
    attention = Attention(num_heads=64, num_kv_heads=8, head_dim=128, rope=Rope(theta=208533496.0, rotary_dim=128),
                          logit_softcap=30.0)
    moe = MoE(num_experts=8, top_k=2, expert=MLP(16384, "gelu_tanh"), shared=MLP(32768, "gelu_tanh"),
              router=Router("softmax", normalize_top_k=False, logit_softcap=30.0), output_scale=1 / math.sqrt(2))
    return ArchSpec(name="grok-2.5", vocab_size=131072, d_model=d, layers=tuple(Layer(attention, moe, norm, "sandwich")
                                                                                 for _ in range(64)),
                    final_norm=norm, embedding_scale=True, max_context=131072, final_logit_softcap=50.0,
                    output_logit_scale=0.5, model_type="")


# MiniMaxAI/MiniMax-M2 config.json (the minimax-m2 entry). MiniMax-M2.5 keeps it unchanged.
MINIMAX_M2 = {
    "model_type": "minimax_m2", "vocab_size": 200064, "hidden_size": 3072, "intermediate_size": 1536,
    "num_hidden_layers": 62, "num_attention_heads": 48, "num_key_value_heads": 8, "head_dim": 128,
    "rotary_dim": 64, "rope_theta": 5000000, "max_position_embeddings": 196608, "rms_norm_eps": 1e-6,
    "num_local_experts": 256, "num_experts_per_tok": 8, "scoring_func": "sigmoid",
    "use_routing_bias": True, "shared_intermediate_size": 0, "use_qk_norm": True,
    "qk_norm_type": "per_layer", "attn_type_list": [1] * 62, "use_mtp": True, "num_mtp_modules": 3,
    "mtp_transformer_layers": 1, "hidden_act": "silu", "tie_word_embeddings": False,
}
# MiniMax-M2.7: M2's config.json but the context (see the entry's source).
MINIMAX_M2_7 = MINIMAX_M2 | {"max_position_embeddings": 204800}
# tencent/Hy3-preview config.json (model_type hy_v3), in its published keys; see the entry's source.
HY3_PREVIEW = {
    "model_type": "hy_v3", "vocab_size": 120832, "hidden_size": 4096, "intermediate_size": 13312,
    "num_hidden_layers": 80, "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 128,
    "qk_norm": True, "hidden_act": "silu", "rms_norm_eps": 1e-5, "max_position_embeddings": 262144,
    "rope_parameters": {"rope_type": "default", "rope_theta": 11158840.0}, "first_k_dense_replace": 1,
    "num_experts": 192, "num_experts_per_tok": 8, "num_shared_experts": 1, "moe_intermediate_size": 1536,
    "expert_hidden_dim": 1536, "moe_router_use_sigmoid": True, "moe_router_enable_expert_bias": True,
    "route_norm": True, "router_scaling_factor": 2.826, "num_nextn_predict_layers": 1, "tie_word_embeddings": False,
}
_MINIMAX_ACTIVE_NOTE = ("MiniMax does not say how its 10B active is counted: it matches the count without the two "
                        "embedding tables (9.8B), not with them (11.0B).")
_MINIMAX_MTP_NOTE = ("The release's three MTP modules (num_mtp_modules) are not built by transformers; they are "
                     "kept as mtp_layers, outside total_params. The 230B headline matches the count without them "
                     "(228.7B; 239.8B with).")

# Laguna XS.2 (poolside/Laguna-XS.2). The keys down to rope_parameters are the published
# config.json verbatim, as the Hub's copies show it (see the entry's source). Its per-layer
# lists are not in those copies' visible part; they are as every public reading of the release
# gives them: layer_types full, then three sliding, ten times (poolside/Laguna-XS.2-INT4's
# config.json opens "full, sliding, sliding, sliding"; the gallery counts 30 sliding + 10
# global), 48 query heads on the global layers and 64 on the sliding ones (ollama's
# x/models/laguna test of the XS config: [48, 64, 64, 64] over that pattern), layer 0 dense and
# the rest sparse, routed experts scaled by 2.5 (the same test; Modular MAX's LagunaConfig
# defaults agree).
_LAGUNA_TYPES = ["full_attention", "sliding_attention", "sliding_attention", "sliding_attention"] * 10
LAGUNA_XS_2 = {
    "model_type": "laguna", "vocab_size": 100352, "hidden_size": 2048, "intermediate_size": 8192,
    "num_hidden_layers": 40, "num_attention_heads": 48, "num_key_value_heads": 8, "head_dim": 128,
    "max_position_embeddings": 131072, "attention_bias": False, "attention_dropout": 0.0, "rms_norm_eps": 1e-06,
    "num_experts": 256, "num_experts_per_tok": 8, "moe_intermediate_size": 512,
    "shared_expert_intermediate_size": 512, "router_aux_loss_coef": 0.0, "bos_token_id": 2, "eos_token_id": [2, 24],
    "pad_token_id": 9, "tie_word_embeddings": False, "use_cache": True, "torch_dtype": "bfloat16", "gating": True,
    "sliding_window": 512,
    "rope_parameters": {
        "full_attention": {"rope_theta": 500000.0, "rope_type": "yarn", "factor": 32.0,
                           "original_max_position_embeddings": 4096, "beta_slow": 1.0, "beta_fast": 64.0,
                           "attention_factor": 1.0, "partial_rotary_factor": 0.5},
        "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 1.0},
        "original_max_position_embeddings": 4096,
    },
    "layer_types": _LAGUNA_TYPES,
    "num_attention_heads_per_layer": [48 if kind == "full_attention" else 64 for kind in _LAGUNA_TYPES],
    "mlp_layer_types": ["dense"] + ["sparse"] * 39,
    "moe_routed_scaling_factor": 2.5,
}

ENTRIES = [
    Entry(
        slug="qwen3-30b-a3b",
        title="Qwen3 30B-A3B",
        family="Qwen3 MoE",
        source="Qwen/Qwen3-30B-A3B config.json",
        config=_qwen3_moe(layers=48, d_model=2048, heads=32, dense_width=6144, expert_width=768),
        published_total=30.5e9,
        published_active=3.3e9,
    ),
    Entry(
        slug="qwen3-235b-a22b",
        title="Qwen3 235B-A22B",
        family="Qwen3 MoE",
        source="Qwen/Qwen3-235B-A22B config.json",
        config=_qwen3_moe(layers=94, d_model=4096, heads=64, dense_width=12288, expert_width=1536),
        published_total=235e9,
        published_active=22e9,
    ),
    Entry(
        slug="qwen3-coder-30b-a3b",
        title="Qwen3-Coder 30B-A3B (Flash)",
        family="Qwen3 MoE",
        source="Qwen/Qwen3-Coder-30B-A3B-Instruct config.json (verbatim copy in ztxz16/fastllm, "
               "Qwen3-Coder-30B-A3B-Instruct/config.json)",
        # Qwen3-30B-A3B's architecture with a 256K native context (theta 10M). Its intermediate_size
        # (5472) sizes no layer: every layer is an MoE.
        config=_qwen3_moe(layers=48, d_model=2048, heads=32, dense_width=5472, expert_width=768)
        | {"max_position_embeddings": 262144, "rope_theta": 10000000},
        published_total=30.5e9,  # model card: 30.5B in total, 3.3B activated
        published_active=3.3e9,
        notes=("Qwen3-30B-A3B's layers unchanged (48 layers, 128 experts, top 8, no shared expert); the "
               "coding release raises the native context to 262,144 tokens with RoPE theta 10M.",),
    ),
    Entry(
        slug="gpt-oss-20b",
        title="gpt-oss-20b",
        family="gpt-oss",
        source="openai/gpt-oss-20b config.json",
        config=_gpt_oss(layers=24, experts=32),
        published_total=21e9,
        published_active=3.6e9,
        headline_active_excludes="input_embedding",
        notes=("OpenAI's active count (3.6B) leaves out the input embedding table; ArchScope's also counts it.",),
    ),
    Entry(
        slug="gpt-oss-120b",
        title="gpt-oss-120b",
        family="gpt-oss",
        source="openai/gpt-oss-120b config.json",
        config=_gpt_oss(layers=36, experts=128),
        published_total=117e9,
        published_active=5.1e9,
        headline_active_excludes="input_embedding",
        notes=("OpenAI's active count (5.1B) leaves out the input embedding table; ArchScope's also counts it.",),
    ),
    Entry(
        slug="llama4-maverick",
        title="Llama 4 Maverick 17B-128E (text decoder)",
        family="Llama 4",
        source="meta-llama/Llama-4-Maverick-17B-128E-Instruct config.json (text_config)",
        config=_llama4_text(experts=128, moe_step=2, context=1048576, use_qk_norm=False, rope_scaling=None),
        published_total=400e9,
        published_active=17e9,
        headline_extra_params=VISION_ENCODER_PARAMS,
        notes=(VISION_NOTE, "Maverick's published config sets use_qk_norm false and no rope scaling "
               "(transformers: 'the 128E model does not use qk_norm'); Scout has both."),
    ),
    Entry(
        slug="llama4-scout",
        title="Llama 4 Scout 17B-16E (text decoder)",
        family="Llama 4",
        source="meta-llama/Llama-4-Scout-17B-16E config.json (text_config)",
        config=_llama4_text(experts=16, moe_step=1, context=262144, use_qk_norm=True,
                            rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                          "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}),
        published_total=109e9,
        published_active=17e9,
        headline_extra_params=VISION_ENCODER_PARAMS,
        notes=(VISION_NOTE,),
    ),
    Entry(
        slug="minimax-m2",
        title="MiniMax-M2",
        family="MiniMax-M2",
        source="MiniMaxAI/MiniMax-M2 config.json",
        config=MINIMAX_M2,
        published_total=230e9,
        published_active=10e9,
        headline_active_excludes="embeddings",
        notes=(_MINIMAX_ACTIVE_NOTE, _MINIMAX_MTP_NOTE),
    ),
    Entry(
        slug="minimax-m2.5",
        title="MiniMax-M2.5",
        family="MiniMax-M2",
        source="no verbatim copy of MiniMaxAI/MiniMax-M2.5 config.json was found; its numbers are "
               "MiniMax-M2's config.json, which public readings of the M2.5 config agree with: 48 query / "
               "8 KV heads of 128, QK-norm over the whole projection, RoPE on the first 64 channels at theta "
               "5M (an MPK attention port), 62 layers x 256 experts of 3072 x 1536 (an expert-memory "
               "table), a 196,608-token context, and the gallery's 62 GQA layers, 248 KiB of KV per token "
               "and three MTP modules",
        config=MINIMAX_M2,
        published_total=230e9,
        published_active=10e9,
        headline_active_excludes="embeddings",
        notes=("MiniMax-M2's architecture unchanged; the release differs in training.",
               "No verbatim copy of its config.json was found: the numbers are M2's, each cross-checked "
               "against a public reading of the M2.5 config (see source). One secondary write-up says M2.5 "
               "dropped partial RoPE; the readings of the config itself say RoPE still covers 64 of 128 "
               "channels, which is what this entry keeps. The vocabulary (200,064) is M2's, not checked "
               "separately.",
               _MINIMAX_ACTIVE_NOTE, _MINIMAX_MTP_NOTE),
    ),
    Entry(
        slug="minimax-m2.7",
        title="MiniMax-M2.7",
        family="MiniMax-M2",
        source="MiniMaxAI/MiniMax-M2.7 config.json, through copies of it in public code: a cost-model script's "
               "MiniMax_M2_7 dict (\"from https://huggingface.co/MiniMaxAI/MiniMax-M2.7/resolve/main/config.json\"), "
               "a serving engine's \"official config\" test fixture and its checkpoint check (_MINIMAX_M2_FIXED_FIELDS), "
               "and a transformers-family audit that stored the file (MiniMaxAI__MiniMax-M2.7_config.json): M2's "
               "keys and values but max_position_embeddings 204,800 (M2's 196,608). Headline: the model card's "
               "230B total, 10B active; the gallery's 62 GQA layers, 248 KiB of KV per token",
        config=MINIMAX_M2_7,
        published_total=230e9,
        published_active=10e9,
        headline_active_excludes="embeddings",
        notes=("MiniMax-M2's architecture; the config differs only in the context (204,800 positions).",
               _MINIMAX_ACTIVE_NOTE, _MINIMAX_MTP_NOTE),
    ),
    Entry(
        slug="hy3-preview",
        title="Tencent Hy3-preview (295B-A21B)",
        family="Hy3",
        source="tencent/Hy3-preview config.json, through transformers 5.18's hy_v3 (HYV3Config, documented as "
               "tencent/Hy3-preview's configuration: its defaults are every number below but the context) and the "
               "released tencent/Hy3 config.json as public code quotes it (a serving profile's required config "
               "predicates, an engine's parse_hy3 test, a write-up of the file): the same values key for key, "
               "max_position_embeddings 262144 and the routing flags (moe_router_use_sigmoid, "
               "moe_router_enable_expert_bias, route_norm). Headline: the model card's 295B total, 21B active "
               "and 3.8B of MTP; the gallery's 80 GQA layers + 1 MTP layer, 320 KiB",
        config=HY3_PREVIEW,
        published_total=295e9,
        published_active=21e9,
        notes=("GQA (64 query, 8 KV heads of 128) with per-head QK-norm and full RoPE at theta 11,158,840; a "
               "dense SwiGLU first layer (13312), then 79 MoE layers of 192 experts of 1536, top 8 by sigmoid "
               "score plus a selection-only bias, renormalised and scaled by 2.826, beside one shared expert.",
               "The multi-token-prediction layer (num_nextn_predict_layers 1, a full attention + MoE block, "
               "3.75B) is kept as mtp_layers, outside total_params, as transformers' hy_v3 leaves it unbuilt; "
               "the card's 295B and the gallery's 80 layers leave it out too.",
               "Checked against the released tencent/Hy3's BF16 index (597,572,342,272 bytes): 295.03B + 3.75B "
               "MTP in bf16 plus 80 float32 expert_bias vectors of 192 is that size to the byte. No index of "
               "the preview was found.",
               "Active: 20.68B per token with both embedding tables (the card: 21B)."),
    ),
    Entry(
        slug="grok-2.5",
        title="Grok 2.5",
        family="Grok",
        source="xai-org/grok-2 config.json (values as mirrored by sglang's Grok tests and the model "
               "repository's parameter breakdown, discussion #6)",
        build=grok_2_5,
        published_total=270e9,
        published_active=115e9,
        notes=("No transformers model_type: the spec is built from the published config values.",
               "Headline ~270B total / ~115B active is the community count in xai-org/grok-2 discussion #6, "
               "not an xAI figure.",
               "attn_temperature_len (a query temperature for long contexts in sglang) is not modelled."),
    ),
    Entry(
        slug="laguna-xs.2",
        title="Laguna XS.2",
        family="Laguna",
        source=("https://huggingface.co/poolside/Laguna-XS.2/blob/main/config.json (model_type laguna), read through "
                "its verbatim copies on the Hub: poolside/Laguna-XS.2-INT4 and MuVeraAI/Laguna-XS.2 config.json "
                "(every key from vocab_size to rope_parameters, and layer_types opening full, sliding, sliding, "
                "sliding), and the same file fetched from the Hub in a public agent log (INC4AI's Laguna-XS.2 "
                "W4A16 run). The per-layer lists and the routed scaling, which those copies cut off, as public "
                "readings of the XS config give them: ollama/ollama x/models/laguna TestParseConfigLagunaXS "
                "(num_attention_heads_per_layer [48, 64, 64, 64] over full + 3 sliding, layer 0 dense, "
                "moe_routed_scaling_factor 2.5); the 30 sliding + 10 global count: the LLM Architecture Gallery "
                "row. Headline: the model card's 33B total, 3B active"),
        config=LAGUNA_XS_2,
        published_total=33e9,
        published_active=3e9,
        notes=("Per-layer query heads: 48 on the 10 global layers, 64 on the 30 sliding-window (512) layers; "
               "8 key/value heads of 128 everywhere, so every layer caches the same 4 KiB per token (bf16).",
               "Attention output times softplus(x W_g), one gate per head from its own projection (g_proj), "
               "after per-head RMS QK-norm. Global layers rotate half of each head (64 of 128 channels, YaRN "
               "x32 from 4096, theta 500k); sliding layers rotate all of it (theta 10k).",
               "Layer 0 is a dense SwiGLU MLP (8192); layers 1-39 route each token to 8 of 256 experts (512 "
               "wide) by sigmoid scores with a selection-only correction bias, weights normalized then times "
               "2.5, plus one shared expert (512).",
               "The per-layer lists (layer_types, num_attention_heads_per_layer, mlp_layer_types) and "
               "moe_routed_scaling_factor are not in the verbatim copies' visible part; they are taken from "
               "public readings of the XS config (see source). moe_router_logit_softcapping is not in any copy "
               "found: transformers' default, 0 (no cap), is used. The routed scaling does not change the "
               "counts.",
               "The router's correction bias (e_score_correction_bias, 256 per MoE layer) is a frozen parameter "
               "in transformers and a buffer here: balanced by a rule, not trained, it is not counted."),
    ),
    Entry(
        slug="zaya1-8b",
        title="ZAYA1-8B",
        family="ZAYA1",
        source="Zyphra/ZAYA1-8B config.json in transformers' form (ZayaConfig, the checkpoint its docstring names), "
               "its key set as an SGLang CPU test of ZAYA1's native checkpoint format pins it ('mirroring the pinned "
               "Zyphra/ZAYA1-8B config.json'; public code found by searching for the zaya model_type, its file "
               "path not recorded) and its values ZayaConfig's defaults "
               "(transformers 5.18 models/zaya/configuration_zaya.py); each agrees with Zyphra's first, "
               "Megatron-style config.json of the same checkpoint (hidden_size 2048, 8 heads, 2 query groups, "
               "kv_channels 128, 16 experts, moe_router_topk 1, ffn_hidden_size 4096 = gate + up of 2048, "
               "norm_epsilon 1e-05, rope_theta 5000000, partial_rotary_factor 0.5, max_position_embeddings "
               "131072, num_hidden_layers 80 counting attention and MoE apart) and vocab_size 262272 as "
               "Zyphra's converted bundles state it; counts from the model card (huggingface.co/Zyphra/ZAYA1-8B: "
               "'760M active parameters and 8.4B total')",
        # 40 layers, each a CCA (8 query heads x 128 over 2 key/value heads: attention in 1024
        # of the 2048 channels, q/k convolved over 3 tokens) then a top-1 MoE of 16 SwiGLU experts
        # of 2048 plus a skip slot, chosen by ZAYA1's MLP router (256 wide, its state carried from
        # layer to layer); learned scales and biases on every residual sum and on the embedding.
        config={"architectures": ["ZayaForCausalLM"], "model_type": "zaya", "vocab_size": 262272,
                "hidden_size": 2048, "num_hidden_layers": 40, "num_attention_heads": 8, "num_key_value_heads": 2,
                "head_dim": 128, "hidden_act": "silu", "moe_intermediate_size": 2048, "num_experts": 16,
                "num_experts_per_tok": 1, "router_hidden_size": 256, "cca_time0": 2, "cca_time1": 2,
                "rms_norm_eps": 1e-05, "max_position_embeddings": 131072, "layer_types": ["hybrid"] * 40,
                "rope_parameters": {
                    "hybrid": {"rope_type": "default", "rope_theta": 5000000.0, "partial_rotary_factor": 0.5},
                    "hybrid_sliding": {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}},
                "sliding_window": None, "attention_bias": False, "lm_head_bias": False, "tie_word_embeddings": True,
                "pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 106},
        published_total=8.4e9,
        published_active=760e6,
        # the card's counts leave out the (tied) embedding table, 262272 x 2048 = 0.54B
        headline_extra_params=-262272 * 2048,
        headline_active_excludes="embeddings",
        notes=("ArchScope counts 8.84B, equal to transformers' model; Zyphra's 8.4B and 760M active leave out the "
               "tied 262,272 x 2,048 embedding (0.54B): without it 8.30B total (the ZAYA1-base card says 8.3B) "
               "and 0.75B active per token (one expert of 16 in each of 40 layers).",
               "The gallery counts 40 CCA and 40 MoE entries: Zyphra's first config listed them as 80 layers; "
               "transformers' and ArchScope's 40 layers each hold one of both.",
               "KV cache 1 KiB per token and layer in bfloat16 (2 key/value heads x 128, keys and values), 40 KiB "
               "over 40 layers; beside it each layer keeps a constant 2,688 values: the convolutions' last 2 "
               "inputs of 1,280 query/key channels and the previous token's 128 delayed value channels.",
               "The skip expert (a 17th routing slot whose output is nothing) holds no parameters; the active count "
               "counts one expert per token, as Zyphra's does.",),
    ),
]
