"""The two ways a vision encoder joins a decoder, as models. Method A (unified embedding,
Gemma 3): the encoder's patch features are pooled, normalized and projected to the
decoder width, and take the places of the image placeholder tokens in the prompt.
Method B (cross-attention, Llama 3.2 Vision): the projected features of a tiled encoder
are what the decoder's cross-attention layers attend to (app/model/cross_attention.py)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.vision import VisionFrontEnd, aspect_ratio_layouts
from .cross_attention import CrossAttention
from .decoder import DecoderModel
from .norms import make_norm
from .step import Step
from .tiled_vision import TiledVisionEncoder
from .vision_encoder import VisionEncoder


class PooledProjector(nn.Module):
    """Gemma3MultiModalProjector's math: average-pool the patch grid to a token grid
    (64 x 64 -> 16 x 16 in Gemma 3), RMS-normalize, project to the decoder width."""

    def __init__(self, vision: VisionFrontEnd, text_width: int):
        super().__init__()
        self.vision = vision
        width = vision.encoder.d_model
        self.norm = make_norm(vision.projector_norm, width) if vision.projector_norm is not None else None
        self.proj = nn.Linear(width, text_width, bias=vision.projector_bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        images, patches, width = features.shape
        side = self.vision.encoder.patches_per_side
        grid = features.transpose(1, 2).reshape(images, width, side, side)
        kernel = self.vision.pool_kernel
        pooled = F.avg_pool2d(grid, kernel_size=kernel, stride=kernel).flatten(2).transpose(1, 2)
        if self.norm is not None:
            pooled = self.norm(pooled)
        return self.proj(pooled)


def image_blocks(is_image: torch.Tensor) -> torch.Tensor:
    """[T] bool -> [T] id of the image each token belongs to (0, 1, ... by run of image
    tokens), -1 for text."""
    starts = is_image & ~F.pad(is_image, (1, 0))[:-1]
    return torch.where(is_image, torch.cumsum(starts.long(), 0) - 1, torch.full_like(is_image, -1, dtype=torch.long))


class VisionDecoderModel(DecoderModel):
    """A decoder whose prompt may hold images: encode_images runs the encoder and
    projector (the profiler times it apart), forward places the result."""

    def __init__(self, spec, make_mixer, make_ffn):
        super().__init__(spec, make_mixer, make_ffn)
        self.vision_tower = VisionEncoder(spec.vision.encoder)
        self.projector = PooledProjector(spec.vision, spec.d_model)

    def encode_images(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """[images, C, H, W] -> the decoder inputs of their tokens [images, tokens, d_model]."""
        return self.projector(self.vision_tower(pixel_values))

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        # The placeholder id may lie outside the vocabulary (an explore model keeps Gemma's
        # 262144); its embedding is replaced anyway, so any row will do.
        placeholders = input_ids == self.spec.vision.image_token_id
        return super().embed(input_ids.masked_fill(placeholders, 0))

    def merge_images(self, x: torch.Tensor, input_ids: torch.Tensor, step: Step, pixel_values=None,
                     image_features=None, aspect_ratio_ids=None) -> torch.Tensor:
        vision = self.spec.vision
        is_image = input_ids == vision.image_token_id
        if pixel_values is None and image_features is None:
            if bool(is_image.any()):
                raise ValueError(f"the prompt holds {int(is_image.sum())} image tokens but no image was given")
            return x
        if image_features is None:
            image_features = self.encode_images(pixel_values)
        features = image_features.reshape(-1, x.shape[-1])
        if int(is_image.sum()) != features.shape[0]:
            raise ValueError(f"the prompt holds {int(is_image.sum())} image tokens, the images give "
                             f"{features.shape[0]} ({vision.tokens_per_image} per image)")
        if vision.image_attention == "bidirectional":
            if bool((is_image != is_image[:1]).any()):
                raise ValueError("every row of a batch must hold its image tokens at the same positions")
            step.image_blocks = image_blocks(is_image[0])
        x = x.clone()
        x[is_image] = features.to(x.dtype)
        return x


@dataclass
class CrossImage:
    """What a prefill hands the cross-attention layers: per batch row, the image's
    projected features, which of them are real (not padding tiles), and the position of
    its image token (-1 when the row has none)."""

    states: torch.Tensor  # [B, features, d_model]
    key_valid: torch.Tensor  # [B, features]
    start: torch.Tensor  # [B]


class CrossAttentionDecoderModel(DecoderModel):
    """A decoder with cross-attention layers to one image per batch row (method B)."""

    def __init__(self, spec, make_mixer, make_ffn):
        super().__init__(spec, make_mixer, make_ffn)
        vision = spec.vision
        # mllama's embedding has rows past the vocabulary, its image token among them
        self.embed_tokens = nn.Embedding(spec.vocab_size + vision.extra_token_rows, spec.d_model)
        self.tie_weights()
        self.vision_tower = TiledVisionEncoder(vision.encoder)
        self.projector = nn.Linear(vision.encoder.output_width, spec.d_model, bias=vision.projector_bias)
        for block in self.layers:
            if isinstance(block.mixer, CrossAttention):
                block.mixer.features = vision.encoder.features_per_image
        self._tiles_per_layout = [0] + [rows * columns for rows, columns in
                                        aspect_ratio_layouts(vision.encoder.max_tiles)]

    def encode_images(self, pixel_values: torch.Tensor, aspect_ratio_ids: torch.Tensor | None = None):
        """pixels [B, tiles, C, H, W] (or [B, C, H, W]: one tile) -> (features [B, N, d_model],
        real [B, N]). aspect_ratio_ids [B]: the tiling layout (1-based; default 1, one tile)."""
        encoder = self.spec.vision.encoder
        if pixel_values.dim() == 4:
            pixel_values = pixel_values[:, None]
        batch, tiles = pixel_values.shape[:2]
        if tiles < encoder.max_tiles:  # padding tiles, masked below
            pixel_values = F.pad(pixel_values, (0, 0, 0, 0, 0, 0, 0, encoder.max_tiles - tiles))
        if aspect_ratio_ids is None:
            aspect_ratio_ids = torch.ones(batch, dtype=torch.long, device=pixel_values.device)
        aspect_ratio_ids = aspect_ratio_ids.reshape(batch)
        layout_tiles = torch.tensor(self._tiles_per_layout, device=pixel_values.device)[aspect_ratio_ids]
        tile_valid = torch.arange(encoder.max_tiles, device=pixel_values.device)[None, :] < layout_tiles[:, None]
        features, valid = self.vision_tower(pixel_values, aspect_ratio_ids, tile_valid)
        return self.projector(features), valid

    def merge_images(self, x: torch.Tensor, input_ids: torch.Tensor, step: Step, pixel_values=None,
                     image_features=None, aspect_ratio_ids=None) -> torch.Tensor:
        if pixel_values is None and image_features is None:
            return x
        if image_features is None:
            image_features = self.encode_images(pixel_values, aspect_ratio_ids)
        states, valid = image_features
        if states.shape[0] != input_ids.shape[0]:
            raise ValueError(f"{states.shape[0]} images for {input_ids.shape[0]} prompts; cross-attention takes "
                             "one image per batch row")
        is_image = input_ids == self.spec.vision.image_token_id
        first = is_image.int().argmax(dim=1)
        start = torch.where(is_image.any(dim=1), step.positions[0] + first, torch.full_like(first, -1))
        step.image = CrossImage(states.to(x.dtype), valid, start)
        return x
