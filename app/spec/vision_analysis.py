"""Analytic figures of a vision front-end: parameters of the encoder and projector, FLOPs
per image, and what an image's tokens cost the decoder's cache. Reads only the spec.

Counts follow transformers' module layout (SigLIP + Gemma3MultiModalProjector), so tests
compare them with its meta-device count of the whole multimodal model.
"""

from __future__ import annotations

from dataclasses import dataclass

from .components import Norm
from .vision import VisionEncoder, VisionFrontEnd


def _norm_params(norm: Norm | None, width: int) -> int:
    if norm is None or norm.kind == "l2":
        return 0
    return width * (2 if norm.bias else 1)


def encoder_layer_params(encoder: VisionEncoder) -> int:
    d, ffn = encoder.d_model, encoder.intermediate_size
    attention = 4 * d * d + (4 * d if encoder.attention_bias else 0)
    mlp = 2 * d * ffn + ffn + d  # fc1 and fc2, with biases
    return 2 * _norm_params(encoder.norm, d) + attention + mlp


def encoder_params(encoder: VisionEncoder) -> int:
    d = encoder.d_model
    patch = encoder.num_channels * encoder.patch_size**2 * d + (d if encoder.patch_bias else 0)
    positions = encoder.num_patches * d
    post = _norm_params(encoder.norm, d) if encoder.post_norm else 0
    return patch + positions + encoder.num_layers * encoder_layer_params(encoder) + post


def projector_params(vision: VisionFrontEnd, text_width: int) -> int:
    d = vision.encoder.d_model
    return _norm_params(vision.projector_norm, d) + d * text_width + (text_width if vision.projector_bias else 0)


def encoder_flops_per_image(encoder: VisionEncoder) -> int:
    """Forward FLOPs of one image through the encoder: 2 per multiply-add of the patch conv
    and the layers' matrices, plus attention's N x N scores and weighted sums."""
    d, n = encoder.d_model, encoder.num_patches
    patch = 2 * n * encoder.num_channels * encoder.patch_size**2 * d
    matrices = 2 * n * (4 * d * d + 2 * d * encoder.intermediate_size)
    attention = 2 * 2 * n * n * d
    return patch + encoder.num_layers * (matrices + attention)


@dataclass(frozen=True)
class VisionAnalysis:
    method: str
    encoder_params: int
    projector_params: int
    tokens_per_image: int  # decoder positions an image takes (unified); 0 for cross-attention
    encoder_flops_per_image: int
    projector_flops_per_image: int

    @property
    def params(self) -> int:
        return self.encoder_params + self.projector_params

    @property
    def flops_per_image(self) -> int:
        return self.encoder_flops_per_image + self.projector_flops_per_image


def analyze_vision(vision: VisionFrontEnd, text_width: int) -> VisionAnalysis:
    tokens = vision.tokens_per_image if vision.method == "unified" else 0
    return VisionAnalysis(
        method=vision.method,
        encoder_params=encoder_params(vision.encoder),
        projector_params=projector_params(vision, text_width),
        tokens_per_image=tokens,
        encoder_flops_per_image=encoder_flops_per_image(vision.encoder),
        projector_flops_per_image=2 * vision.tokens_per_image * vision.encoder.d_model * text_width,
    )


def tokens_held(window: int, context_len: int, positions: range) -> int:
    """How many of `positions` a layer keeping the last `window` tokens (0: all) still holds
    after context_len tokens."""
    first_kept = max(0, context_len - window) if window else 0
    return max(0, min(positions.stop, context_len) - max(positions.start, first_kept))
