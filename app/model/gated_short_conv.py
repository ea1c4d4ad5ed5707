"""LFM2's gated short convolution (Liquid AI, "LFM2 Technical Report", 2025: the
double-gated LIV convolution block):

    B, C, x = in_proj(h)                      three parts of `channels` each
    y_t     = C_t * sum_i w[i] * (B * x)[t - kernel + 1 + i]
    out     = out_proj(y)

Both gates are input-dependent products, the convolution is depthwise and causal with a
few taps (LFM2: 3) and no activation. Between forwards it keeps only the convolution's
window, which app/model/short_conv.py holds and updates; so a decode step at any position
writes the same fixed-size state, and a replayable step needs nothing of the position.
"""

from __future__ import annotations

import torch
from torch import nn

from ..spec.mixers import GatedShortConv as GatedShortConvSpec
from .cache import RecurrentState
from .packing import store_input_major
from .short_conv import ShortConv


class GatedShortConv(nn.Module):
    def __init__(self, spec: GatedShortConvSpec, d_model: int):
        super().__init__()
        self.spec = spec
        # Names as LFM2's checkpoints have them (in_proj, conv, out_proj), so they load as they are.
        self.in_proj = nn.Linear(d_model, 3 * spec.channels, bias=spec.bias)
        self.conv = ShortConv(spec.channels, spec.kernel, bias=spec.bias, activation=None)
        self.out_proj = nn.Linear(spec.channels, d_model, bias=spec.bias)

    def pack_for_decode(self) -> None:
        store_input_major(self.in_proj)
        store_input_major(self.out_proj)

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype, device) -> RecurrentState:
        """The last `kernel` values of B * x per channel; it does not grow with the context."""
        return RecurrentState({"conv": (batch, self.spec.channels, self.spec.kernel)}, dtype, device)

    def forward(self, hidden: torch.Tensor, step=None, cache: RecurrentState | None = None) -> torch.Tensor:
        gate_in, gate_out, values = self.in_proj(hidden).chunk(3, dim=-1)  # B, C, x in that order
        convolved, window = self.conv(gate_in * values, cache["conv"] if cache is not None else None)
        if cache is not None:
            cache["conv"] = window
        return self.out_proj(gate_out * convolved)
