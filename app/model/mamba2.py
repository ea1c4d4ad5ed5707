"""Mamba-2: the selective state-space mixer of Nemotron-H / Nemotron 3 (Dao & Gu, 2024,
"Transformers are SSMs", the state-space duality or SSD).

Each head h keeps a state S of head_dim x state_size values. A token t updates it with a
scalar decay and a rank-one write, and reads it with C:

    dt_t = softplus(dt_raw_t + dt_bias_h)           (at least dt_min)
    S_t  = exp(dt_t * A_h) * S_{t-1} + dt_t * x_t B_t^T
    y_t  = S_t C_t + D_h * x_t

x, B and C come from one input projection followed by a short causal depthwise
convolution and SiLU; B and C are shared by the heads of a group (like GQA's keys).
The output is normalized by a gated RMSNorm over num_groups groups of channels, then
projected back to d_model.

Two forms of one recurrence: `chunked_scan` (prefill: within a chunk the update is a
masked, decaying attention-like product; chunks are chained through the state) and
`recurrent_step` (decode: one token, one state update). They agree to float32 rounding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.mixers import Mamba2 as Mamba2Spec
from .cache import RecurrentState
from .short_conv import ShortConv

# --- the two forms of the scan ---------------------------------------------------------


def segment_sums(log_decay: torch.Tensor) -> torch.Tensor:
    """[..., L] -> [..., L, L]: entry (l, s) is the sum of log_decay over s < i <= l, the
    log of how much token s's write has decayed by token l; -inf above the diagonal (the
    future). Summed from masked copies rather than as a difference of two cumulative sums,
    which would cancel large numbers in long chunks."""
    length = log_decay.shape[-1]
    expanded = log_decay.unsqueeze(-1).expand(*log_decay.shape, length)  # [..., i, s] = a_i
    strictly_after = torch.ones(length, length, dtype=torch.bool, device=log_decay.device).tril(-1)
    sums = expanded.masked_fill(~strictly_after, 0.0).cumsum(dim=-2)
    causal = torch.ones(length, length, dtype=torch.bool, device=log_decay.device).tril()
    return sums.masked_fill(~causal, float("-inf"))


def chunked_scan(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                 state: torch.Tensor, chunk_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The SSD form, all in float32. x [b, T, H, P], dt [b, T, H] (after softplus), A [H]
    (negative), B and C [b, T, H, N] (already expanded from groups to heads), state
    [b, H, P, N] the state before the first token. Returns (y [b, T, H, P] without the D
    skip, the state after the last token).

    Inside a chunk, token l reads what token s <= l wrote, decayed by the product of the
    decays between them: y_l = sum_s exp(seg(l, s)) (C_l . B_s) dt_s x_s, an attention with
    a decaying causal mask; what came before the chunk arrives through the state,
    y_l += exp(cum_l) C_l S_0. The state then jumps over the whole chunk at once."""
    length = x.shape[1]
    outputs = []
    for start in range(0, length, chunk_size):
        end = min(start + chunk_size, length)
        xc, Bc, Cc = x[:, start:end], B[:, start:end], C[:, start:end]
        dtc = dt[:, start:end]  # [b, L, H]
        log_decay = (dtc * A).transpose(1, 2)  # [b, H, L]
        decay_since_start = log_decay.cumsum(dim=-1)  # [b, H, L]: log decay from the chunk start to l
        weighted_x = xc * dtc.unsqueeze(-1)  # dt_s x_s [b, L, H, P]

        # Within the chunk: scores C_l . B_s under the decaying causal mask.
        scores = torch.einsum("blhn,bshn->bhls", Cc, Bc) * torch.exp(segment_sums(log_decay))
        within = torch.einsum("bhls,bshp->blhp", scores, weighted_x)
        # From before the chunk: the entering state, decayed to each position.
        carried = torch.einsum("blhn,bhpn->blhp", Cc, state) * torch.exp(decay_since_start).transpose(1, 2)[..., None]
        outputs.append(within + carried)

        # The state after the chunk: the entering state decayed over all of it, plus each
        # token's write decayed from its position to the chunk's end.
        decay_to_end = torch.exp(decay_since_start[..., -1:] - decay_since_start)  # [b, H, L]
        writes = torch.einsum("bhs,bshp,bshn->bhpn", decay_to_end, weighted_x, Bc)
        state = state * torch.exp(decay_since_start[..., -1])[..., None, None] + writes
    return torch.cat(outputs, dim=1), state


def recurrent_step(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                   state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One token, in float32: x [b, H, P], dt [b, H], B and C [b, H, N], state [b, H, P, N].
    Returns (y [b, H, P] without the D skip, the new state)."""
    decay = torch.exp(dt * A)[..., None, None]  # [b, H, 1, 1]
    write = (dt[..., None] * x).unsqueeze(-1) @ B.unsqueeze(-2)  # dt x B^T [b, H, P, N], a rank-one product
    state = decay * state + write
    return torch.einsum("bhpn,bhn->bhp", state, C), state


# --- the output norm and the module ----------------------------------------------------


class GatedGroupRMSNorm(nn.Module):
    """RMSNorm of y * silu(z), taken separately over each of num_groups equal slices of
    the channels (so a group's scale does not depend on the other groups, which matters
    when groups are split across tensor-parallel devices)."""

    def __init__(self, width: int, num_groups: int, eps: float):
        super().__init__()
        self.num_groups = num_groups
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, y: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        gated = y.float() * F.silu(gate.float())
        groups = gated.unflatten(-1, (self.num_groups, -1))
        normed = groups * torch.rsqrt(groups.pow(2).mean(-1, keepdim=True) + self.eps)
        return (normed.flatten(-2) * self.weight.float()).to(y.dtype)


class Mamba2(nn.Module):
    def __init__(self, spec: Mamba2Spec, d_model: int):
        super().__init__()
        self.spec = spec
        heads, groups, state_size = spec.num_heads, spec.num_groups, spec.state_size
        self.inner = heads * spec.head_dim
        self.conv_width = self.inner + 2 * groups * state_size  # x, B and C pass through the conv
        # One projection gives the gate z, the conv's input (x, B, C) and dt, in that order.
        self.in_proj = nn.Linear(d_model, self.inner + self.conv_width + heads, bias=spec.proj_bias)
        self.conv = ShortConv(self.conv_width, spec.conv_kernel, bias=spec.conv_bias, activation="silu")
        # Per head: the continuous decay rate A = -exp(A_log), the time-step bias and the skip D.
        # Mamba's S4D-real initialization: A_h = -(h + 1); dt spread log-uniformly over
        # [0.001, 0.1] (here evenly, for reproducibility), stored as softplus^-1(dt).
        self.A_log = nn.Parameter(torch.log(torch.arange(1, heads + 1, dtype=torch.float32)))
        dt = torch.exp(torch.linspace(math.log(1e-3), math.log(1e-1), heads))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        self.D = nn.Parameter(torch.ones(heads))
        self.norm = GatedGroupRMSNorm(self.inner, groups, spec.norm_eps)
        self.out_proj = nn.Linear(self.inner, d_model, bias=spec.proj_bias)

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype, device) -> RecurrentState:
        """The conv window (the last conv_kernel inputs of each conv channel, as transformers
        and mamba_ssm keep it) and the SSM state; neither grows with the context."""
        spec = self.spec
        return RecurrentState({"conv": (batch, self.conv_width, spec.conv_kernel),
                               "ssm": (batch, spec.num_heads, spec.head_dim, spec.state_size)}, dtype, device)

    def forward(self, hidden: torch.Tensor, step=None, cache: RecurrentState | None = None) -> torch.Tensor:
        spec = self.spec
        batch, length, _ = hidden.shape
        heads, groups, state_size = spec.num_heads, spec.num_groups, spec.state_size
        gate, conv_input, dt_raw = self.in_proj(hidden).split([self.inner, self.conv_width, heads], dim=-1)

        conv_out, window = self.conv(conv_input, cache["conv"] if cache is not None else None)
        x, B, C = conv_out.float().split([self.inner, groups * state_size, groups * state_size], dim=-1)
        x = x.unflatten(-1, (heads, spec.head_dim))
        # Each group's B and C serve heads // groups consecutive heads.
        B = B.unflatten(-1, (groups, state_size)).repeat_interleave(heads // groups, dim=2)
        C = C.unflatten(-1, (groups, state_size)).repeat_interleave(heads // groups, dim=2)
        # The floor applies to both forms: transformers floors dt in its chunked scan only,
        # so its own decode can drift from its prefill; here the two forms stay one function.
        dt = F.softplus(dt_raw.float() + self.dt_bias.float()).clamp(min=spec.dt_min)
        A = -torch.exp(self.A_log.float())

        if cache is None:
            state = x.new_zeros(batch, heads, spec.head_dim, state_size)
        else:
            state = cache["ssm"].float()
        if cache is not None and length == 1:
            y, state = recurrent_step(x[:, 0], dt[:, 0], A, B[:, 0], C[:, 0], state)
            y = y.unsqueeze(1)
        else:
            y, state = chunked_scan(x, dt, A, B, C, state, spec.chunk_size)
        if cache is not None:
            cache["conv"] = window
            cache["ssm"] = state

        y = y + self.D.float()[:, None] * x  # the skip connection around the scan
        y = self.norm(y.flatten(-2), gate)
        return self.out_proj(y.to(hidden.dtype))
