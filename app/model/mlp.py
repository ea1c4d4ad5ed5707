"""Feed-forward networks: GPT-2's GELU MLP, and the gated SwiGLU / GeGLU of modern models."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..spec import MLP as MLPSpec


def relu_squared(x: torch.Tensor) -> torch.Tensor:
    return torch.square(F.relu(x))


ACTIVATIONS = {
    "silu": F.silu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu2": relu_squared,
}


class MLP(nn.Module):
    def __init__(self, spec: MLPSpec, d_model: int):
        super().__init__()
        if spec.activation not in ACTIVATIONS:
            raise NotImplementedError(f"activation {spec.activation!r} is built with the MoE experts")
        self.activation = ACTIVATIONS[spec.activation]
        self.gate_proj = nn.Linear(d_model, spec.intermediate_size, bias=spec.bias) if spec.gated else None
        self.up_proj = nn.Linear(d_model, spec.intermediate_size, bias=spec.bias)
        self.down_proj = nn.Linear(spec.intermediate_size, d_model, bias=spec.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gate_proj is None:
            return self.down_proj(self.activation(self.up_proj(x)))
        return self.down_proj(self.activation(self.gate_proj(x)) * self.up_proj(x))
