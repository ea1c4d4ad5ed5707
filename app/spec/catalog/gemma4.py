"""Gemma 4 (text decoder of the multimodal releases): the dense 31B and 12B, the
mixture-of-experts 26B-A4B and the on-device E2B and E4B, at the numbers of their published
config.json.

The 26B-A4B keeps the 31B's local:global attention and runs, in every layer, a dense MLP
beside 128 experts of which each token takes 8: in the spec an MoE whose shared MLP is the
dense one and whose two branches have norms of their own (`MoE.branch_norm`; the router's
own input norm and per-expert scales are `Router.input_norm` and `Router.per_expert_scale`).
"""

from __future__ import annotations

from .entry import Entry

_SLIDING, _FULL = "sliding_attention", "full_attention"
# Proportional RoPE on global layers (a quarter of the pairs turn), plain RoPE on local ones.
_ROPE = {_FULL: {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1_000_000.0},
         _SLIDING: {"rope_type": "default", "rope_theta": 10_000.0}}
_DESIGN_NOTE = ("Local:global attention (sliding window then one global layer, the last layer always global), "
                "sandwich norms with plain RMSNorm scales, QK-norm and a weightless value norm per head, unit "
                "query scaling and a learned scalar on every block's output. Global layers have heads twice as "
                "wide (512) and proportional RoPE: a quarter of their pairs turn, with frequencies spaced over the "
                "whole head.")
_UNIFIED_KV_NOTE = ("On global layers the keys double as values (attention_k_eq_v): no value projection, the "
                    "values are the key projection's output before its norm and RoPE; the cache still holds "
                    "keys and values.")
# E2B and E4B also hold a vision encoder (167,364,608) and an audio encoder (304,824,608), counted
# from transformers' Gemma4VisionModel and Gemma4AudioModel at their default configs (those of
# google/gemma-4-e2b-it), and the two projections of their features into the text width
# (Gemma4MultimodalEmbedder: 768 x d and 1536 x d, plus their norms' none).
ON_DEVICE_ENCODER_PARAMS = 167_364_608 + 304_824_608


def _encoders_params(d: int) -> int:
    return ON_DEVICE_ENCODER_PARAMS + (768 + 1536) * d


_ENCODERS_NOTE = ("The release is multimodal: this entry is its text decoder. The model card's count also holds "
                  "the vision encoder (167M), the audio encoder (305M) and their projections into the text "
                  "width, counted from transformers' Gemma 4 modules and added back for the 3% check.")
_PLE_NOTE = ("Per-layer embeddings (256 values per layer and token) join the one residual stream after each "
             "block; the table is only looked up, so it can stay in host memory: the 'E' sizes count what "
             "remains on the accelerator.")


def _config(model_type: str, layers: int, d: int, ffn: int, heads: int, kv: int, global_kv: int | None,
            window: int, context: int, period: int, **extra) -> dict:
    config = {
        "model_type": model_type, "vocab_size": 262_144, "hidden_size": d, "intermediate_size": ffn,
        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv,
        "head_dim": 256, "global_head_dim": 512, "attention_k_eq_v": global_kv is not None,
        "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": context, "rms_norm_eps": 1e-6,
        "sliding_window": window, "final_logit_softcapping": 30.0, "attention_bias": False,
        "tie_word_embeddings": True, "num_kv_shared_layers": 0, "use_double_wide_mlp": False,
        "layer_types": [_FULL if (i + 1) % period == 0 else _SLIDING for i in range(layers)],
        "rope_parameters": _ROPE,
    }
    if global_kv is not None:
        config["num_global_key_value_heads"] = global_kv
    return config | extra


_MOE_NOTE = ("Every layer runs a dense GeGLU MLP (2112 wide) beside 128 experts (704 wide), 8 per token. The "
             "router reads its own RMSNorm of the layer's un-normed input (a learned scale, then 1/sqrt(d)), takes "
             "the softmax's top 8, renormalizes them and multiplies each by a learned scale of its expert. The "
             "experts read that un-normed input through a pre-norm of their own, the dense MLP the layer's "
             "pre-norm; each branch's output is normed before the two are summed and post-normed.")


def _on_device(layers: int, d: int, kv: int, shared: int, period: int, double_wide: bool) -> dict:
    return _config("gemma4_text", layers, d, 4 * d, 8, kv, None, 512, 131_072, period, enable_moe_block=False,
                   hidden_size_per_layer_input=256, vocab_size_per_layer_input=262_144,
                   num_kv_shared_layers=shared, use_double_wide_mlp=double_wide)


# The model card (Google AI for Developers, "Gemma 4 model card") gives 30.7B for the 31B,
# 5.1B / 8B with embeddings (2.3B / 4.5B effective) for E2B / E4B, and 25.2B total with 3.8B
# active for the 26B-A4B (quoted so by its public copies, e.g. the OpenExplorer and Fireworks
# model pages); the 12B's card is not in reach here, so its headline is its name.
PUBLISHED_31B, PUBLISHED_E2B, PUBLISHED_E4B, PUBLISHED_12B = 30.7e9, 5.1e9, 8.0e9, 12e9
PUBLISHED_26B_A4B, PUBLISHED_26B_A4B_ACTIVE = 25.2e9, 3.8e9

ENTRIES = [
    Entry(
        slug="gemma4-31b", title="Gemma 4 31B", family="Gemma 4",
        source="https://huggingface.co/google/gemma-4-31B-it/blob/main/config.json (text_config; the numbers as "
               "public copies of it give them); headline: the Gemma 4 model card",
        config=_config("gemma4_text", 60, 5376, 21504, 32, 16, 4, 1024, 262_144, 6, enable_moe_block=False,
                       hidden_size_per_layer_input=0),
        published_total=PUBLISHED_31B,
        notes=(_DESIGN_NOTE, _UNIFIED_KV_NOTE + " 16 KV heads on sliding layers, 4 on global ones.",
               "The model card counts 30.7B, within 3% of the text decoder alone; its vision encoder is not "
               "added back (the card gives no split)."),
    ),
    Entry(
        slug="gemma4-26b-a4b", title="Gemma 4 26B-A4B", family="Gemma 4",
        source="https://huggingface.co/google/gemma-4-26B-A4B-it/blob/main/config.json (text_config; the numbers as "
               "its public copy in github.com/siwei555/llm-perf-calculator-current, docs/gemma_4/config/"
               "gemma-4-26B-A4B-it-config.json, gives them); headline: the Gemma 4 model card (25.2B total, 3.8B "
               "active), as https://huggingface.co/OpenExplorer/gemma-4-26B-A4B-it and "
               "https://fireworks.ai/models/fireworks/gemma-4-26b-a4b-it quote it",
        config=_config("gemma4_text", 30, 2816, 2112, 16, 8, 2, 1024, 262_144, 6, enable_moe_block=True,
                       hidden_size_per_layer_input=0, num_experts=128, top_k_experts=8, moe_intermediate_size=704),
        published_total=PUBLISHED_26B_A4B, published_active=PUBLISHED_26B_A4B_ACTIVE,
        notes=(_DESIGN_NOTE, _UNIFIED_KV_NOTE + " 8 KV heads on sliding layers, 2 on global ones.", _MOE_NOTE,
               "The model card's 25.2B total and 3.8B active are the text decoder's own (the tied embedding counted "
               "once, as active too); its vision encoder (about 550M) is not in them and not added back."),
    ),
    Entry(
        slug="gemma4-12b", title="Gemma 4 12B", family="Gemma 4",
        source="https://huggingface.co/google/gemma-4-12B-it/blob/main/config.json (text_config, model_type "
               "gemma4_unified_text; the numbers as public copies of it give them). Published total: not found "
               "here; the headline is the name's 12B",
        config=_config("gemma4_unified_text", 48, 3840, 15360, 16, 8, 1, 1024, 262_144, 6),
        published_total=PUBLISHED_12B,
        notes=(_DESIGN_NOTE, _UNIFIED_KV_NOTE + " 8 KV heads on sliding layers, a single one on global ones.",
               "gemma4_unified_text: the same decoder as gemma4_text without per-layer embeddings or experts. "
               "Its published parameter count was not found; the 3% check compares with the name's 12B."),
    ),
    Entry(
        slug="gemma4-e2b", title="Gemma 4 E2B", family="Gemma 4",
        source="https://huggingface.co/google/gemma-4-E2B-it/blob/main/config.json (text_config; the numbers as "
               "public copies of it give them); headline: the Gemma 4 model card (5.1B, 2.3B effective)",
        config=_on_device(35, 1536, 1, 20, 5, True),
        published_total=PUBLISHED_E2B, headline_extra_params=_encoders_params(1536),
        notes=(_DESIGN_NOTE, "Four sliding layers (window 512) per global one; one KV head.",
               "The last 20 of its 35 layers reuse the keys and values of the last sliding and the last global "
               "layer before them and keep no cache; their MLPs are twice as wide (use_double_wide_mlp).",
               _PLE_NOTE, _ENCODERS_NOTE),
    ),
    Entry(
        slug="gemma4-e4b", title="Gemma 4 E4B", family="Gemma 4",
        source="https://huggingface.co/google/gemma-4-E4B-it/blob/main/config.json (text_config; the numbers as "
               "public copies of it give them); headline: the Gemma 4 model card (8B, 4.5B effective)",
        config=_on_device(42, 2560, 2, 18, 6, False),
        published_total=PUBLISHED_E4B, headline_extra_params=_encoders_params(2560),
        notes=(_DESIGN_NOTE, "Five sliding layers (window 512) per global one; two KV heads.",
               "The last 18 of its 42 layers reuse the keys and values of the last sliding and the last global "
               "layer before them and keep no cache.", _PLE_NOTE, _ENCODERS_NOTE),
    ),
]
