"""Dense entries: GPT-2, Llama 3, OLMo 2, Olmo 3, Gemma 3, Mistral Small 3.1, Qwen3,
SmolLM2 and SmolLM3, each at the numbers of its published config.json."""

from __future__ import annotations

from . import Entry

ENTRIES = [
    Entry(
        slug="gpt2-small",
        title="GPT-2 (124M)",
        family="GPT-2",
        source="openai-community/gpt2 config.json",
        config={"model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12,
                "n_head": 12, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5},
        published_total=124e6,
    ),
    Entry(
        slug="llama3-8b",
        title="Llama 3.1 8B",
        family="Llama 3",
        source="meta-llama/Llama-3.1-8B config.json",
        config={"model_type": "llama", "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
                "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
                "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 8192, "rope_type": "llama3"},
                "tie_word_embeddings": False, "hidden_act": "silu"},
        published_total=8.03e9,
    ),
]
