"""Lightning attention (MiniMax-01 / MiniMax-M1; Ling 2.5 / 2.6's variant): linear attention
with a per-head decay.

Each head keeps one [head_dim, head_dim] state S, the decayed sum of k^T v over the tokens
seen. Token t reads o_t = q_t S_t after the update S_t = lambda * S_{t-1} + k_t^T v_t, so
o_t = sum_{s <= t} lambda^(t - s) (q_t . k_s) v_s: causal attention without the softmax,
whose weights fade geometrically with distance.

Two ways to compute the same outputs:
- `blockwise_lightning` (prefill): the sequence is cut into blocks; inside a block the
  decayed, causally masked q k^T product is one matrix product (intra-block), and earlier
  blocks reach it only through the carried state (inter-block). This is the "tiling" of
  the Lightning Attention-2 paper that makes the prefill cost linear in the length.
- `recurrent_lightning` (decode): the update above, one token at a time.

The decay rate of head h (of H) in layer l (of L) is 2^(-8 (h + 1) / H) -- ALiBi's slopes --
scaled by how shallow the layer is, so the deepest layers forget least. That depends on the
layer's place in the stack, which the builder tells the module through `set_depth`. Ling's
variant (spec.decay "alibi") takes ALiBi's own rule for head counts that are not a power of
two and offsets the layer by one; it also scales q.k by head_dim ** -0.5, normalizes and
rotates q and k, and normalizes the output in groups (see the spec's fields).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.mixers import LightningAttention as LightningAttentionSpec
from ..spec.parts import Norm
from .cache import RecurrentState
from .norms import make_norm
from .rope import apply_rope
from .step import Step

# MiniMax keeps the last layer's decay above zero and a one-layer stack defined with this
# epsilon in both places of the depth factor (transformers' MiniMaxLightningAttention).
DEPTH_EPSILON = 1e-5


def alibi_slopes(num_heads: int) -> list[float]:
    """ALiBi's head slopes (Press et al. 2022, and the Lightning Attention-2 code Ling uses):
    2^(-8 i / n) for i = 1..n when n is a power of two; otherwise the slopes of the power of
    two just below n, then every other slope of twice that many, until there are n."""
    if math.log2(num_heads).is_integer():
        return [2.0 ** (-8.0 * i / num_heads) for i in range(1, num_heads + 1)]
    below = 2 ** math.floor(math.log2(num_heads))
    return alibi_slopes(below) + alibi_slopes(2 * below)[0::2][:num_heads - below]


def decay_rates(num_heads: int, layer_index: int, num_layers: int, device=None,
                style: str = "minimax") -> torch.Tensor:
    """Per-head decay rates s_h [H] in float32: the state is multiplied by exp(-s_h) per token."""
    if style == "alibi":
        # Ling's (l - 1) / (L - 1): the first layer decays a little faster than the slope alone;
        # a one-layer stack (never published; the formula divides by zero) counts as two.
        slopes = torch.tensor(alibi_slopes(num_heads), dtype=torch.float32, device=device)
        return slopes * (1.0 - (layer_index - 1) / max(num_layers - 1, 1) + DEPTH_EPSILON)
    slopes = 2.0 ** (-8.0 * torch.arange(1, num_heads + 1, dtype=torch.float64, device=device) / num_heads)
    depth_factor = 1.0 - layer_index / (num_layers - 1 + DEPTH_EPSILON) + DEPTH_EPSILON
    return (slopes * depth_factor).float()


def blockwise_lightning(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, rates: torch.Tensor,
                        state: torch.Tensor, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs [B, H, T, D] and the state after the last token, for q, k, v [B, H, T, D]
    continuing from `state` [B, H, D, D] (zeros for a fresh sequence); all float32."""
    rates = rates.view(-1, 1)  # [H, 1]
    outputs = []
    for start in range(0, q.shape[2], block_size):
        q_block, k_block, v_block = (t[:, :, start:start + block_size] for t in (q, k, v))
        n = q_block.shape[2]
        offsets = torch.arange(1, n + 1, device=q.device, dtype=torch.float32)  # 1..n within the block
        # Query i of the block sees the carried state after i more decays ...
        query_decay = torch.exp(-rates * offsets)  # [H, n]
        # ... key j enters the next block's state after n - j decays ...
        key_decay = torch.exp(-rates * (n - offsets))  # [H, n]
        # ... and inside the block, query i sees key j <= i after i - j decays.
        distance = offsets[:, None] - offsets[None, :]  # [n, n]
        causal = distance >= 0
        intra_decay = torch.exp(-rates[:, :, None] * distance.clamp(min=0)) * causal  # [H, n, n]

        intra = (q_block @ k_block.transpose(-1, -2) * intra_decay) @ v_block
        inter = (q_block * query_decay[..., None]) @ state
        outputs.append(intra + inter)
        block_decay = torch.exp(-rates * n)[..., None]  # [H, 1, 1]
        state = state * block_decay + (k_block * key_decay[..., None]).transpose(-1, -2) @ v_block
    return torch.cat(outputs, dim=2), state


def recurrent_lightning(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, rates: torch.Tensor,
                        state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The same outputs and final state as `blockwise_lightning`, token by token."""
    decay = torch.exp(-rates).view(-1, 1, 1)  # [H, 1, 1]
    outputs = []
    for t in range(q.shape[2]):
        state = decay * state + k[:, :, t:t + 1].transpose(-1, -2) @ v[:, :, t:t + 1]  # + k_t^T v_t
        outputs.append(q[:, :, t:t + 1] @ state)
    return torch.cat(outputs, dim=2), state


class LightningAttention(nn.Module):
    """q, k, v from one fused projection (SiLU'd in MiniMax); in Ling, q and k RMSNorm-ed per
    head, rotated (partial RoPE) and q.k scaled by head_dim ** -0.5; the lightning recurrence
    per head; an RMSNorm over the heads' outputs (in groups in Ling); a sigmoid gate from the
    layer input; the output projection. Without RoPE the decay is the only sense of order."""

    def __init__(self, spec: LightningAttentionSpec, d_model: int):
        super().__init__()
        self.spec = spec
        width = spec.num_heads * spec.head_dim
        # Per head, q, k and v sit side by side: [H, 3 * head_dim] rows of the fused output.
        self.qkv_proj = nn.Linear(d_model, 3 * width, bias=False)
        self.gate_proj = nn.Linear(d_model, width, bias=False)
        if spec.qk_norm:
            self.q_norm = make_norm(Norm("rmsnorm", spec.norm_eps), spec.head_dim)
            self.k_norm = make_norm(Norm("rmsnorm", spec.norm_eps), spec.head_dim)
        self.output_norm = make_norm(Norm("rmsnorm", spec.norm_eps), width)
        self.o_proj = nn.Linear(width, d_model, bias=False)
        self.layer_index, self.num_layers = 0, 1

    def set_depth(self, layer_index: int, num_layers: int) -> None:
        """Where this layer sits in the stack, which sets its decay rates."""
        self.layer_index, self.num_layers = layer_index, num_layers

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype, device) -> RecurrentState:
        spec = self.spec
        return RecurrentState({"kv": (batch, spec.num_heads, spec.head_dim, spec.head_dim)}, dtype, device)

    def forward(self, x: torch.Tensor, step: Step, cache: RecurrentState | None = None) -> torch.Tensor:
        spec = self.spec
        batch, length, _ = x.shape
        qkv = self.qkv_proj(x)
        if spec.qkv_activation == "silu":
            qkv = F.silu(qkv)
        qkv = qkv.view(batch, length, spec.num_heads, 3 * spec.head_dim)
        q, k, v = (t.transpose(1, 2) for t in qkv.split(spec.head_dim, dim=-1))
        if spec.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        if spec.rope is not None:
            cos, sin = step.rotary[spec.rope]
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        q, k, v = q.float(), k.float(), v.float()
        if spec.scaled:
            q = q * spec.head_dim ** -0.5
        rates = decay_rates(spec.num_heads, self.layer_index, self.num_layers, x.device, spec.decay)
        if cache is None:
            state = q.new_zeros(batch, spec.num_heads, spec.head_dim, spec.head_dim)
        else:
            state = cache["kv"].float()
        if cache is not None and length == 1:
            out, state = recurrent_lightning(q, k, v, rates, state)
        else:
            out, state = blockwise_lightning(q, k, v, rates, state, spec.block_size)
        if cache is not None:
            cache["kv"] = state
        out = out.transpose(1, 2).reshape(batch, length, spec.num_heads * spec.head_dim).to(x.dtype)
        out = self._normalize(out) * torch.sigmoid(self.gate_proj(x))
        return self.o_proj(out)

    def _normalize(self, out: torch.Tensor) -> torch.Tensor:
        """The output RMSNorm: over all heads' outputs, or over each of norm_groups equal
        slices of them with one scale across the width (Ling's group RMSNorm)."""
        groups = self.spec.norm_groups
        if groups == 1:
            return self.output_norm(out)
        grouped = out.float().unflatten(-1, (groups, out.shape[-1] // groups))
        normed = F.rms_norm(grouped, grouped.shape[-1:], None, self.output_norm.eps).flatten(-2)
        return (normed * self.output_norm.weight.float()).to(out.dtype)
