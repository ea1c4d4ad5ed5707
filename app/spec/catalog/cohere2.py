"""Cohere2 and Cohere2 MoE: Tiny Aya, Command A and Command A+, at the numbers of their
config.json.

Every layer is a parallel block: attention and the feed-forward both read one LayerNorm (no
bias) of the layer's input, and both outputs join the residual in one sum. Three sliding
layers (window 4096, interleaved "GPT-J" RoPE) come before each global layer, which has no
positional encoding at all (NoPE); the logits are scaled by `logit_scale`; the output head
is the embedding.

Command A+ (2026, transformers' cohere2_moe inside a cohere2_vision release) keeps that
block and puts a mixture of experts in every layer: 128 routed SwiGLU experts, the top 8 of
the router's logits weighed by their sigmoids renormalised, and four experts' width of
shared MLP, the routed and shared outputs averaged (their sum halved). No verbatim copy of
its config.json was found; its numbers come from public code that reads the release's
config (see the entry's source), and they meet Cohere's 218B total and 25B active and the
LLM Architecture Gallery's layers and KV bytes.
"""

from __future__ import annotations

from .entry import Entry

_SLIDING, _FULL = "sliding_attention", "full_attention"


def _config(layers: int, d: int, ffn: int, heads: int, kv: int, vocab: int, theta: float, logit_scale: float,
            context: int) -> dict:
    return {
        "model_type": "cohere2", "vocab_size": vocab, "hidden_size": d, "intermediate_size": ffn,
        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv, "head_dim": d // heads,
        "hidden_act": "silu", "layer_norm_eps": 1e-5, "attention_bias": False, "logit_scale": logit_scale,
        "max_position_embeddings": context, "tie_word_embeddings": True, "sliding_window": 4096,
        "sliding_window_pattern": 4, "layer_types": [_FULL if (i + 1) % 4 == 0 else _SLIDING for i in range(layers)],
        "rope_parameters": {"rope_type": "default", "rope_theta": theta},
    }


_DESIGN_NOTE = ("Parallel blocks: attention and the SwiGLU MLP both read the layer's one LayerNorm (no bias) and "
                "add to the residual together, x + attn(norm(x)) + mlp(norm(x)). Three sliding-window layers "
                "(4096, interleaved RoPE) per global layer without positional encoding (NoPE); logits times "
                "logit_scale; tied embeddings.")

# Tiny Aya: 3.35B by Cohere's announcement (cohere.com/blog/cohere-labs-tiny-aya); the count of
# the published config with the embedding counted once is 3,349,227,520.
PUBLISHED_TINY_AYA = 3.35e9
# Command A: "111 billion parameters" (model card of CohereLabs/c4ai-command-a-03-2025).
PUBLISHED_COMMAND_A = 111e9
# Command A+: "218B total parameters, 25B active" (cohere.com/blog/command-a-plus, as public
# summaries of the announcement quote it).
PUBLISHED_COMMAND_A_PLUS = 218e9
PUBLISHED_COMMAND_A_PLUS_ACTIVE = 25e9

ENTRIES = [
    Entry(
        slug="tiny-aya", title="Tiny Aya 3.35B", family="Cohere2",
        source=("https://huggingface.co/CohereLabs/tiny-aya-global/blob/main/config.json (model_type cohere2), "
                "read through public copies: 1-800-LLMs/tiny-aya-earth/config.json (widths, 36 layers, 16 heads, "
                "head_dim 128, 3:1 pattern, context 500000, logit_scale 1.0, eps 1e-5), optimum-intel-internal-"
                "testing/tiny-random-aya-base (rope_theta 50000, vocabulary 262144, window 4096, tied embeddings) "
                "and the TINY_AYA_CONFIG of rasbt/LLMs-from-scratch ch05/15_tiny-aya (all of these, 4 KV heads); "
                "headline: Cohere's announcement (3.35B)"),
        config=_config(36, 2048, 11_008, 16, 4, 262_144, 50_000.0, 1.0, 500_000),
        published_total=PUBLISHED_TINY_AYA,
        notes=(_DESIGN_NOTE, ("The base, global, earth, fire and water releases share this config; they differ "
                              "in post-training only.")),
    ),
    Entry(
        slug="command-a", title="Command A 111B", family="Cohere2",
        source=("https://huggingface.co/CohereLabs/c4ai-command-a-03-2025/blob/main/config.json (model_type "
                "cohere2). Read here through a copy in a derivative (hammh0a/command-a-translate-FP8-Dynamic): "
                "hidden 12288, MLP 36864, head_dim 128, window 4096, 3:1 pattern, eps 1e-5, cohere2; and through a "
                "public conversion preset table (COHERE2_CONFIG, entry command-a-03-2025, the same numbers as "
                "its command-a-vision-07-2025 text tower): 64 layers, 96 heads, 8 KV heads, vocabulary 256000, "
                "rope_theta 50000, logit_scale 0.25, tied embeddings; context 131072 from TensorRT-LLM's "
                "Command-A guide (full-attention layers up to 131072). The count, 111.06B, meets the model "
                "card's 111B."),
        config=_config(64, 12_288, 36_864, 96, 8, 256_000, 50_000.0, 0.25, 131_072),
        published_total=PUBLISHED_COMMAND_A,
        notes=(_DESIGN_NOTE, "Context: 256K supported, configured as 128K (131072) in the published config."),
    ),
    Entry(
        slug="command-a-plus", title="Command A+ 218B-A25B", family="Cohere2 MoE",
        source=("CohereLabs/command-a-plus-05-2026-bf16 (a cohere2_vision release; this is its text_config, "
                "model_type cohere2_moe). No verbatim copy of its config.json was found; the numbers come from "
                "public code that reads it. mstar-project/mstar, mstar/model/command_a_plus/config.py (a "
                "validator of that checkpoint, pinned at revision 5fb6fde5): outer model_type cohere2_vision "
                "with tied embeddings; text_config model_type cohere2_moe, hidden_act silu, "
                "expert_selection_fn sigmoid, norm_topk_prob true, shared_expert_combination_strategy "
                "average, attention_bias false, first_k_dense_replace 0, rms_norm_eps null (LayerNorm), "
                "tie_word_embeddings true, rope_type default, layer_types global at every fourth layer "
                "(index 3 mod 4); its tests' production-shaped text_config: hidden 4096, 32 layers, 128 "
                "heads, 8 KV heads, head_dim 128, vocabulary 262144, intermediate_size 4096, 128 experts, 8 "
                "per token, num_shared_experts 4, sliding_window 4096, max_position_embeddings 200000. A "
                "second, independent converter test of the same text_config (cohere_command_a_plus_text) "
                "agrees on num_shared_experts 4, sigmoid, norm_topk_prob, average, window 4096, context "
                "200000, layer_norm_eps 1e-5 and rope_theta 50000. The count they give, 218.25B total and "
                "24.98B active, meets Cohere's announcement (cohere.com/blog/command-a-plus: 218B total, "
                "25B active, 128 experts with 8 active plus a shared one), and the gallery's 24 sliding + 8 "
                "global layers, 16:1 GQA and 128 KiB per token. logit_scale is not in any source: "
                "transformers' default (0.0625) stands; it scales the logits and changes no count."),
        config={
            "model_type": "cohere2_moe", "vocab_size": 262_144, "hidden_size": 4096, "num_hidden_layers": 32,
            "num_attention_heads": 128, "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 4096,
            "num_experts": 128, "num_experts_per_tok": 8, "num_shared_experts": 4,
            "shared_expert_combination_strategy": "average", "expert_selection_fn": "sigmoid",
            "norm_topk_prob": True, "first_k_dense_replace": 0, "hidden_act": "silu", "attention_bias": False,
            "layer_norm_eps": 1e-5, "rms_norm_eps": None, "tie_word_embeddings": True,
            "max_position_embeddings": 200_000, "sliding_window": 4096,
            "layer_types": [_FULL if (i + 1) % 4 == 0 else _SLIDING for i in range(32)],
            "rope_parameters": {"rope_type": "default", "rope_theta": 50_000.0},
        },
        published_total=PUBLISHED_COMMAND_A_PLUS,
        published_active=PUBLISHED_COMMAND_A_PLUS_ACTIVE,
        notes=(("Parallel blocks as Command A's, with a mixture of experts in every layer: attention and the MoE "
                "both read the layer's one LayerNorm (no bias), x + attn(norm(x)) + moe(norm(x)). The router "
                "takes the top 8 of 128 logits and weighs them by their sigmoids divided by their sum; the four "
                "shared experts are one SwiGLU MLP of 16384; the MoE's output is (routed + shared) / 2 "
                "(shared_expert_combination_strategy average). Three sliding-window layers (4096, interleaved "
                "RoPE, theta 50000) per global layer without positions (NoPE); tied embeddings."),
               ("The release also carries Cohere's own keys that transformers does not read, as its validator "
                "requires them: use_parallel_block true, use_qk_norm false, position_embedding_type rope_gptj, "
                "rotary_pct 1.0 -- the structure above; they are not repeated in this config."),
               ("Unknown here: logit_scale (transformers' default 0.0625 is used; it changes no count, cache or "
                "FLOP). Context: 200000 positions configured; Cohere announces 128K input and 64K output."),
               ("Headline: 218,254,938,112 parameters (tied embedding counted once) against the announced 218B "
                "(+0.12%); 24,981,409,792 per token against 25B (-0.07%): 8 of 128 experts, the shared MLP, "
                "attention and the embedding.")),
    ),
]
