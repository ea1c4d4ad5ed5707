"""A ViT image encoder (SigLIP, as in Gemma 3): patches embedded by a strided conv, a
learned position per patch, pre-norm transformer layers whose attention sees every patch,
and a final LayerNorm. Pixels [images, channels, H, W] -> features [images, patches, d]."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.vision import VisionEncoder as VisionEncoderSpec
from .mlp import ACTIVATIONS
from .norms import make_norm


class PatchEmbedding(nn.Module):
    def __init__(self, spec: VisionEncoderSpec):
        super().__init__()
        self.spec = spec
        self.patch_embedding = nn.Conv2d(spec.num_channels, spec.d_model, kernel_size=spec.patch_size,
                                         stride=spec.patch_size, bias=spec.patch_bias)
        self.patch_embedding.matrices = ("weight",)  # random init draws it like a linear layer's
        self.position_embedding = nn.Embedding(spec.num_patches, spec.d_model)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        size = self.spec.image_size
        if pixels.dim() != 4 or pixels.shape[1:] != (self.spec.num_channels, size, size):
            raise ValueError(f"pixel values have shape {list(pixels.shape)}, expected [images, "
                             f"{self.spec.num_channels}, {size}, {size}]")
        patches = self.patch_embedding(pixels.to(self.patch_embedding.weight.dtype))
        patches = patches.flatten(2).transpose(1, 2)  # [images, patches, d], row by row
        return patches + self.position_embedding.weight


class EncoderAttention(nn.Module):
    """Multi-head attention without a mask: every patch sees every other."""

    def __init__(self, spec: VisionEncoderSpec):
        super().__init__()
        self.num_heads, self.head_dim = spec.num_heads, spec.head_dim
        d, bias = spec.d_model, spec.attention_bias
        self.q_proj = nn.Linear(d, d, bias=bias)
        self.k_proj = nn.Linear(d, d, bias=bias)
        self.v_proj = nn.Linear(d, d, bias=bias)
        self.out_proj = nn.Linear(d, d, bias=bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        images, patches, width = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(images, patches, self.num_heads, self.head_dim).transpose(1, 2)

        out = F.scaled_dot_product_attention(heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x)),
                                             attn_mask=mask)
        return self.out_proj(out.transpose(1, 2).reshape(images, patches, width))


class EncoderMLP(nn.Module):
    def __init__(self, spec: VisionEncoderSpec):
        super().__init__()
        self.activation = ACTIVATIONS[spec.activation]
        self.fc1 = nn.Linear(spec.d_model, spec.intermediate_size)
        self.fc2 = nn.Linear(spec.intermediate_size, spec.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.activation(self.fc1(x)))


class EncoderLayer(nn.Module):
    """Pre-norm residual block. gated (mllama's global layers): each sublayer's output is
    scaled by tanh of a learned scalar (initialised at pi / 4, as the reference does)."""

    def __init__(self, spec: VisionEncoderSpec, gated: bool = False):
        super().__init__()
        self.layer_norm1 = make_norm(spec.norm, spec.d_model)
        self.self_attn = EncoderAttention(spec)
        self.layer_norm2 = make_norm(spec.norm, spec.d_model)
        self.mlp = EncoderMLP(spec)
        self.gate_attn = nn.Parameter(torch.full((1,), math.pi / 4)) if gated else None
        self.gate_ffn = nn.Parameter(torch.full((1,), math.pi / 4)) if gated else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        attended = self.self_attn(self.layer_norm1(x), mask)
        x = x + (attended if self.gate_attn is None else self.gate_attn.tanh() * attended)
        transformed = self.mlp(self.layer_norm2(x))
        return x + (transformed if self.gate_ffn is None else self.gate_ffn.tanh() * transformed)


class VisionEncoder(nn.Module):
    def __init__(self, spec: VisionEncoderSpec):
        super().__init__()
        self.spec = spec
        self.embeddings = PatchEmbedding(spec)
        self.layers = nn.ModuleList(EncoderLayer(spec) for _ in range(spec.num_layers))
        self.post_layernorm = make_norm(spec.norm, spec.d_model) if spec.post_norm else None

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(pixels)
        for layer in self.layers:
            x = layer(x)
        return self.post_layernorm(x) if self.post_layernorm is not None else x
