"""The short causal depthwise convolution that linear-attention and state-space mixers put
before their recurrence (Gated DeltaNet, Kimi Delta Attention, Mamba-2): each channel
mixes its last `kernel` inputs, y_t = act(b + sum_i w[i] * x[t - kernel + 1 + i]).

Its state between forwards is the last `kernel` inputs of each channel, [B, C, kernel],
oldest first, zeros before the first token. Only kernel - 1 of them are read by the next
token, but transformers, mamba_ssm and fla all cache the full kernel width, and so does
this module: the memory it reports is the memory those caches hold (and what
app/spec/analysis.state_values counts).

Usage, for a mixer that owns one:

    conv = ShortConv(channels, kernel, bias=False, activation="silu")
    y, new_state = conv(x, state)      # x [B, T, C]; state [B, C, kernel] or None (zeros)

T > 1 is a prefill continuing from `state`; T == 1 is the one-token decode step. The
caller stores `new_state` (e.g. `cache["conv"] = new_state`, which copies in place).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CONV_ACTIVATIONS = {"silu": F.silu, None: lambda x: x}


class ShortConv(nn.Module):
    # A raw weight, not an nn.Linear: build.initialize draws it from this list.
    matrices = ("weight",)

    def __init__(self, channels: int, kernel: int, bias: bool = False, activation: str | None = "silu"):
        super().__init__()
        if activation not in CONV_ACTIVATIONS:
            raise ValueError(f"short conv activation {activation!r}: expected one of "
                             f"{', '.join(str(name) for name in CONV_ACTIVATIONS)}")
        self.channels, self.kernel = channels, kernel
        self.activation = CONV_ACTIVATIONS[activation]
        # nn.Conv1d's depthwise layout [C, 1, kernel], so checkpoints load as they are.
        self.weight = nn.Parameter(torch.zeros(channels, 1, kernel))
        self.bias = nn.Parameter(torch.zeros(channels)) if bias else None

    def empty_state(self, batch: int, dtype: torch.dtype, device) -> torch.Tensor:
        return torch.zeros(batch, self.channels, self.kernel, dtype=dtype, device=device)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """y [B, T, C] and the new state [B, C, kernel]: the last `kernel` inputs."""
        batch, length, _ = x.shape
        if state is None:
            state = self.empty_state(batch, x.dtype, x.device)
        # The cached inputs followed by the new ones: every output sees a full window.
        window = torch.cat((state.to(x.dtype), x.transpose(1, 2)), dim=2)  # [B, C, kernel + T]
        if length == 1:
            # Decode: one window, a multiply-add per channel (no convolution call).
            y = (window[:, :, 1:] * self.weight[:, 0]).sum(-1, keepdim=True)
            if self.bias is not None:
                y = y + self.bias[:, None]
        else:
            # kernel + T inputs give T + 1 full windows; the first ends on the last cached
            # input, whose output the previous forward already produced.
            y = F.conv1d(window, self.weight, self.bias, groups=self.channels)[:, :, 1:]
        return self.activation(y).transpose(1, 2), window[:, :, -self.kernel:]
