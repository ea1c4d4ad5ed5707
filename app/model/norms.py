"""Normalization layers: RMSNorm (optionally (1 + w), Gemma and Qwen3-Next), LayerNorm,
and the weightless L2 norm of Llama 4's QK-norm."""

from __future__ import annotations

import torch
from torch import nn

from ..spec import Norm


class RMSNorm(nn.Module):
    def __init__(self, width: int, eps: float, unit_offset: bool = False):
        super().__init__()
        self.eps = eps
        self.unit_offset = unit_offset
        # With a unit offset the stored weight is a residual around 1, initialised at 0.
        self.weight = nn.Parameter(torch.zeros(width) if unit_offset else torch.ones(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalize in float32 whatever the model dtype: bf16 sums of squares lose too much.
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        scale = (1.0 + self.weight.float()) if self.unit_offset else self.weight.float()
        return (normed * scale).to(x.dtype)


class L2Norm(nn.Module):
    def __init__(self, eps: float):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


def make_norm(norm: Norm, width: int) -> nn.Module:
    if norm.kind == "layernorm":
        return nn.LayerNorm(width, eps=norm.eps, bias=norm.bias)
    if norm.kind == "l2":
        return L2Norm(norm.eps)
    return RMSNorm(width, norm.eps, norm.unit_offset)
