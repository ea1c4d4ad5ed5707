"""Multimodal entries: a vision encoder joined to a decoder, each at its published config.json.

Method A, unified embedding: Gemma 3 4B with its SigLIP encoder, whose 4,096 patch
features are pooled to 256 image tokens that sit in the prompt among the text tokens.
"""

from __future__ import annotations

from .entry import Entry
from .dense import GEMMA3

_GEMMA3_4B_TEXT = next(entry for entry in GEMMA3 if entry.slug == "gemma3-4b").config

GEMMA3_4B_VISION = Entry(
    slug="gemma3-4b-vision",
    title="Gemma 3 4B (vision)",
    family="Gemma 3",
    source="google/gemma-3-4b-pt config.json (text_config spelled out, vision_config); Gemma 3 tech report Table 1",
    config={"model_type": "gemma3", "text_config": _GEMMA3_4B_TEXT,
            "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 1152, "intermediate_size": 4304,
                              "num_hidden_layers": 27, "num_attention_heads": 16, "image_size": 896,
                              "patch_size": 14, "vision_use_head": False},
            "mm_tokens_per_image": 256, "image_token_index": 262_144, "boi_token_index": 255_999,
            "eoi_token_index": 256_000},
    # Tech report Table 1: 417M vision + 675M embedding + 3,209M non-embedding.
    published_total=4.301e9,
    notes=("Method A of joining a vision encoder to a decoder (unified embedding): a 896x896 image is cut into "
           "4,096 patches of 14 pixels, encoded by SigLIP (27 layers, 1152 wide), average-pooled 4x4 to 256 "
           "tokens, RMS-normalized and projected to the decoder width. Those 256 tokens replace the image "
           "placeholders in the prompt and attend to each other in both directions.",
           "The decoder is the Gemma 3 4B text model: five sliding-window layers, then one global layer."),
)

ENTRIES = [GEMMA3_4B_VISION]

# Method B, cross-attention: Llama 3.2 11B Vision. Its config.json's text_config and
# vision_config equal transformers' Mllama defaults except for the keys spelled out here.
LLAMA32_11B_VISION = Entry(
    slug="llama3.2-11b-vision",
    title="Llama 3.2 11B Vision",
    family="Llama 3.2 Vision",
    source="meta-llama/Llama-3.2-11B-Vision config.json",
    config={"model_type": "mllama", "image_token_index": 128_256,
            "text_config": {"model_type": "mllama_text_model", "vocab_size": 128_256, "hidden_size": 4096,
                            "num_hidden_layers": 40, "num_attention_heads": 32, "num_key_value_heads": 8,
                            "intermediate_size": 14_336, "rms_norm_eps": 1e-5, "max_position_embeddings": 131_072,
                            "rope_theta": 500_000.0,
                            "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                             "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
                            "cross_attention_layers": [3, 8, 13, 18, 23, 28, 33, 38], "tie_word_embeddings": False},
            "vision_config": {"model_type": "mllama_vision_model", "hidden_size": 1280, "num_hidden_layers": 32,
                              "num_global_layers": 8, "attention_heads": 16, "intermediate_size": 5120,
                              "vision_output_dim": 7680, "image_size": 560, "patch_size": 14, "norm_eps": 1e-5,
                              "max_num_tiles": 4, "intermediate_layers_indices": [3, 7, 15, 23, 30],
                              "supported_aspect_ratios": [[1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [3, 1],
                                                          [4, 1]]}},
    published_total=10.6e9,  # model card: 10.6B
    notes=("Method B of joining a vision encoder to a decoder (cross-attention): an image is cut into up to four "
           "560x560 tiles, each 1,600 patches of 14 pixels plus a class token, encoded by a 32-layer ViT and 8 gated "
           "global layers; the outputs of five intermediate layers join the last one (7,680 wide), projected to "
           "the decoder width.",
           "Eight of the 40 decoder layers (3, 8, ..., 38) are cross-attention layers: queries from the text, keys "
           "and values from the image features, tanh gates learned from zero. The image takes no position in the "
           "text; its keys and values are cached once per cross-attention layer.",
           "The 32 self-attention layers are Llama 3.1 8B's; the embedding has 8 extra rows for the image token."),
)

ENTRIES.append(LLAMA32_11B_VISION)
