"""mLSTM: the matrix-memory LSTM of xLSTM 7B (Beck et al., 2024, "xLSTM: Extended Long
Short-Term Memory"; 2025, "xLSTM 7B").

Each head keeps a matrix memory C (qk_head_dim x v_head_dim), a normalizer n and a
stabilizer m. A token writes with an exponential input gate and a sigmoid forget gate, both
pre-activations soft-capped (cap * tanh(x / cap)), and reads with its query:

    m_t = max(log sigmoid(f_t) + m_{t-1}, i_t)
    C_t = exp(log sigmoid(f_t) + m_{t-1} - m_t) C_{t-1} + exp(i_t - m_t) k_t v_t^T
    n_t = (the same decays) n_{t-1} + exp(i_t - m_t) k_t
    h_t = q_t C_t / (max(|q_t . n_t|, exp(-m_t)) + eps)        (q scaled by qk_head_dim^-1/2)

C and n are held divided by exp(m), so the exponentials never overflow; the floor exp(-m)
is the stabilized form of the paper's max(|q . n|, 1). The read-out is normalized per head
(LayerNorm without bias), gated by sigmoid(o) over the value width, and projected back.

Two forms of one recurrence: `chunked_scan` (prefill: within a chunk every token's read is
a decaying causal product over the chunk's writes plus the state it entered with) and
`recurrent_step` (decode). Both keep m exactly as the recurrence does, so they agree to
float32 rounding; transformers mixes the two forms the same way (chunks, then steps).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.mixers import MLSTM as MLSTMSpec
from .cache import RecurrentState


def soft_cap(values: torch.Tensor, cap: float) -> torch.Tensor:
    return cap * torch.tanh(values / cap) if cap else values


# --- the two forms of the recurrence ---------------------------------------------------


def recurrent_step(q, k, v, i_gate, f_gate, C, n, m, eps: float):
    """One token, in float32: q, k [b, H, dk], v [b, H, dv], gates [b, H], state C
    [b, H, dk, dv], n [b, H, dk], m [b, H]. Returns (h [b, H, dv], C, n, m)."""
    log_forget = F.logsigmoid(f_gate)
    m_new = torch.maximum(log_forget + m, i_gate)
    decay = torch.exp(log_forget + m - m_new)
    write = torch.exp(i_gate - m_new)
    C = decay[..., None, None] * C + write[..., None, None] * (k.unsqueeze(-1) @ v.unsqueeze(-2))
    n = decay[..., None] * n + write[..., None] * k
    q = q * q.shape[-1] ** -0.5
    numerator = (q.unsqueeze(-2) @ C).squeeze(-2)
    dot = (q * n).sum(-1)
    denominator = torch.maximum(dot.abs(), torch.exp(-m_new)) + eps
    return numerator / denominator[..., None], C, n, m_new


def chunked_scan(q, k, v, i_gate, f_gate, C, n, m, eps: float, chunk_size: int):
    """The whole sequence, in float32: q, k [b, H, T, dk], v [b, H, T, dv], gates [b, H, T],
    the state before the first token as in `recurrent_step`. Returns (h [b, H, T, dv], C, n, m).

    In a chunk, with b_t the running sum of log sigmoid(f) from the chunk start, token s's
    write reaches token t (s <= t) with log weight b_t - b_s + i_s, and the entering state
    with b_t + m_0. m_t is the largest of these, as the recurrence's max unrolls to; each
    read divides by exp(m_t), and the state leaves the chunk stabilized by its last m."""
    length = q.shape[2]
    scale = q.shape[-1] ** -0.5
    outputs = []
    for start in range(0, length, chunk_size):
        end = min(start + chunk_size, length)
        qc, kc, vc = q[:, :, start:end] * scale, k[:, :, start:end], v[:, :, start:end]
        ic = i_gate[:, :, start:end]
        # Sums of at most chunk_size log-gates: their differences lose nothing that matters.
        b = F.logsigmoid(f_gate[:, :, start:end]).cumsum(-1)  # [b, H, L]
        size = end - start
        causal = torch.ones(size, size, dtype=torch.bool, device=q.device).tril()
        log_weights = (b.unsqueeze(-1) - b.unsqueeze(-2) + ic.unsqueeze(-2)).masked_fill(~causal, float("-inf"))
        from_state = b + m.unsqueeze(-1)  # [b, H, L]
        m_t = torch.maximum(from_state, log_weights.max(-1).values)
        weights = torch.exp(log_weights - m_t.unsqueeze(-1)) * (qc @ kc.transpose(-1, -2))  # [b, H, L, L]
        carried = torch.exp(from_state - m_t).unsqueeze(-1)
        numerator = carried * (qc @ C) + weights @ vc
        dot = carried.squeeze(-1) * (qc @ n.unsqueeze(-1)).squeeze(-1) + weights.sum(-1)
        denominator = torch.maximum(dot.abs(), torch.exp(-m_t)) + eps
        outputs.append(numerator / denominator.unsqueeze(-1))

        # The state after the chunk: every write and the entering state, stabilized by m_L.
        m_last = m_t[..., -1]
        to_end = torch.exp(b[..., -1:] - b + ic - m_last.unsqueeze(-1))  # [b, H, L]
        kept = torch.exp(from_state[..., -1] - m_last)
        C = kept[..., None, None] * C + (kc * to_end.unsqueeze(-1)).transpose(-1, -2) @ vc
        n = kept[..., None] * n + (kc * to_end.unsqueeze(-1)).sum(-2)
        m = m_last
    return torch.cat(outputs, dim=2), C, n, m


# --- the module -------------------------------------------------------------------------


class MLSTM(nn.Module):
    def __init__(self, spec: MLSTMSpec, d_model: int):
        super().__init__()
        self.spec = spec
        heads = spec.num_heads
        qk_dim, v_dim = heads * spec.qk_head_dim, heads * spec.v_head_dim
        self.q = nn.Linear(d_model, qk_dim, bias=False)
        self.k = nn.Linear(d_model, qk_dim, bias=False)
        self.v = nn.Linear(d_model, v_dim, bias=False)
        self.ogate = nn.Linear(d_model, v_dim, bias=False)
        # One input and one forget gate per head, each with a bias (xLSTM keeps these biased
        # even where every projection is not).
        self.igate = nn.Linear(d_model, heads, bias=True)
        self.fgate = nn.Linear(d_model, heads, bias=True)
        self.norm_weight = nn.Parameter(torch.ones(v_dim))  # the per-head LayerNorm's scale
        self.out_proj = nn.Linear(v_dim, d_model, bias=False)

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype, device) -> RecurrentState:
        """C, n and m per head, as transformers' xLSTMCache holds them; none grows with the
        context."""
        spec = self.spec
        heads = spec.num_heads
        return RecurrentState({"C": (batch, heads, spec.qk_head_dim, spec.v_head_dim),
                               "n": (batch, heads, spec.qk_head_dim), "m": (batch, heads, 1)}, dtype, device)

    def forward(self, hidden: torch.Tensor, step=None, cache: RecurrentState | None = None) -> torch.Tensor:
        spec = self.spec
        batch, length, _ = hidden.shape
        heads = spec.num_heads

        def by_head(x: torch.Tensor) -> torch.Tensor:  # [b, T, H * d] -> [b, H, T, d], float32
            return x.float().unflatten(-1, (heads, -1)).transpose(1, 2)

        q, k, v = by_head(self.q(hidden)), by_head(self.k(hidden)), by_head(self.v(hidden))
        i_gate = soft_cap(self.igate(hidden).float(), spec.gate_soft_cap).transpose(1, 2)  # [b, H, T]
        f_gate = soft_cap(self.fgate(hidden).float(), spec.gate_soft_cap).transpose(1, 2)

        if cache is None:
            C = q.new_zeros(batch, heads, spec.qk_head_dim, spec.v_head_dim)
            n = q.new_zeros(batch, heads, spec.qk_head_dim)
            m = q.new_zeros(batch, heads)
        else:
            C, n, m = cache["C"].float(), cache["n"].float(), cache["m"].float().squeeze(-1)
        if cache is not None and length == 1:
            h, C, n, m = recurrent_step(q[:, :, 0], k[:, :, 0], v[:, :, 0], i_gate[..., 0], f_gate[..., 0],
                                        C, n, m, spec.eps)
            h = h.unsqueeze(2)
        else:
            h, C, n, m = chunked_scan(q, k, v, i_gate, f_gate, C, n, m, spec.eps, spec.chunk_size)
        if cache is not None:
            cache["C"], cache["n"], cache["m"] = C, n, m.unsqueeze(-1)

        h = F.layer_norm(h.transpose(1, 2), (spec.v_head_dim,), eps=spec.norm_eps)  # per head, [b, T, H, dv]
        h = h.flatten(-2) * self.norm_weight.float()
        h = torch.sigmoid(self.ogate(hidden).float()) * h
        return self.out_proj(h.to(hidden.dtype))
