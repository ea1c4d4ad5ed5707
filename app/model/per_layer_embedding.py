"""Per-layer embeddings (Gemma 3n): every token also looks up a small vector per layer in
a second table, combined with a projection of its ordinary embedding; layer i gates its
slice with its own output and adds the result to the AltUp streams after the first.

The table is the bulk of the parameters (2 of E2B's 4.4 billion text ones) but is only
read one row per token, which is why it can live in host memory."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..spec.parts import Norm
from ..spec.on_device import PerLayerEmbedding as PerLayerEmbeddingSpec
from .mlp import ACTIVATIONS
from .norms import make_norm


class PerLayerEmbedding(nn.Module):
    """Token ids (and their scaled embeddings) -> per-layer inputs [B, T, layers, width]."""

    def __init__(self, spec: PerLayerEmbeddingSpec, d_model: int, num_layers: int, norm: Norm):
        super().__init__()
        self.width, self.num_layers, self.d_model = spec.width, num_layers, d_model
        self.vocab_size = spec.vocab_size
        self.table = nn.Embedding(spec.vocab_size, num_layers * spec.width)
        self.model_projection = nn.Linear(d_model, num_layers * spec.width, bias=False)
        self.projection_norm = make_norm(norm, spec.width)

    def keep_table_on(self, device: torch.device | str) -> None:
        """Move the table (and only it) to `device`, e.g. "cpu" while the model runs on a GPU;
        the run's device then holds the accelerator parameters alone."""
        self.table.to(device)

    def forward(self, input_ids: torch.Tensor, token_embeddings: torch.Tensor) -> torch.Tensor:
        dtype = token_embeddings.dtype
        shape = (*input_ids.shape, self.num_layers, self.width)
        # Ids past the table (Gemma 3n's image and audio tokens) read row 0, as its
        # multimodal model does.
        ids = torch.where(input_ids < self.vocab_size, input_ids, torch.zeros_like(input_ids))
        # The table may be kept in host memory, off the accelerator (keep_table_on): the
        # lookup runs where it is, and only the rows the tokens need travel.
        rows = self.table(ids.to(self.table.weight.device)).to(token_embeddings.device)
        looked_up = (rows * torch.tensor(math.sqrt(self.width), dtype=dtype)).reshape(shape)
        projected = self.model_projection(token_embeddings) * torch.tensor(self.d_model**-0.5, dtype=dtype)
        projected = self.projection_norm(projected.reshape(shape))
        return (projected + looked_up) * torch.tensor(2.0**-0.5, dtype=dtype)


class PerLayerInput(nn.Module):
    """One layer's use of its slice: act(gate(first stream)) * slice, projected back to
    the model width and normalized."""

    def __init__(self, d_model: int, width: int, activation: str, norm: Norm):
        super().__init__()
        self.activation = ACTIVATIONS[activation]
        self.gate = nn.Linear(d_model, width, bias=False)
        self.projection = nn.Linear(width, d_model, bias=False)
        self.norm = make_norm(norm, d_model)

    def forward(self, first_stream: torch.Tensor, layer_input: torch.Tensor) -> torch.Tensor:
        return self.norm(self.projection(self.activation(self.gate(first_stream)) * layer_input))
