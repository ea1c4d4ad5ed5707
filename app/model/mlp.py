"""Feed-forward networks: GPT-2's GELU MLP, the gated SwiGLU / GeGLU of modern models, and
gpt-oss's clamped SwiGLU. The routed experts of app/model/moe.py use the same activations."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.ffn import MLP as MLPSpec
from .packing import PackedLinear, pack_linears, packed_or_none, store_input_major


def relu_squared(x: torch.Tensor) -> torch.Tensor:
    return torch.square(F.relu(x))


ACTIVATIONS = {
    "silu": F.silu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu2": relu_squared,
}

# gpt-oss's published constants: both halves are clamped at 7 to keep the experts' outputs
# bounded, and gate * sigmoid(1.702 gate) is the sigmoid approximation of GELU.
SWIGLU_OSS_LIMIT = 7.0
SWIGLU_OSS_ALPHA = 1.702


def swiglu_oss(gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """gpt-oss: (clamp(up) + 1) * g * sigmoid(1.702 g), with g = gate clamped above."""
    gate = gate.clamp(max=SWIGLU_OSS_LIMIT)
    up = up.clamp(-SWIGLU_OSS_LIMIT, SWIGLU_OSS_LIMIT)
    return (up + 1) * gate * torch.sigmoid(gate * SWIGLU_OSS_ALPHA)


def gated_activation(name: str, limit: float = 0.0):
    """act(gate) * up for a gated MLP; gpt-oss's activation combines the halves its own way.
    limit (DeepSeek V4's swiglu_limit): the gate clamped above, the up projection to
    [-limit, limit], before the product."""
    if name == "swiglu_oss":
        return swiglu_oss
    activation = ACTIVATIONS[name]
    if limit:
        return lambda gate, up: activation(gate.clamp(max=limit)) * up.clamp(-limit, limit)
    return lambda gate, up: activation(gate) * up


def gaussian_top_k_multiplier(sparsity: float) -> float:
    """Phi^-1(sparsity), the standard normal quantile, in float32 as Gemma 3n computes it:
    the cutoff sits that many standard deviations above each token's mean gate value."""
    value = torch.tensor(sparsity, dtype=torch.float32, device="cpu")  # also while building on "meta"
    return float(torch.erfinv(2 * value - 1) * math.sqrt(2))


def gaussian_top_k(gate: torch.Tensor, multiplier: float) -> torch.Tensor:
    """Keep the gate values above mean + multiplier * std (over each token's gate),
    shifted down by that cutoff: if the values were Gaussian, the top (1 - sparsity)."""
    mean = gate.mean(dim=-1, keepdim=True)
    std = gate.std(dim=-1, keepdim=True, correction=0)
    return F.relu(gate - (mean + std * torch.tensor(multiplier, dtype=gate.dtype)))


def check_activation(name: str, gated: bool) -> None:
    if name == "swiglu_oss" and not gated:
        raise ValueError("activation 'swiglu_oss' combines a gate and an up projection; it needs gated=True")


class MLP(nn.Module):
    def __init__(self, spec: MLPSpec, d_model: int):
        super().__init__()
        check_activation(spec.activation, spec.gated)
        self.activation = gated_activation(spec.activation, spec.swiglu_limit) if spec.gated \
            else ACTIVATIONS[spec.activation]
        self.gate_proj = nn.Linear(d_model, spec.intermediate_size, bias=spec.bias) if spec.gated else None
        self.up_proj = nn.Linear(d_model, spec.intermediate_size, bias=spec.bias)
        self.down_proj = nn.Linear(spec.intermediate_size, d_model, bias=spec.bias)
        self.gate_up: PackedLinear | None = None
        self.sparsity_multiplier = gaussian_top_k_multiplier(spec.activation_sparsity) \
            if spec.activation_sparsity else None

    def pack_for_decode(self) -> None:
        """Decode layout (app/model/packing.py): gate and up from one matmul."""
        if self.gate_proj is not None:
            self.gate_up = pack_linears([self.gate_proj, self.up_proj])
        else:
            store_input_major(self.up_proj)
        store_input_major(self.down_proj)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gate_proj is None:
            return self.down_proj(self.activation(self.up_proj(x)))
        gate_up = packed_or_none(self, "gate_up")
        gate, up = gate_up(x) if gate_up is not None else (self.gate_proj(x), self.up_proj(x))
        if self.sparsity_multiplier is not None:
            gate = gaussian_top_k(gate, self.sparsity_multiplier)
        return self.down_proj(self.activation(gate, up))
