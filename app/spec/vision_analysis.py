"""Analytic figures of a vision front-end: parameters of the encoder and projector, FLOPs
per image, and what an image's tokens cost the decoder's cache. Reads only the spec.

Counts follow transformers' module layout (SigLIP + Gemma3MultiModalProjector), so tests
compare them with its meta-device count of the whole multimodal model.
"""

from __future__ import annotations

from dataclasses import dataclass

from .parts import norm_params
from .vision import VisionEncoder, VisionFrontEnd


def encoder_layer_params(encoder: VisionEncoder) -> int:
    d, ffn = encoder.d_model, encoder.intermediate_size
    attention = 4 * d * d + (4 * d if encoder.attention_bias else 0)
    mlp = 2 * d * ffn + ffn + d  # fc1 and fc2, with biases
    return 2 * norm_params(encoder.norm, d) + attention + mlp


def encoder_params(encoder: VisionEncoder) -> int:
    d = encoder.d_model
    patch = encoder.num_channels * encoder.patch_size**2 * d + (d if encoder.patch_bias else 0)
    positions = encoder.tokens_per_tile * d + (d if encoder.class_token else 0)
    if encoder.aspect_ratios:
        # mllama: a gate and a table per layout (id 0: no image) for the positions of every
        # tile's tokens, and gated per-tile embeddings before and after the first stack
        layouts = encoder.aspect_ratios + 1
        positions += 1 + layouts * encoder.max_tiles * encoder.tokens_per_tile * d
        positions += 2 * (1 + layouts * encoder.max_tiles * d)
    norms = (norm_params(encoder.norm, d) if encoder.post_norm else 0) + (
        norm_params(encoder.norm, d) if encoder.pre_norm else 0)
    layers = encoder.num_layers * encoder_layer_params(encoder)
    global_layers = encoder.num_global_layers * (encoder_layer_params(encoder) + 2)  # + attention, MLP gates
    return patch + positions + norms + layers + global_layers


def projector_params(vision: VisionFrontEnd, text_width: int) -> int:
    width = vision.encoder.output_width
    return (norm_params(vision.projector_norm, width) + width * text_width
            + (text_width if vision.projector_bias else 0))


def encoder_flops_per_image(encoder: VisionEncoder) -> int:
    """Forward FLOPs of one image through the encoder: 2 per multiply-add of the patch conv
    and the layers' matrices, plus attention's N x N scores and weighted sums (all tiles
    of an image attend together)."""
    d, n = encoder.d_model, encoder.features_per_image
    patch = 2 * encoder.max_tiles * encoder.num_patches * encoder.num_channels * encoder.patch_size**2 * d
    matrices = 2 * n * (4 * d * d + 2 * d * encoder.intermediate_size)
    attention = 2 * 2 * n * n * d
    return patch + (encoder.num_layers + encoder.num_global_layers) * (matrices + attention)


@dataclass(frozen=True)
class VisionAnalysis:
    method: str
    encoder_params: int
    projector_params: int
    tokens_per_image: int  # decoder positions an image takes (unified); 0 for cross-attention
    encoder_flops_per_image: int
    projector_flops_per_image: int
    cross_kv_params: int = 0  # method B: the decoder's key and value projections of the image, summed
    cross_kv_flops_per_image: int = 0  # ... applied to every feature of one image

    @property
    def params(self) -> int:
        return self.encoder_params + self.projector_params

    @property
    def flops_per_image(self) -> int:
        return self.encoder_flops_per_image + self.projector_flops_per_image + self.cross_kv_flops_per_image


def analyze_vision(vision: VisionFrontEnd, text_width: int, cross_kv_params: int = 0) -> VisionAnalysis:
    """cross_kv_params: the decoder's cross-attention key and value projections, summed."""
    tokens = vision.tokens_per_image if vision.method == "unified" else 0
    return VisionAnalysis(
        method=vision.method,
        encoder_params=encoder_params(vision.encoder),
        projector_params=projector_params(vision, text_width),
        tokens_per_image=tokens,
        encoder_flops_per_image=encoder_flops_per_image(vision.encoder),
        projector_flops_per_image=2 * (tokens or vision.encoder.features_per_image) * vision.encoder.output_width
        * text_width,
        cross_kv_params=cross_kv_params,
        cross_kv_flops_per_image=2 * vision.encoder.features_per_image * cross_kv_params,
    )


def tokens_held(window: int, context_len: int, positions: range) -> int:
    """How many of `positions` a layer keeping the last `window` tokens (0: all) still holds
    after context_len tokens."""
    first_kept = max(0, context_len - window) if window else 0
    return max(0, min(positions.stop, context_len) - max(positions.start, first_kept))
