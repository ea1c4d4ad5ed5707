"""Llama 3.2 Vision's image encoder (transformers' MllamaVisionModel): an image arrives as
up to max_tiles tiles; each tile's patches get a class token, learned positions and
per-tile embeddings chosen by the image's aspect-ratio layout; all tiles of an image pass
together through a ViT, then a second stack of gated "global" layers. The output is the
last layer's features with those of a few intermediate layers beside them.

Pixels [images, tiles, C, H, W] + layout ids [images] -> features [images, tiles * tokens, width]
and which of them belong to real tiles [images, tiles * tokens].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.vision import VisionEncoder as VisionEncoderSpec
from .norms import make_norm
from .vision_encoder import EncoderLayer

SEQUENCE_MULTIPLE = 8  # each tile's tokens are zero-padded to a multiple of 8, as the reference does


class TileEmbedding(nn.Module):
    """A gated embedding per tile, looked up by the aspect-ratio layout id (0: no image)."""

    def __init__(self, spec: VisionEncoderSpec, tokens: int):
        super().__init__()
        self.spec, self.tokens = spec, tokens
        self.embedding = nn.Embedding(spec.aspect_ratios + 1, spec.max_tiles * tokens * spec.d_model)
        self.gate = nn.Parameter(torch.zeros(1))

    def forward(self, layout_ids: torch.Tensor) -> torch.Tensor:
        table = self.embedding(layout_ids).view(-1, self.spec.max_tiles, self.tokens, self.spec.d_model)
        return self.gate.tanh() * table


class TiledVisionEncoder(nn.Module):
    def __init__(self, spec: VisionEncoderSpec):
        super().__init__()
        self.spec = spec
        d = spec.d_model
        self.patch_embedding = nn.Conv2d(spec.num_channels, d, kernel_size=spec.patch_size, stride=spec.patch_size,
                                         bias=spec.patch_bias)
        self.patch_embedding.matrices = ("weight",)  # random init draws it like a linear layer's
        self.class_embedding = nn.Parameter(torch.zeros(d))
        self.position_embedding = nn.Parameter(torch.zeros(spec.tokens_per_tile, d))
        self.matrices = ("class_embedding", "position_embedding")
        self.tile_positions = TileEmbedding(spec, spec.tokens_per_tile)  # its gate also fades the plain positions
        self.pre_tile = TileEmbedding(spec, 1)
        self.post_tile = TileEmbedding(spec, 1)
        self.pre_norm = make_norm(spec.norm, d)
        self.post_norm = make_norm(spec.norm, d)
        self.layers = nn.ModuleList(EncoderLayer(spec) for _ in range(spec.num_layers))
        self.global_layers = nn.ModuleList(EncoderLayer(spec, gated=True) for _ in range(spec.num_global_layers))

    def forward(self, pixels: torch.Tensor, layout_ids: torch.Tensor, tile_valid: torch.Tensor):
        """pixels [images, tiles, C, H, W]; tile_valid [images, tiles] (False: a padding tile)."""
        spec = self.spec
        images, tiles = pixels.shape[:2]
        size = spec.image_size
        if tiles != spec.max_tiles or pixels.shape[2:] != (spec.num_channels, size, size):
            raise ValueError(f"pixel values have shape {list(pixels.shape)}, expected [images, {spec.max_tiles}, "
                             f"{spec.num_channels}, {size}, {size}]")
        d = spec.d_model
        x = self.patch_embedding(pixels.flatten(0, 1).to(self.patch_embedding.weight.dtype))
        x = x.flatten(2).transpose(1, 2).reshape(images, tiles, -1, d)
        x = x + self.pre_tile(layout_ids)
        x = torch.cat((self.class_embedding.expand(images, tiles, 1, d), x), dim=2)
        gate = self.tile_positions.gate.tanh()
        x = x + (1 - gate) * self.position_embedding + self.tile_positions(layout_ids)
        x = self.pre_norm(x)
        tokens = x.shape[2]
        padding = (SEQUENCE_MULTIPLE - tokens % SEQUENCE_MULTIPLE) % SEQUENCE_MULTIPLE
        x = F.pad(x, (0, 0, 0, padding))
        padded = tokens + padding
        # The reference masks only pairs of two padding tokens (padding patches or tiles):
        # real tokens still attend to padding, and padding to real tokens.
        real = tile_valid[:, :, None] & (torch.arange(padded, device=x.device) < tokens)
        real = real.reshape(images, 1, tiles * padded)
        mask = (real[..., :, None] | real[..., None, :])  # [images, 1, N, N]
        x = x.reshape(images, tiles * padded, d)
        kept = []
        for index, layer in enumerate(self.layers):
            x = layer(x, mask)
            if index in spec.intermediate_layers:
                kept.append(x)
        x = self.post_norm(x).reshape(images, tiles, padded, d)
        x = (x + self.post_tile(layout_ids)).reshape(images, tiles * padded, d)
        for layer in self.global_layers:
            x = layer(x, mask)
        intermediate = self._in_order(kept)
        x = x.reshape(images, tiles, padded, d)[:, :, :tokens]
        if intermediate:
            # stacked on a last axis and flattened: each channel's intermediate values side by side
            stacked = torch.stack(intermediate, dim=-1).reshape(images, tiles, padded, -1)[:, :, :tokens]
            x = torch.cat((x, stacked), dim=-1)
        valid = tile_valid[:, :, None].expand(images, tiles, tokens).reshape(images, tiles * tokens)
        return x.reshape(images, tiles * tokens, -1), valid

    def _in_order(self, kept: list[torch.Tensor]) -> list[torch.Tensor]:
        """The intermediate outputs in the order the spec lists them (repeats allowed)."""
        recorded = sorted(set(self.spec.intermediate_layers))
        return [kept[recorded.index(index)] for index in self.spec.intermediate_layers]
