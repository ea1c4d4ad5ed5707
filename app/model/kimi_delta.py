"""Kimi Delta Attention (KDA; Kimi Linear, Moonshot AI 2025): a gated delta rule whose
forget gate decays every key channel at its own rate, where Gated DeltaNet decays a
whole head by one scalar.

Each head keeps a fast-weight memory S [key_dim, value_dim]. For every token t:

    S <- diag(a_t) S                          forget, channel by channel (a_t in (0, 1)^key_dim)
    S <- S + beta_t k_t (v_t - S^T k_t)^T     the delta rule: write the error of S's own recall
    o_t = S^T q_t

q, k and v come from linear projections through a short causal convolution and SiLU;
q and k are L2-normalized per head (q also scaled by 1/sqrt(key_dim)). The log-decay
log a_t = -exp(A_log[head]) * softplus(W_up W_down x_t + dt_bias) is low rank;
beta_t = sigmoid(W_beta x_t) is one scalar per head. The output is RMS-normalized per
head, gated by sigmoid(low-rank W_up W_down x_t), and projected back to d_model.

Two forms compute the same thing: `delta_rule_chunked` (a prefill: within a chunk the
recurrence is solved as one triangular system, chunk to chunk the state is carried) and
`delta_rule_recurrent` (a decode step, or a reference).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.mixers import KimiDeltaAttention as KDASpec
from .cache import RecurrentState
from .norms import RMSNorm
from .short_conv import ShortConv
from .step import Step

# Tokens per chunk of the chunked form: FLA's kernels (and transformers' fallback) use 64.
# Any size gives the same result; a larger chunk trades the sequential loop for bigger
# [chunk, chunk, key_dim] decay tensors.
CHUNK_SIZE = 64
# FLA's L2 norm divides by sqrt(sum of squares + eps), not max(norm, eps).
L2_NORM_EPS = 1e-6


def l2_normalize(x: torch.Tensor) -> torch.Tensor:
    return x / torch.sqrt(x.pow(2).sum(-1, keepdim=True) + L2_NORM_EPS)


def delta_rule_recurrent(q, k, v, log_decay, beta, state):
    """One token at a time. q, k, log_decay [B, H, T, K]; v [B, H, T, V]; beta [B, H, T];
    state [B, H, K, V]; all float32. Returns (outputs [B, H, T, V], final state)."""
    outputs = []
    for t in range(q.shape[2]):
        key = k[:, :, t:t + 1]  # [B, H, 1, K]
        state = state * log_decay[:, :, t, :, None].exp()
        recalled = key @ state  # [B, H, 1, V]
        correction = beta[:, :, t, None, None] * (v[:, :, t:t + 1] - recalled)
        state = state + key.transpose(-1, -2) @ correction  # the rank-one write, as a product
        outputs.append(q[:, :, t:t + 1] @ state)
    return torch.cat(outputs, dim=2), state


def delta_rule_chunked(q, k, v, log_decay, beta, state, chunk_size: int = CHUNK_SIZE):
    """The same recurrence, a chunk of c tokens at a time (shapes as delta_rule_recurrent).

    Inside a chunk, with G_t the cumulative log-decay since the chunk's start and S_0 the
    state before it, token t writes u_t = beta_t (v_t - recall of the state it sees):

        u_t + beta_t sum_{s<t} (k_t . k_s e^{G_t - G_s}) u_s = beta_t (v_t - (k_t e^{G_t})^T S_0)

    a unit lower-triangular system for all u of the chunk at once. Then
        o_t = (q_t e^{G_t})^T S_0 + sum_{s<=t} (q_t . k_s e^{G_t - G_s}) u_s
        S_c = e^{G_c} S_0 + sum_s (k_s e^{G_c - G_s}) u_s^T.
    The pairwise decays e^{G_t - G_s} (s <= t) are formed per channel and never exceed 1,
    so none overflows however strong the forgetting (a factored e^{G_t} e^{-G_s} would)."""
    length = q.shape[2]
    outputs = []
    for start in range(0, length, chunk_size):
        chunk = slice(start, min(start + chunk_size, length))
        q_c, k_c, v_c, beta_c = q[:, :, chunk], k[:, :, chunk], v[:, :, chunk], beta[:, :, chunk]
        cumulative = log_decay[:, :, chunk].cumsum(dim=2)  # G [B, H, c, K]
        size = q_c.shape[2]
        # k_s e^{G_t - G_s} per channel, [B, H, c (t), c (s), K]. Above the diagonal (s > t)
        # the exponent would be positive and may overflow; it is clamped, then masked below.
        decayed_keys = (cumulative[:, :, :, None] - cumulative[:, :, None, :]).clamp(max=0).exp() * k_c[:, :, None]
        # ... against k_t and q_t at once: [B, H, c (t), c (s), 2]
        scores = decayed_keys @ torch.stack((k_c, q_c), dim=-1)
        key_key, query_key = scores[..., 0].tril(-1), scores[..., 1].tril()
        system = torch.eye(size, device=q.device) + beta_c[..., None] * key_key
        target = beta_c[..., None] * (v_c - (k_c * cumulative.exp()) @ state)
        written = torch.linalg.solve_triangular(system, target, upper=False, unitriangular=True)  # u [B, H, c, V]
        outputs.append((q_c * cumulative.exp()) @ state + query_key @ written)
        last = cumulative[:, :, -1:]  # G_c [B, H, 1, K]
        state = last.transpose(-1, -2).exp() * state + (k_c * (last - cumulative).exp()).transpose(-1, -2) @ written
    return torch.cat(outputs, dim=2), state


class KimiDeltaAttention(nn.Module):
    def __init__(self, spec: KDASpec, d_model: int):
        super().__init__()
        self.spec = spec
        heads, head_dim = spec.num_heads, spec.head_dim
        width = heads * head_dim
        self.chunk_size = CHUNK_SIZE
        self.q_proj = nn.Linear(d_model, width, bias=False)
        self.k_proj = nn.Linear(d_model, width, bias=False)
        self.v_proj = nn.Linear(d_model, width, bias=False)
        self.q_conv = ShortConv(width, spec.conv_kernel)
        self.k_conv = ShortConv(width, spec.conv_kernel)
        self.v_conv = ShortConv(width, spec.conv_kernel)
        # The channel-wise forget gate, low rank through head_dim (Kimi Linear's f_a, f_b).
        self.decay_down_proj = nn.Linear(d_model, head_dim, bias=False)
        self.decay_up_proj = nn.Linear(head_dim, width, bias=False)
        self.beta_proj = nn.Linear(d_model, heads, bias=False)
        self.gate_down_proj = nn.Linear(d_model, head_dim, bias=False)
        self.gate_up_proj = nn.Linear(head_dim, width, bias=False)
        self.output_norm = RMSNorm(head_dim, spec.norm_eps)
        self.o_proj = nn.Linear(width, d_model, bias=False)
        # Deterministic stand-ins for FLA's random init (A ~ U(1, 16); softplus(dt_bias)
        # spread over [1e-3, 1e-1]) so that a random-weight model reproduces for its seed.
        self.decay_log_rate = nn.Parameter(torch.linspace(1.0, 16.0, heads).log())  # A_log
        dt = torch.logspace(-3, -1, width)
        self.decay_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # dt_bias = softplus^-1(dt)

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype, device) -> RecurrentState:
        spec = self.spec
        conv = (batch, spec.num_heads * spec.head_dim, spec.conv_kernel)
        return RecurrentState({"q_conv": conv, "k_conv": conv, "v_conv": conv,
                               "memory": (batch, spec.num_heads, spec.head_dim, spec.head_dim)}, dtype, device)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, H * D] -> [B, H, T, D] in float32: the recurrence accumulates over the
        whole context and is computed in float32 whatever the model dtype."""
        batch, length, _ = x.shape
        return x.view(batch, length, self.spec.num_heads, -1).transpose(1, 2).float()

    def forward(self, x: torch.Tensor, step: Step, cache: RecurrentState | None = None) -> torch.Tensor:
        spec = self.spec
        batch, length, _ = x.shape
        q, q_conv = self.q_conv(self.q_proj(x), cache["q_conv"] if cache is not None else None)
        k, k_conv = self.k_conv(self.k_proj(x), cache["k_conv"] if cache is not None else None)
        v, v_conv = self.v_conv(self.v_proj(x), cache["v_conv"] if cache is not None else None)
        q = l2_normalize(self._heads(q)) / math.sqrt(spec.head_dim)
        k = l2_normalize(self._heads(k))
        v = self._heads(v)
        rate = self.decay_log_rate.float().exp()[:, None, None]  # [H, 1, 1]
        log_decay = -rate * F.softplus(self._heads(self.decay_up_proj(self.decay_down_proj(x)))
                                       + self._heads(self.decay_bias.view(1, 1, -1)))
        beta = torch.sigmoid(self.beta_proj(x).float()).transpose(1, 2)  # [B, H, T]

        if cache is not None:
            memory = cache["memory"].float()
        else:
            memory = x.new_zeros(batch, spec.num_heads, spec.head_dim, spec.head_dim, dtype=torch.float32)
        if cache is not None and length == 1:
            out, memory = delta_rule_recurrent(q, k, v, log_decay, beta, memory)
        else:
            out, memory = delta_rule_chunked(q, k, v, log_decay, beta, memory, self.chunk_size)
        if cache is not None:
            cache["q_conv"], cache["k_conv"], cache["v_conv"], cache["memory"] = q_conv, k_conv, v_conv, memory

        gate = self._heads(self.gate_up_proj(self.gate_down_proj(x)))
        out = self.output_norm(out) * torch.sigmoid(gate)  # per head, in float32
        return self.o_proj(out.transpose(1, 2).reshape(batch, length, -1).to(x.dtype))
