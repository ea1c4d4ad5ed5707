"""LAuReL, the learned augmented residual of Gemma 3n (Menghani et al., 2024): a rank-r
bottleneck whose normalized output is added to its own input, then averaged with the
attention's residual sum in the decoder block."""

from __future__ import annotations

import torch
from torch import nn

from ..spec.parts import Norm
from .norms import make_norm


class Laurel(nn.Module):
    def __init__(self, d_model: int, rank: int, norm: Norm):
        super().__init__()
        self.linear_left = nn.Linear(d_model, rank, bias=False)
        self.linear_right = nn.Linear(rank, d_model, bias=False)
        self.post_laurel_norm = make_norm(norm, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.post_laurel_norm(self.linear_right(self.linear_left(x)))
