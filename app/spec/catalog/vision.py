"""Multimodal entries: a vision encoder joined to a decoder, each at its published config.json.

Method A, unified embedding: Gemma 3 4B with its SigLIP encoder, whose 4,096 patch
features are pooled to 256 image tokens that sit in the prompt among the text tokens.
"""

from __future__ import annotations

from . import Entry
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
