"""Dense entries: GPT-2, Llama 3, OLMo 2, Olmo 3, Gemma 3, Mistral Small 3.1, Phi-4, Qwen3,
SmolLM2, SmolLM3 and Granite 4.1, each at the numbers of its published config.json."""

from __future__ import annotations

from .entry import Entry

# --- GPT-2 --------------------------------------------------------------------------------


def _gpt2(slug: str, title: str, repo: str, width: int, layers: int, heads: int, headline: float) -> Entry:
    return Entry(
        slug=slug, title=title, family="GPT-2", source=f"{repo} config.json",
        config={"model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024, "n_embd": width, "n_layer": layers,
                "n_head": heads, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5},
        published_total=headline,
    )


GPT2 = [
    _gpt2("gpt2-small", "GPT-2 (124M)", "openai-community/gpt2", 768, 12, 12, 124e6),
    _gpt2("gpt2-medium", "GPT-2 Medium (355M)", "openai-community/gpt2-medium", 1024, 24, 16, 355e6),
    _gpt2("gpt2-large", "GPT-2 Large (774M)", "openai-community/gpt2-large", 1280, 36, 20, 774e6),
    _gpt2("gpt2-xl", "GPT-2 XL (1.5B)", "openai-community/gpt2-xl", 1600, 48, 25, 1.558e9),
]

# --- Llama 3 and SmolLM2 (model_type llama) -------------------------------------------------

LLAMA = [
    Entry(
        slug="llama3-1b",
        title="Llama 3.2 1B",
        family="Llama 3",
        source="meta-llama/Llama-3.2-1B config.json",
        config={"model_type": "llama", "vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 8192,
                "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
                "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
                "rope_scaling": {"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 8192, "rope_type": "llama3"},
                "tie_word_embeddings": True, "hidden_act": "silu", "attention_bias": False, "mlp_bias": False},
        published_total=1.23e9,  # model card: 1.23B
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
    Entry(
        slug="llama3-3b",
        title="Llama 3.2 3B",
        family="Llama 3",
        source="meta-llama/Llama-3.2-3B config.json (verbatim copy in citsjtu2020/LLM-Prof, sglang/Model_Config.md)",
        config={"model_type": "llama", "vocab_size": 128256, "hidden_size": 3072, "intermediate_size": 8192,
                "num_hidden_layers": 28, "num_attention_heads": 24, "num_key_value_heads": 8, "head_dim": 128,
                "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
                "rope_scaling": {"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 8192, "rope_type": "llama3"},
                "tie_word_embeddings": True, "hidden_act": "silu", "attention_bias": False, "mlp_bias": False},
        published_total=3.21e9,  # model card: 3.21B
        notes=("The 1B's recipe at 3072 wide and 28 deep: GQA with 24 query and 8 KV heads of 128, tied "
               "embeddings.",),
    ),
]


def _smollm2(slug: str, title: str, repo: str, width: int, ffn: int, layers: int, heads: int, kv_heads: int,
             theta: float, headline: float) -> Entry:
    return Entry(
        slug=slug, title=title, family="SmolLM2", source=f"{repo} config.json",
        config={"model_type": "llama", "vocab_size": 49152, "hidden_size": width, "intermediate_size": ffn,
                "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
                "max_position_embeddings": 8192, "rms_norm_eps": 1e-5, "rope_theta": theta,
                "tie_word_embeddings": True, "hidden_act": "silu", "attention_bias": False, "mlp_bias": False},
        published_total=headline,
        notes=("A Llama-architecture model: the same blocks at a small width and a 49k vocabulary, "
               "with tied embeddings.",),
    )


SMOLLM2 = [
    _smollm2("smollm2-135m", "SmolLM2 135M", "HuggingFaceTB/SmolLM2-135M", 576, 1536, 30, 9, 3, 100000.0, 135e6),
    _smollm2("smollm2-360m", "SmolLM2 360M", "HuggingFaceTB/SmolLM2-360M", 960, 2560, 32, 15, 5, 100000.0, 360e6),
    _smollm2("smollm2-1.7b", "SmolLM2 1.7B", "HuggingFaceTB/SmolLM2-1.7B", 2048, 8192, 24, 32, 32, 130000.0, 1.7e9),
]

# --- OLMo 2 and Olmo 3 ----------------------------------------------------------------------

# Olmo 3 extends the context with YaRN on its full-attention layers only; the sliding
# layers keep plain RoPE at the same theta.
_OLMO3_YARN = {"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 8192,
               "attention_factor": 1.2079441541679836, "beta_fast": 32.0, "beta_slow": 1.0}
_OLMO3_LAYER_TYPES = ["sliding_attention"] * 3 + ["full_attention"]
_OLMO3_PATTERN_NOTE = ("Three sliding-window layers (4096 tokens) then one full-attention layer; "
                       "post-norm inside the residual and QK-norm over all heads, as in OLMo 2.")

OLMO = [
    Entry(
        slug="olmo2-7b",
        title="OLMo 2 7B",
        family="OLMo 2",
        source="allenai/OLMo-2-1124-7B config.json",
        config={"model_type": "olmo2", "vocab_size": 100352, "hidden_size": 4096, "intermediate_size": 11008,
                "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "rope_theta": 500000.0,
                "tie_word_embeddings": False, "hidden_act": "silu", "attention_bias": False},
        published_total=7.3e9,  # the Hub's count of the checkpoint; the model card calls it "7B"
        notes=("The headline is the Hugging Face Hub's parameter count (7.3B); the name rounds it to 7B.",),
    ),
    Entry(
        slug="olmo3-7b",
        title="Olmo 3 7B",
        family="Olmo 3",
        source="allenai/Olmo-3-1025-7B config.json",
        config={"model_type": "olmo3", "vocab_size": 100278, "hidden_size": 4096, "intermediate_size": 11008,
                "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                "max_position_embeddings": 65536, "rms_norm_eps": 1e-6, "rope_theta": 500000.0,
                "rope_scaling": _OLMO3_YARN, "sliding_window": 4096,
                "layer_types": _OLMO3_LAYER_TYPES * 8,
                "tie_word_embeddings": False, "hidden_act": "silu", "attention_bias": False},
        published_total=7.298e9,  # the Hub's count of the checkpoint: 7,298,011,136
        notes=(_OLMO3_PATTERN_NOTE,
               "The headline is the Hugging Face Hub's parameter count (7.30B); the name rounds it to 7B."),
    ),
    Entry(
        slug="olmo3-32b",
        title="Olmo 3 32B",
        family="Olmo 3",
        source="allenai/Olmo-3-1125-32B config.json",
        config={"model_type": "olmo3", "vocab_size": 100278, "hidden_size": 5120, "intermediate_size": 27648,
                "num_hidden_layers": 64, "num_attention_heads": 40, "num_key_value_heads": 8,
                "max_position_embeddings": 65536, "rms_norm_eps": 1e-6, "rope_theta": 500000.0,
                "rope_scaling": _OLMO3_YARN, "sliding_window": 4096,
                "layer_types": _OLMO3_LAYER_TYPES * 16,
                "tie_word_embeddings": False, "hidden_act": "silu", "attention_bias": False},
        published_total=32e9,
        notes=(_OLMO3_PATTERN_NOTE + " Unlike the 7B, the 32B uses grouped-query attention (40 query, 8 KV heads).",),
    ),
]

# --- Gemma 3 --------------------------------------------------------------------------------

# Gemma 3 tech report (arXiv 2503.19786), Table 1: the SigLIP encoder of the 4B, 12B and
# 27B releases. The catalog builds their text decoder; the encoder is added to the headline.
GEMMA3_VISION_PARAMS = 417e6
_GEMMA3_VISION_NOTE = ("The release is multimodal: this entry is its text decoder. The headline also counts the "
                       "417M-parameter SigLIP vision encoder (tech report, Table 1), which is left out here.")
_GEMMA3_PATTERN_NOTE = ("Five sliding-window layers (local RoPE theta 10k) then one global layer (theta 1M); "
                        "sandwich norms, (1 + w) RMSNorm scales, QK-norm per head, embeddings scaled by sqrt(d).")


def _gemma3(slug: str, title: str, repo: str, width: int, ffn: int, layers: int, heads: int, kv_heads: int,
            head_dim: int, window: int, context: int, vocab: int, headline: float, multimodal: bool,
            query_scalar: int = 256) -> Entry:
    config = {"model_type": "gemma3_text", "vocab_size": vocab, "hidden_size": width, "intermediate_size": ffn,
              "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
              "head_dim": head_dim, "max_position_embeddings": context, "rms_norm_eps": 1e-6,
              "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": query_scalar,
              "sliding_window": window, "sliding_window_pattern": 6, "rope_theta": 1_000_000.0,
              "rope_local_base_freq": 10_000.0, "attn_logit_softcapping": None, "final_logit_softcapping": None,
              "tie_word_embeddings": True}
    notes = [_GEMMA3_PATTERN_NOTE]
    if multimodal:
        # 128K context by linear interpolation of the global layers' RoPE (factor 8).
        config["rope_scaling"] = {"rope_type": "linear", "factor": 8.0}
        notes.append(_GEMMA3_VISION_NOTE)
        notes.append("The published text_config lists only keys that differ from Gemma3TextConfig's defaults "
                     "(vocab 262208, theta 1M / 10k, 5:1 pattern, ...); they are spelled out here.")
    return Entry(
        slug=slug, title=title, family="Gemma 3",
        source=f"{repo} config.json" + (" (text_config); Gemma 3 tech report Table 1" if multimodal else ""),
        config=config, published_total=headline,
        headline_extra_params=GEMMA3_VISION_PARAMS if multimodal else 0.0,
        notes=tuple(notes),
    )


GEMMA3 = [
    # 270M: 170M embedding + 100M transformer parameters (Google's Gemma 3 270M announcement).
    _gemma3("gemma3-270m", "Gemma 3 270M", "google/gemma-3-270m", 640, 2048, 18, 4, 1, 256, 512, 32768,
            262144, 270e6, multimodal=False),
    # Tech report Table 1: 302M embedding + 698M non-embedding.
    _gemma3("gemma3-1b", "Gemma 3 1B", "google/gemma-3-1b-pt", 1152, 6912, 26, 4, 1, 256, 512, 32768,
            262144, 1.0e9, multimodal=False),
    # Tech report Table 1: 417M vision + 675M embedding + 3,209M non-embedding.
    _gemma3("gemma3-4b", "Gemma 3 4B", "google/gemma-3-4b-pt", 2560, 10240, 34, 8, 4, 256, 1024, 131072,
            262208, 4.301e9, multimodal=True),
    # Tech report Table 1: 417M + 1,012M + 10,759M.
    _gemma3("gemma3-12b", "Gemma 3 12B", "google/gemma-3-12b-pt", 3840, 15360, 48, 16, 8, 256, 1024, 131072,
            262208, 12.188e9, multimodal=True),
    # Tech report Table 1: 417M + 1,416M + 25,600M. Queries scaled by 168 = d_model / heads.
    _gemma3("gemma3-27b", "Gemma 3 27B", "google/gemma-3-27b-pt", 5376, 21504, 62, 32, 16, 128, 1024, 131072,
            262208, 27.433e9, multimodal=True, query_scalar=168),
]

# --- Mistral Small 3.1 ----------------------------------------------------------------------

# Pixtral vision encoder (403,305,472) plus the multimodal projector (35,652,608), counted
# by transformers' Mistral3ForConditionalGeneration built from the published vision_config
# (24 layers x 1024 wide, 4096 MLP, 14-pixel patches, spatial merge 2, no projector bias).
MISTRAL_SMALL_VISION_PARAMS = 438_958_080

MISTRAL = [
    Entry(
        slug="mistral-small-3.1",
        title="Mistral Small 3.1 (24B)",
        family="Mistral Small 3.1",
        source="mistralai/Mistral-Small-3.1-24B-Base-2503 config.json (text_config)",
        config={"model_type": "mistral", "vocab_size": 131072, "hidden_size": 5120, "intermediate_size": 32768,
                "num_hidden_layers": 40, "num_attention_heads": 32, "num_key_value_heads": 8,
                "head_dim": 128,  # explicit: 5120 / 32 would give 160
                "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 1_000_000_000.0,
                "sliding_window": None, "tie_word_embeddings": False, "hidden_act": "silu"},
        published_total=24e9,
        headline_extra_params=MISTRAL_SMALL_VISION_PARAMS,
        notes=("The release is multimodal: this entry is its text decoder, a plain GQA transformer with no "
               "sliding window and a head_dim of 128 (narrower than width / heads).",
               "The model card's 24B includes the Pixtral vision encoder and projector (0.44B, counted from the "
               "published vision_config), which are left out here."),
    ),
]

# --- Phi-4 (model_type phi3) --------------------------------------------------------------

PHI = [
    Entry(
        slug="phi-4",
        title="Phi-4 (14B)",
        family="Phi-4",
        source="microsoft/phi-4 config.json (a verbatim copy quoted in public notes; the gallery's "
               "models.yml links the same file)",
        config={"model_type": "phi3", "vocab_size": 100352, "hidden_size": 5120, "intermediate_size": 17920,
                "num_hidden_layers": 40, "num_attention_heads": 40, "num_key_value_heads": 10,
                "max_position_embeddings": 16384, "original_max_position_embeddings": 16384, "rms_norm_eps": 1e-5,
                "rope_theta": 250000, "rope_scaling": None, "sliding_window": None, "attention_bias": False,
                "tie_word_embeddings": False, "hidden_act": "silu"},
        published_total=14.7e9,  # the Hub's count of the checkpoint; the tech report calls it "14B"
        notes=("Llama's blocks under the Phi-3 name: q/k/v and gate/up are each one fused matrix in the "
               "checkpoint (the same parameters); GQA with 40 query and 10 KV heads, no sliding window.",
               "The headline is the Hugging Face Hub's parameter count (14.7B); the tech report rounds it to 14B."),
    ),
]

# --- Qwen3 ----------------------------------------------------------------------------------


def _qwen3(size: str, width: int, ffn: int, layers: int, heads: int, tied: bool, headline: float) -> Entry:
    return Entry(
        slug=f"qwen3-{size.lower()}", title=f"Qwen3 {size}", family="Qwen3", source=f"Qwen/Qwen3-{size} config.json",
        config={"model_type": "qwen3", "vocab_size": 151936, "hidden_size": width, "intermediate_size": ffn,
                "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": 8, "head_dim": 128,
                "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1_000_000.0,
                "rope_scaling": None, "use_sliding_window": False, "sliding_window": None,
                "max_window_layers": layers, "tie_word_embeddings": tied, "hidden_act": "silu",
                "attention_bias": False},
        published_total=headline,  # model card: "Number of Parameters"
    )


QWEN3 = [
    _qwen3("0.6B", 1024, 3072, 28, 16, True, 0.6e9),
    _qwen3("1.7B", 2048, 6144, 28, 16, True, 1.7e9),
    _qwen3("4B", 2560, 9728, 36, 32, True, 4.0e9),
    _qwen3("8B", 4096, 12288, 36, 32, False, 8.2e9),
    _qwen3("14B", 5120, 17408, 40, 40, False, 14.8e9),
    _qwen3("32B", 5120, 25600, 64, 64, False, 32.8e9),
]

# --- Qwen2.5 -------------------------------------------------------------------------------

QWEN2 = [
    Entry(
        slug="qwen2.5-0.5b",
        title="Qwen2.5 0.5B",
        family="Qwen2",
        source="Qwen/Qwen2.5-0.5B config.json",
        config={"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
                "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
                "max_position_embeddings": 32768, "max_window_layers": 24, "rms_norm_eps": 1e-6,
                "rope_theta": 1_000_000.0, "sliding_window": 32768, "use_sliding_window": False,
                "tie_word_embeddings": True, "hidden_act": "silu"},
        published_total=0.49e9,  # model card: "Number of Parameters: 0.49B"
        notes=("Llama's layout with biases on the query, key and value projections (none on the output).",),
    ),
]

# --- SmolLM3 --------------------------------------------------------------------------------

SMOLLM3 = [
    Entry(
        slug="smollm3-3b",
        title="SmolLM3 3B",
        family="SmolLM3",
        source="HuggingFaceTB/SmolLM3-3B config.json",
        config={"model_type": "smollm3", "vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 11008,
                "num_hidden_layers": 36, "num_attention_heads": 16, "num_key_value_heads": 4,
                "max_position_embeddings": 65536, "rms_norm_eps": 1e-6, "rope_theta": 5_000_000.0,
                "no_rope_layer_interval": 4, "no_rope_layers": [1, 1, 1, 0] * 9,  # 0: this layer has no RoPE
                "use_sliding_window": False, "sliding_window": None, "tie_word_embeddings": True,
                "hidden_act": "silu", "attention_bias": False, "mlp_bias": False},
        published_total=3e9,  # model card: a 3B-parameter model
        notes=("Every fourth layer is NoPE: it attends without any positional encoding.",),
    ),
]

# --- Granite 4.1 ------------------------------------------------------------------------------

GRANITE = [
    Entry(
        slug="granite-4.1-30b",
        title="Granite 4.1 30B",
        family="Granite",
        source=("https://huggingface.co/ibm-granite/granite-4.1-30b/blob/main/config.json (architectures "
                "GraniteForCausalLM, model_type granite), read through two public copies: a Rust test quoting the "
                "config (test_real_granite_4_1_30b: hidden 4096, MLP 32768, 64 layers, 32 heads, 8 KV heads, "
                "vocabulary 100352, rope_theta 5e7, rms_norm_eps 1e-5, tied embeddings, attention_multiplier "
                "0.0078125, embedding_multiplier 12.0, logits_scaling 16.0, residual_multiplier 0.175) and the "
                "GGUF metadata of ollama.com/library/granite4.1:30b (the same numbers as attention.scale, "
                "embedding_scale, logit_scale, residual_scale, rope.freq_base; context_length 131072, "
                "rope.dimension_count 128); SwiGLU, RMSNorm, GQA, RoPE and shared embeddings from IBM's "
                "Granite 4.1 blog (huggingface.co/blog/ibm-granite/granite-4-1); headline: the model card's "
                "'30B parameter' model"),
        config={"model_type": "granite", "vocab_size": 100352, "hidden_size": 4096, "intermediate_size": 32768,
                "num_hidden_layers": 64, "num_attention_heads": 32, "num_key_value_heads": 8,
                "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 50_000_000.0,
                "tie_word_embeddings": True, "hidden_act": "silu", "attention_multiplier": 0.0078125,
                "embedding_multiplier": 12.0, "logits_scaling": 16.0, "residual_multiplier": 0.175},
        published_total=30e9,  # model card: "a 30B parameter long-context instruct model"
        headline_tolerance=0.04,
        notes=("Llama's blocks (GQA 32/8, RoPE, SwiGLU, RMSNorm, tied embeddings) with Granite's four muP "
               "multipliers: embeddings times 12, the softmax scale 1/128 (1/head_dim, not 1/sqrt(head_dim)), each "
               "sublayer's output times 0.175 before it joins the residual, logits divided by 16.",
               "The headline is the name's rounded '30B': the published config counts 28.87B (tied embeddings "
               "counted once), 3.8% under it, so this entry's check allows 4%. No finer published count was "
               "found.",
               "Not found in a public copy, so left at transformers' defaults: attention_bias and mlp_bias (none, "
               "as in every earlier Granite config), rope_scaling (none; the GGUF metadata lists no rope "
               "scaling), and the token ids. The context is the GGUF's 131072; IBM's blog describes training "
               "extended to 512K tokens."),
    ),
]

# --- Nanbeige 4.1 ----------------------------------------------------------------------------

NANBEIGE = [
    Entry(
        slug="nanbeige-4.1-3b",
        title="Nanbeige4.1 3B",
        family="Nanbeige",
        source=("Nanbeige/Nanbeige4.1-3B config.json (model_type llama), through its verbatim copy in "
                "mlx-community/Nanbeige4.1-3B-heretic-4bit config.json (an MLX quantisation of it, fetched in a "
                "public agent log: every architectural key, its quantization block aside) and the same numbers "
                "in a public MLX benchmark's CONFIGS[\"Nanbeige/Nanbeige4.1-3B\"] and the model card of "
                "mlboydaisuke/Nanbeige4.1-3B-CoreAI (32 layers, 20 / 4 heads of 128, hidden 2560, SwiGLU 10496, "
                "vocabulary 166144 untied, RMSNorm 1e-5, theta 7e7, 262,144 positions, 3.93B total). "
                "Headline: that 3.93B (BF16 weights of 7.87 GB, andrevp/Nanbeige4.1-3B-MLX-4bit's card); "
                "the gallery's 32 GQA layers and 64 KiB"),
        config={"model_type": "llama", "vocab_size": 166144, "hidden_size": 2560, "intermediate_size": 10496,
                "num_hidden_layers": 32, "num_attention_heads": 20, "num_key_value_heads": 4, "head_dim": 128,
                "max_position_embeddings": 262144, "rms_norm_eps": 1e-5, "rope_theta": 70000000,
                "rope_scaling": None, "tie_word_embeddings": False, "hidden_act": "silu", "attention_bias": False,
                "mlp_bias": False},
        published_total=3.93e9,
        notes=("A plain Llama: GQA with 20 query and 4 KV heads of 128, SwiGLU, RMSNorm, no QK-norm or biases; "
               "RoPE theta 7e7 for a 262,144-token context without scaling. Built on Nanbeige4-3B-Base.",
               "The name's 3B is the non-embedding backbone (3.08B here); the 166,144-row embedding and the "
               "untied head add 0.85B. No total stated by Nanbeige was found: 3.93B is what public "
               "conversions of the checkpoint report.",
               "One public fixture (FastFlowLM's NPU config, as a test quotes it) gives intermediate_size 10752; "
               "the copied config.json, two other readings and the 3.93B total (10752 would give 3.996B) say "
               "10496, which this entry keeps."),
    ),
]

ENTRIES = [*GPT2, *LLAMA, *SMOLLM2, *OLMO, *GEMMA3, *MISTRAL, *PHI, *QWEN2, *QWEN3, *SMOLLM3, *GRANITE, *NANBEIGE]
