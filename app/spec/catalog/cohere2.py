"""Cohere2: Tiny Aya and Command A, at the numbers of their published config.json.

Every layer is a parallel block: attention and a SwiGLU MLP both read one LayerNorm (no
bias) of the layer's input, and both outputs join the residual in one sum. Three sliding
layers (window 4096, interleaved "GPT-J" RoPE) come before each global layer, which has no
positional encoding at all (NoPE); the logits are scaled by `logit_scale`; the output head
is the embedding.

Command A+ (2026) is a mixture of experts (transformers' cohere2_moe: 218B total, 25B active,
128 routed experts of which 8 per token plus a shared one, by Cohere's announcement as public
summaries give it). No copy of its config.json was found, so its widths, depth, expert sizes
and dense prefix are unknown here, and the `command-a-plus` entry stands in with the dense
Command A (c4ai-command-a-03-2025), the closest release whose config is published.
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
        slug="command-a-plus", title="Command A (stand-in for A+)", family="Cohere2",
        source=("No public config.json of Command A+ found; this is Command A's: "
                "https://huggingface.co/CohereLabs/c4ai-command-a-03-2025/blob/main/config.json (model_type "
                "cohere2). Read here through a copy in a derivative (hammh0a/command-a-translate-FP8-Dynamic): "
                "hidden 12288, MLP 36864, head_dim 128, window 4096, 3:1 pattern, eps 1e-5, cohere2; and through a "
                "public conversion preset table (COHERE2_CONFIG, entry command-a-03-2025, the same numbers as "
                "its command-a-vision-07-2025 text tower): 64 layers, 96 heads, 8 KV heads, vocabulary 256000, "
                "rope_theta 50000, logit_scale 0.25, tied embeddings; context 131072 from TensorRT-LLM's "
                "Command-A guide (full-attention layers up to 131072). The count, 111.06B, meets the model "
                "card's 111B. Command A+ itself (cohere2_moe, 218B total / 25B active, 128 "
                "experts top-8 plus a shared expert) is in the notes; its widths, depth and expert sizes are "
                "unknown here"),
        config=_config(64, 12_288, 36_864, 96, 8, 256_000, 50_000.0, 0.25, 131_072),
        published_total=PUBLISHED_COMMAND_A,
        notes=(_DESIGN_NOTE,
               ("Stand-in: no config.json of Command A+ was found, so this entry is the dense Command A "
               "(c4ai-command-a-03-2025, 111B), the closest release with a published config. Command A+ is a "
               "mixture of experts (218B total, 25B active; 128 routed experts, 8 per token, and a shared one; "
               "the same 3:1 sliding/global pattern) whose widths, depth, expert sizes and dense prefix are "
               "unknown here; the 3% check compares with Command A's 111B."),
               ("For the record, the LLM Architecture Gallery (tests/data copy) gives Command A+ 32 layers (24 "
                "sliding-window + 8 global), 16:1 GQA and 128 KiB of bf16 KV cache per token (8 KV heads of 128); "
                "this stand-in has 64 layers (48 + 16), 12:1 GQA and 256 KiB per token."),
               "Context: 256K supported, configured as 128K (131072) in the published config."),
    ),
]
