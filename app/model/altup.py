"""AltUp (Baykal et al., 2023), as Gemma 3n uses it: the residual is carried as several
streams [N, B, T, d]. Each layer computes on the first; before, it predicts every stream
as a token-dependent mix of all of them; after, it corrects each by the innovation (what
the layer's output changed in the first stream), scaled per stream. The mixing weights
come from a small router over the first stream."""

from __future__ import annotations

import torch
from torch import nn

from ..spec.parts import Norm
from ..spec.on_device import AltUp as AltUpSpec
from .norms import make_norm

MAGNITUDE_FLOOR = 1e-5  # Gemma 3n's epsilon when matching the extra streams' RMS to the first


def matched_magnitude(x: torch.Tensor, target_rms: torch.Tensor) -> torch.Tensor:
    """x rescaled so that each token's RMS equals target_rms."""
    mean_square = torch.mean(x**2, dim=-1, keepdim=True)
    return x * target_rms / torch.sqrt(torch.clamp(mean_square, min=MAGNITUDE_FLOOR))


class AltUpStreams(nn.Module):
    """The model-level ends: one embedding becomes N streams (the first as is, the others
    projected, at the first's magnitude), and N streams become one again (their mean,
    after projecting the others back)."""

    def __init__(self, num_inputs: int, d_model: int):
        super().__init__()
        self.projections = nn.ModuleList(nn.Linear(d_model, d_model, bias=False) for _ in range(num_inputs - 1))
        self.unembed_projections = nn.ModuleList(nn.Linear(d_model, d_model, bias=False)
                                                 for _ in range(num_inputs - 1))

    def spread(self, x: torch.Tensor) -> torch.Tensor:
        target = torch.mean(x**2, dim=-1, keepdim=True) ** 0.5
        return torch.stack([x] + [matched_magnitude(project(x), target) for project in self.projections])

    def merge(self, streams: torch.Tensor) -> torch.Tensor:
        target = torch.mean(streams[0] ** 2, dim=-1, keepdim=True) ** 0.5
        back = [matched_magnitude(project(stream), target)
                for project, stream in zip(self.unembed_projections, streams[1:])]
        return torch.stack([streams[0]] + back).mean(dim=0)


class AltUp(nn.Module):
    """One layer's predict and correct steps."""

    def __init__(self, spec: AltUpSpec, d_model: int, norm: Norm):
        super().__init__()
        n = spec.num_inputs
        self.num_inputs = n
        self.correct_scale = spec.correct_scale
        self.router_scale = 1.0 / d_model  # keeps the router's tanh out of saturation
        self.correct_output_scale = nn.Parameter(torch.zeros(d_model))
        self.correction_coefs = nn.Linear(n, n, bias=False)
        self.prediction_coefs = nn.Linear(n, n * n, bias=False)
        self.modality_router = nn.Linear(d_model, n, bias=False)
        self.router_norm = make_norm(norm, d_model)

    def _route(self, x: torch.Tensor) -> torch.Tensor:
        scale = torch.tensor(self.router_scale, dtype=x.dtype)
        routed = self.modality_router(self.router_norm(x) * scale)
        return torch.tanh(routed.float()).to(x.dtype)

    def predict(self, streams: torch.Tensor) -> torch.Tensor:
        """Each stream plus a mix of all of them: p_a = x_a + sum_j c[a, j] x_j, with the
        coefficients c [B, T, N, N] read off the first stream."""
        routes = self._route(streams[0])
        coefs = self.prediction_coefs(routes).view(*routes.shape[:-1], self.num_inputs, self.num_inputs)
        mixed = torch.matmul(streams.permute(1, 2, 3, 0), coefs.transpose(-1, -2)).permute(3, 0, 1, 2)
        return (mixed + streams).to(streams.dtype)

    def correct(self, predictions: torch.Tensor, computed: torch.Tensor) -> torch.Tensor:
        """Every stream moved by the layer's innovation on the first, scaled per stream."""
        weights = self.correction_coefs(self._route(computed)) + 1.0  # [B, T, N]
        innovation = computed - predictions[0]
        return (innovation.unsqueeze(0) * weights.permute(2, 0, 1).unsqueeze(-1) + predictions).to(computed.dtype)

    def scaled_first(self, corrected: torch.Tensor) -> torch.Tensor:
        """The corrected first stream as it gates the per-layer input."""
        first = corrected[0]
        if not self.correct_scale:
            return first
        return (first.to(self.correct_output_scale.dtype) * self.correct_output_scale).to(first.dtype)
