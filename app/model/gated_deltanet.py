"""Gated DeltaNet (Yang, Kautz & Hatamizadeh, 2024), the linear-attention mixer of
Qwen3-Next: each value head keeps a key_dim x value_dim memory S, and every token

    S <- exp(g_t) S                              (decay: forget a little, everywhere)
    u_t = beta_t (v_t - S^T k_t)                 (delta rule: only what S mispredicts)
    S <- S + k_t u_t^T                           (write the correction at key k_t)
    o_t = S^T q_t                                (read with the query)

q, k and v come from a linear projection and a short causal convolution; q and k are
L2-normalized (q also scaled by 1/sqrt(key_dim)); beta = sigmoid(linear) is the write
strength, g = -exp(A_log) softplus(linear + dt_bias) the log-decay, as in Mamba-2. The
output of each head is RMS-normalized and gated by silu(z), z another projection.

Two forms of the same recurrence: `recurrent_delta_rule`, token by token (decode), and
`chunked_delta_rule`, which solves a chunk of tokens at once with a triangular system
(the WY / UT form of DeltaNet) and carries S from chunk to chunk (prefill). The cache is
constant-size: S per head and the convolution's last inputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.mixers import GatedDeltaNet as GatedDeltaNetSpec
from .cache import RecurrentState
from .short_conv import ShortConv
from .step import Step

CHUNK_SIZE = 64  # tokens per chunk of the prefill, as fla's kernels and transformers use
L2_EPS = 1e-6  # fla's epsilon inside the L2 norm of q and k: x / sqrt(sum x^2 + eps)


def l2_normalize(x: torch.Tensor) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).sum(-1, keepdim=True) + L2_EPS)


def recurrent_delta_rule(q, k, v, log_decay, beta, state):
    """The recurrence token by token. q, k [B, H, T, dk]; v [B, H, T, dv]; log_decay,
    beta [B, H, T]; state [B, H, dk, dv]. Returns (outputs [B, H, T, dv], final state)."""
    # Batched products rather than broadcast-and-sum: no state-sized temporaries to write
    # and read back (a step is bound by moving the state), and as fast at explore scale.
    outputs = []
    for t in range(q.shape[2]):
        key = k[:, :, t:t + 1]  # [B, H, 1, dk]
        state = state * log_decay[:, :, t, None, None].exp()
        predicted = key @ state  # S^T k, [B, H, 1, dv]
        correction = beta[:, :, t, None, None] * (v[:, :, t:t + 1] - predicted)
        state = state + key.transpose(-1, -2) @ correction  # + k (rank one) correction^T
        outputs.append(q[:, :, t:t + 1] @ state)  # S^T q
    return torch.cat(outputs, dim=2), state


def chunked_delta_rule(q, k, v, log_decay, beta, state, chunk_size: int = CHUNK_SIZE):
    """The same recurrence, a chunk of C tokens at a time. Within a chunk, with gamma_i
    the cumulative log-decay from the chunk's start and S0 the state before it, the
    corrections u_i of the delta rule satisfy a unit lower-triangular system

        u_i + sum_{j<i} beta_i e^(gamma_i - gamma_j) (k_i . k_j) u_j = beta_i (v_i - e^gamma_i S0^T k_i)

    so one triangular solve gives them all; then
        o_i = e^gamma_i S0^T q_i + sum_{j<=i} e^(gamma_i - gamma_j) (q_i . k_j) u_j
        S   = e^gamma_C S0 + sum_j e^(gamma_C - gamma_j) k_j u_j^T.
    Same shapes as recurrent_delta_rule."""
    batch, heads, length, key_dim = k.shape
    chunk_size = min(chunk_size, length)  # a short prefill is one chunk of its own length
    # Pad to whole chunks: a padded token has k = v = 0, beta = 0 and no decay, so it
    # neither reads, writes nor fades the state.
    pad = -length % chunk_size
    q, k, v = (F.pad(x, (0, 0, 0, pad)) for x in (q, k, v))
    log_decay, beta = (F.pad(x, (0, pad)) for x in (log_decay, beta))
    chunks = (length + pad) // chunk_size

    def by_chunk(x):  # [B, H, T, ...] -> [B, H, N, C, ...]
        return x.reshape(batch, heads, chunks, chunk_size, *x.shape[3:])

    q, k, v, log_decay, beta = map(by_chunk, (q, k, v, log_decay, beta))
    gamma = log_decay.cumsum(-1)  # [B, H, N, C]
    causal = torch.ones(chunk_size, chunk_size, dtype=torch.bool, device=q.device).tril()
    # e^(gamma_i - gamma_j) for j <= i, 0 above the diagonal (masked before exp: no overflow)
    decay_between = (gamma[..., :, None] - gamma[..., None, :]).masked_fill(~causal, float("-inf")).exp()

    # Everything that does not depend on S0, for all chunks at once.
    k_beta = k * beta[..., None]
    # The system's strictly lower part; its unit diagonal is implied (unitriangular).
    system = (k_beta @ k.transpose(-1, -2)) * decay_between

    def solve(rhs):
        return torch.linalg.solve_triangular(system, rhs, upper=False, unitriangular=True)

    corrections_from_values = solve(v * beta[..., None])  # u when S0 = 0
    corrections_per_state = solve(k_beta * gamma.exp()[..., None])  # how S0 enters u: u -= this @ S0
    scores = (q @ k.transpose(-1, -2)) * decay_between
    q_decayed = q * gamma.exp()[..., None]
    k_to_end = k * (gamma[..., -1:] - gamma).exp()[..., None]  # each key's decay to the chunk's end
    chunk_decay = gamma[..., -1].exp()[..., None, None]

    # The chunks in order: each reads and updates the state the previous one left.
    outputs = []
    for n in range(chunks):
        corrections = corrections_from_values[:, :, n] - corrections_per_state[:, :, n] @ state
        outputs.append(q_decayed[:, :, n] @ state + scores[:, :, n] @ corrections)
        state = state * chunk_decay[:, :, n] + k_to_end[:, :, n].transpose(-1, -2) @ corrections
    out = torch.cat(outputs, dim=2)[:, :, :length]
    return out, state


class GatedRMSNorm(nn.Module):
    """RMSNorm over each head's output, then times silu(gate): the output gate of Gated
    DeltaNet (normalize first, gate second, as fla and Qwen3-Next do)."""

    def __init__(self, width: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))

    def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return (self.weight.float() * normed * F.silu(gate.float())).to(x.dtype)


class GatedDeltaNet(nn.Module):
    def __init__(self, spec: GatedDeltaNetSpec, d_model: int):
        super().__init__()
        self.spec = spec
        self.key_width = spec.num_key_heads * spec.key_head_dim
        self.value_width = spec.num_value_heads * spec.value_head_dim
        conv_width = 2 * self.key_width + self.value_width
        heads = spec.num_value_heads
        self.qkv_proj = nn.Linear(d_model, conv_width, bias=False)  # [q | k | v], the conv's channels
        self.output_gate_proj = nn.Linear(d_model, self.value_width, bias=False)  # z
        self.beta_proj = nn.Linear(d_model, heads, bias=False)
        self.decay_proj = nn.Linear(d_model, heads, bias=False)  # a, the decay's input
        self.conv = ShortConv(conv_width, spec.conv_kernel, bias=False, activation="silu")
        # Each head's decay rate A (stored as log A) and the bias of its softplus: the
        # initial values transformers uses (dt_bias 1; A spread over its 0..16 range),
        # fixed rather than drawn so that build_model is reproducible on any device.
        self.A_log = nn.Parameter(torch.linspace(1.0, 16.0, heads).log())
        self.dt_bias = nn.Parameter(torch.ones(heads))
        self.norm = GatedRMSNorm(spec.value_head_dim, spec.norm_eps)
        self.out_proj = nn.Linear(self.value_width, d_model, bias=False)
        self.chunk_size = CHUNK_SIZE

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype, device) -> RecurrentState:
        spec = self.spec
        return RecurrentState({
            "conv": (batch, self.conv.channels, spec.conv_kernel),
            "recurrent": (batch, spec.num_value_heads, spec.key_head_dim, spec.value_head_dim),
        }, dtype, device)

    def forward(self, x: torch.Tensor, step: Step, cache: RecurrentState | None = None) -> torch.Tensor:
        spec = self.spec
        batch, length, _ = x.shape
        heads, key_dim, value_dim = spec.num_value_heads, spec.key_head_dim, spec.value_head_dim

        mixed, conv_state = self.conv(self.qkv_proj(x), cache["conv"] if cache is not None else None)
        q, k, v = mixed.split([self.key_width, self.key_width, self.value_width], dim=-1)

        def heads_first(t: torch.Tensor, count: int, dim: int) -> torch.Tensor:  # [B, T, n*d] -> [B, n, T, d] f32
            return t.reshape(batch, length, count, dim).transpose(1, 2).float()

        q = l2_normalize(heads_first(q, spec.num_key_heads, key_dim)) * key_dim**-0.5
        k = l2_normalize(heads_first(k, spec.num_key_heads, key_dim))
        v = heads_first(v, heads, value_dim)
        # Value heads share key heads in groups, as query heads share KV heads in GQA.
        group = heads // spec.num_key_heads
        if group > 1:
            q, k = q.repeat_interleave(group, dim=1), k.repeat_interleave(group, dim=1)
        beta = torch.sigmoid(self.beta_proj(x).float()).transpose(1, 2)  # [B, H, T]
        rate = F.softplus(self.decay_proj(x).float() + self.dt_bias.float())
        log_decay = (-self.A_log.float().exp() * rate).transpose(1, 2)  # <= 0

        if cache is None:
            state = x.new_zeros(batch, heads, key_dim, value_dim, dtype=torch.float32)
        else:
            state = cache["recurrent"].float()
        if cache is not None and length == 1:
            out, state = recurrent_delta_rule(q, k, v, log_decay, beta, state)
        else:
            out, state = chunked_delta_rule(q, k, v, log_decay, beta, state, self.chunk_size)
        if cache is not None:
            cache["conv"] = conv_state
            cache["recurrent"] = state

        gate = self.output_gate_proj(x).view(batch, length, heads, value_dim)
        out = self.norm(out.transpose(1, 2).to(x.dtype), gate)
        return self.out_proj(out.reshape(batch, length, self.value_width))
