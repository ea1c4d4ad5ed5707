"""The routed experts of a mixture of experts: num_experts MLPs of one shape, their
weights stacked [E, out, in] so that every expert is a slice of one tensor.

Dispatch groups tokens by expert: the (token, expert) assignments are sorted by expert,
and each expert that received tokens runs once on its contiguous slice -- a loop over the
experts in use, never over tokens. Decoding one token runs top_k small matmuls.
"""

from __future__ import annotations

import torch
from torch import nn

from ..spec import MLP as MLPSpec
from .mlp import ACTIVATIONS, check_activation, gated_activation


class RoutedExperts(nn.Module):
    # Stacked matrices that build.initialize draws like nn.Linear weights.
    matrices = ("gate_proj", "up_proj", "down_proj")

    def __init__(self, num_experts: int, spec: MLPSpec, d_model: int):
        super().__init__()
        check_activation(spec.activation, spec.gated)
        self.num_experts = num_experts
        self.gated = spec.gated
        self.activation = gated_activation(spec.activation) if spec.gated else ACTIVATIONS[spec.activation]
        width = spec.intermediate_size

        def stacked(*shape: int, wanted: bool = True) -> nn.Parameter | None:
            return nn.Parameter(torch.zeros(num_experts, *shape)) if wanted else None

        # Each expert's slice has nn.Linear's [out, in] layout.
        self.gate_proj = stacked(width, d_model, wanted=spec.gated)
        self.up_proj = stacked(width, d_model)
        self.down_proj = stacked(d_model, width)
        self.gate_bias = stacked(width, wanted=spec.gated and spec.bias)
        self.up_bias = stacked(width, wanted=spec.bias)
        self.down_bias = stacked(d_model, wanted=spec.bias)

    def expert(self, index: int, h: torch.Tensor) -> torch.Tensor:
        """Expert `index` applied to h [n, d]."""
        def project(weight, bias, inputs):
            out = inputs @ weight[index].t()
            return out if bias is None else out + bias[index]

        up = project(self.up_proj, self.up_bias, h)
        if self.gated:
            hidden = self.activation(project(self.gate_proj, self.gate_bias, h), up)
        else:
            hidden = self.activation(up)
        return project(self.down_proj, self.down_bias, hidden)

    def forward(self, tokens: torch.Tensor, indices: torch.Tensor, weights: torch.Tensor,
                tokens_per_expert: torch.Tensor, weight_inputs: bool = False) -> torch.Tensor:
        """Sum over each token's chosen experts of weight * expert(token), for tokens [N, d],
        indices and weights [N, top_k], tokens_per_expert [E] (the bincount of indices).
        weight_inputs (Llama 4): the weight scales the expert's input instead of its output."""
        top_k = indices.shape[1]
        flat = indices.reshape(-1)
        order = flat.argsort(stable=True)  # assignments grouped by expert, in expert order
        token_of = order // top_k  # assignment a belongs to token a // top_k
        routed = tokens[token_of]
        scale = weights.reshape(-1)[order].unsqueeze(-1).to(tokens.dtype)
        if weight_inputs:
            routed = routed * scale
        outputs = torch.empty_like(routed)
        # The one host read of the dispatch: slice bounds must be Python ints.
        start = 0
        for index, count in enumerate(tokens_per_expert.tolist()):
            if count:
                outputs[start:start + count] = self.expert(index, routed[start:start + count])
                start += count
        if not weight_inputs:
            outputs = outputs * scale
        return torch.zeros_like(tokens).index_add_(0, token_of, outputs)
