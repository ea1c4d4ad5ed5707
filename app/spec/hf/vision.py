"""Multimodal configs: Gemma 3 (`gemma3`, Gemma3ForConditionalGeneration), a gemma3_text
decoder with a SigLIP encoder whose features are pooled, normalized and projected into
the token sequence (method A, unified embedding)."""

from __future__ import annotations

from dataclasses import replace

from ..arch import ArchSpec
from ..components import Norm
from ..errors import Problem, SpecError
from ..vision import VIT_NORM, VisionEncoder, VisionFrontEnd
from .common import HIDDEN_ACTS, activation_from_hf, activation_to_hf
from .dense import llama_like_to_config, llama_like_to_spec
from .reader import ConfigReader

# transformers' SiglipVisionConfig defaults, used by Gemma3Config for keys a config leaves out
SIGLIP_DEFAULTS = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
                   "num_channels": 3, "image_size": 224, "patch_size": 16, "hidden_act": "gelu_pytorch_tanh",
                   "layer_norm_eps": 1e-6}
# Gemma3Config's defaults for its own keys
GEMMA3_DEFAULTS = {"mm_tokens_per_image": 256, "image_token_index": 262_144, "boi_token_index": 255_999,
                   "eoi_token_index": 256_000}


def read_siglip(r: ConfigReader) -> VisionEncoder:
    r.config = SIGLIP_DEFAULTS | r.config
    if r.bool("vision_use_head", False):  # published Gemma 3 configs all say false
        r.problem("vision_use_head", "the attention-pooling head is not part of a multimodal front-end; expected false")
    activation = r.str("hidden_act", "gelu_pytorch_tanh", HIDDEN_ACTS)
    return VisionEncoder(
        image_size=r.int("image_size"), patch_size=r.int("patch_size"), d_model=r.int("hidden_size"),
        num_layers=r.int("num_hidden_layers"), num_heads=r.int("num_attention_heads"),
        intermediate_size=r.int("intermediate_size"), activation=activation_from_hf(activation),
        norm=replace(VIT_NORM, eps=r.float("layer_norm_eps", positive=True)), num_channels=r.int("num_channels"),
    )


def write_siglip(encoder: VisionEncoder) -> dict:
    expected = VisionEncoder(encoder.image_size, encoder.patch_size, encoder.d_model, encoder.num_layers,
                             encoder.num_heads, encoder.intermediate_size, encoder.activation,
                             replace(VIT_NORM, eps=encoder.norm.eps), encoder.num_channels)
    if encoder != expected:
        raise SpecError([Problem("vision.encoder", "a SigLIP config has LayerNorms with a bias, biased patch "
                                 "embedding and attention, and a final norm; this encoder differs")])
    return {"model_type": "siglip_vision_model", "hidden_size": encoder.d_model,
            "intermediate_size": encoder.intermediate_size, "num_hidden_layers": encoder.num_layers,
            "num_attention_heads": encoder.num_heads, "num_channels": encoder.num_channels,
            "image_size": encoder.image_size, "patch_size": encoder.patch_size,
            "hidden_act": activation_to_hf(encoder.activation), "layer_norm_eps": encoder.norm.eps,
            "vision_use_head": False}


def gemma3_to_spec(r: ConfigReader, model_type: str) -> ArchSpec:
    r.config = GEMMA3_DEFAULTS | r.config
    text = llama_like_to_spec(r.sub("text_config"), "gemma3_text")
    encoder = read_siglip(r.sub("vision_config"))
    vision = VisionFrontEnd(
        method="unified", encoder=encoder, image_token_id=r.int("image_token_index", minimum=0),
        tokens_per_image=r.int("mm_tokens_per_image"),
        # Gemma3MultiModalProjector normalizes with the vision config's layer_norm_eps
        projector_norm=Norm("rmsnorm", encoder.norm.eps, unit_offset=True),
    )
    return replace(text, name=model_type, model_type=model_type, vision=vision,
                   tie_embeddings=r.bool("tie_word_embeddings", text.tie_embeddings))


def gemma3_to_config(spec: ArchSpec) -> dict:
    vision = spec.vision
    if vision is None or vision.method != "unified":
        raise SpecError([Problem("vision", "a gemma3 config needs a unified (method A) vision front-end")])
    if vision.projector_norm != Norm("rmsnorm", vision.encoder.norm.eps, unit_offset=True) or vision.projector_bias:
        raise SpecError([Problem("vision.projector_norm", "Gemma 3's projector has a (1 + w) RMSNorm at the "
                                 "encoder's eps and no bias")])
    if vision.image_attention != "bidirectional":
        raise SpecError([Problem("vision.image_attention", "Gemma 3's image tokens attend bidirectionally")])
    text = llama_like_to_config(replace(spec, model_type="gemma3_text", vision=None))
    return {"model_type": "gemma3", "text_config": text, "vision_config": write_siglip(vision.encoder),
            "mm_tokens_per_image": vision.tokens_per_image, "image_token_index": vision.image_token_id,
            "tie_word_embeddings": spec.tie_embeddings}

CONVERTERS = {"gemma3": (gemma3_to_spec, gemma3_to_config)}
