"""Normalization layers: RMSNorm (optionally (1 + w), Gemma and Qwen3-Next), LayerNorm,
and the weightless L2 norm of Llama 4's QK-norm; and ZAYA1's learned residual scaling, which
scales what the norms leave."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.parts import Norm


class RMSNorm(nn.Module):
    def __init__(self, width: int, eps: float, unit_offset: bool = False):
        super().__init__()
        self.eps = eps
        self.unit_offset = unit_offset
        # With a unit offset the stored weight is a residual around 1, initialised at 0.
        self.weight = nn.Parameter(torch.zeros(width) if unit_offset else torch.ones(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalize in float32 whatever the model dtype: bf16 sums of squares lose too much.
        # F.rms_norm: x * rsqrt(mean(x^2) + eps) * scale, the same arithmetic in fewer
        # dispatches than written out (a decode step runs two to six norms per layer).
        scale = self.weight.float()
        if self.unit_offset:
            scale = scale + 1.0
        if x.dtype == torch.float32:
            return F.rms_norm(x, scale.shape, scale, self.eps)
        return F.rms_norm(x.float(), scale.shape, scale, self.eps).to(x.dtype)


class L2Norm(nn.Module):
    def __init__(self, eps: float):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x.float(), x.shape[-1:], None, self.eps).to(x.dtype)


class ResidualScaling(nn.Module):
    """ZAYA1's residual sum: (out + out_bias) * out_scale + (x + residual_bias) * residual_scale,
    each a learned vector, starting as the plain sum x + out."""

    def __init__(self, width: int):
        super().__init__()
        self.out_scale = nn.Parameter(torch.ones(width))
        self.out_bias = nn.Parameter(torch.zeros(width))
        self.residual_scale = nn.Parameter(torch.ones(width))
        self.residual_bias = nn.Parameter(torch.zeros(width))

    def forward(self, out: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return (out + self.out_bias) * self.out_scale + (residual + self.residual_bias) * self.residual_scale


def make_norm(norm: Norm, width: int) -> nn.Module:
    if norm.kind == "layernorm":
        return nn.LayerNorm(width, eps=norm.eps, bias=norm.bias)
    if norm.kind == "l2":
        return L2Norm(norm.eps)
    return RMSNorm(width, norm.eps, norm.unit_offset)
