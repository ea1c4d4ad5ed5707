"""Softmax attention: MHA, GQA and MQA, with the options the catalog uses -- QK-norm per
head or over all heads, partial RoPE or none, sliding windows and chunks, biases, a
sigmoid output gate (Qwen3-Next), a softplus (Laguna) or sigmoid (Trinity, Step 3.5) output
gate per head or per channel from a projection of its own, learned sinks (gpt-oss), logit soft-capping and keys
that double as values (Gemma 4's global layers)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.mixers import Attention as AttentionSpec
from . import cpu_kernels
from .cache import FullKVCache, SlidingWindowCache
from .norms import make_norm
from .packing import PackedLinear, pack_linears, packed_or_none, store_input_major
from .rope import apply_rope
from .step import Step

# cuDNN's attention, PyTorch's first choice for half precision on Hopper GPUs, builds an
# execution plan for every new key length: on an H200 that is 34 ms of host time in each
# decode step (every step is one key longer), three times the rest of a 0.6B model's step.
# Flash and memory-efficient attention have no per-shape cost.
torch.backends.cuda.enable_cudnn_sdp(False)


class Attention(nn.Module):
    def __init__(self, spec: AttentionSpec, d_model: int):
        super().__init__()
        self.spec = spec
        heads, kv_heads, head_dim, v_dim = spec.num_heads, spec.num_kv_heads, spec.head_dim, spec.v_dim
        q_width = heads * head_dim * (2 if spec.output_gate else 1)
        own_kv = not spec.shared_kv  # a sharing layer reads another layer's keys and values
        self.q_proj = nn.Linear(d_model, q_width, bias=spec.qkv_bias)
        self.k_proj = nn.Linear(d_model, kv_heads * head_dim, bias=spec.qkv_bias) if own_kv else None
        # Gemma 4's global layers read their values off the key projection: no v_proj
        own_values = own_kv and not spec.keys_as_values
        self.v_proj = nn.Linear(d_model, kv_heads * v_dim, bias=spec.qkv_bias) if own_values else None
        self.o_proj = nn.Linear(heads * v_dim, d_model, bias=spec.out_bias)
        # Laguna's, Trinity's and Step's gates read the layer's input, not the queries: a
        # projection of their own
        self.g_proj = nn.Linear(d_model, spec.gate_projection_width, bias=False) if spec.projected_gate else None
        self.q_norm = self.k_norm = self.v_norm = None
        if spec.qk_norm is not None:
            per_head = spec.qk_norm.scope == "head"
            self.q_norm = make_norm(spec.qk_norm.norm, head_dim if per_head else heads * head_dim)
            if own_kv:
                self.k_norm = make_norm(spec.qk_norm.norm, head_dim if per_head else kv_heads * head_dim)
        if spec.value_norm is not None and own_kv:
            self.v_norm = make_norm(spec.value_norm, v_dim)
        # KV sharing, linked by the decoder: the layer whose keys and values this one reads,
        # and whether this one publishes its own for later layers
        self.kv_source: int | None = None
        self.kv_publish_as: int | None = None
        self.sinks = nn.Parameter(torch.zeros(heads)) if spec.sinks else None
        # Granite gives the scale itself; Gemma a scalar whose inverse root it is; else 1/sqrt(head_dim)
        self.scale = spec.query_scale or (spec.query_pre_attn_scalar or head_dim) ** -0.5
        self.qkv: PackedLinear | None = None

    def pack_for_decode(self) -> None:
        """Decode layout (app/model/packing.py): q, k and v from one matmul."""
        if self.k_proj is not None:
            self.qkv = pack_linears([linear for linear in (self.q_proj, self.k_proj, self.v_proj)
                                     if linear is not None])
        else:
            store_input_major(self.q_proj)
        store_input_major(self.o_proj)

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype,
                  device) -> FullKVCache | SlidingWindowCache | None:
        spec = self.spec
        if spec.shared_kv:
            return None  # it holds nothing: its source layer's cache serves both
        window = spec.cache_window  # min(window, chunk) when both are set: all a query can see
        if window and window < max_len:
            return SlidingWindowCache(batch, window, spec.num_kv_heads, spec.head_dim, spec.v_dim, dtype, device)
        return FullKVCache(batch, max_len, spec.num_kv_heads, spec.head_dim, spec.v_dim, dtype, device)

    def forward(self, x: torch.Tensor, step: Step, cache=None) -> torch.Tensor:
        spec = self.spec
        batch, length, _ = x.shape
        if spec.shared_kv:
            (q, gate), (k, v, key_positions) = self._query(self.q_proj(x), step), step.shared_kv[self.kv_source]
        else:
            (q, gate), k, v, key_positions = self._own_qkv(x, step, cache)
        mask = step.mask(key_positions, k.shape[2], spec.sliding_window, spec.chunk_size)
        out = self._attend(q, k, v, mask)
        out = out.transpose(1, 2).reshape(batch, length, spec.num_heads * spec.v_dim)
        if gate is not None:
            out = out * torch.sigmoid(gate)
        if self.g_proj is not None:
            out = self._projected_gate(out, x)
        return self.o_proj(out)

    def _projected_gate(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The attention output [B, T, H * Dv] times softplus(x W_g) (Laguna) or sigmoid(x W_g)
        (Trinity, Step 3.5), one gate per head (broadcast over the head's channels) or one per
        channel."""
        spec = self.spec
        logits = self.g_proj(x)
        gate = F.softplus(logits.float()).to(out.dtype) if spec.softplus_gate else torch.sigmoid(logits)
        if spec.projected_gate == "element":
            return out * gate
        batch, length, _ = out.shape
        heads = out.view(batch, length, spec.num_heads, spec.v_dim) * gate.unsqueeze(-1)
        return heads.view(batch, length, spec.num_heads * spec.v_dim)

    def _query(self, q: torch.Tensor, step: Step):
        """Projected queries -> (rotated heads [B, H, T, D], the output gate or None)."""
        spec = self.spec
        batch, length, _ = q.shape
        if self.q_norm is not None and spec.qk_norm.scope == "all_heads":
            q = self.q_norm(q)
        gate = None
        if spec.output_gate:
            q, gate = q.view(batch, length, spec.num_heads, 2 * spec.head_dim).chunk(2, dim=-1)
            gate = gate.reshape(batch, length, spec.num_heads * spec.head_dim)
        q = q.reshape(batch, length, spec.num_heads, spec.head_dim)
        if self.q_norm is not None and spec.qk_norm.scope == "head":
            q = self.q_norm(q)
        if spec.temperature_tuning:
            # Llama 4's NoPE layers sharpen attention as the context grows.
            growth = torch.log1p(torch.floor((step.positions.float() + 1.0) / spec.temperature_floor))
            q = (q * (1.0 + spec.temperature_scale * growth).view(1, length, 1, 1)).to(q.dtype)
        q = q.transpose(1, 2)
        if spec.rope is not None:
            cos, sin = step.rotary[spec.rope]
            q = apply_rope(q, cos, sin, spec.rope.interleaved)
        return q, gate

    def _own_qkv(self, x: torch.Tensor, step: Step, cache):
        """(queries, gate), then the keys and values this layer computes (and caches):
        everything visible, and their positions (None: 0..S-1)."""
        spec = self.spec
        batch, length, _ = x.shape
        qkv = packed_or_none(self, "qkv")
        linears = [linear for linear in (self.q_proj, self.k_proj, self.v_proj) if linear is not None]
        projected = qkv(x) if qkv is not None else tuple(linear(x) for linear in linears)
        # keys as values: the raw key projection, before the key norm and RoPE touch it
        q, k, v = projected if self.v_proj is not None else (*projected, projected[1])
        if self.k_norm is not None and spec.qk_norm.scope == "all_heads":
            k = self.k_norm(k)
        query = self._query(q, step)
        k = k.view(batch, length, spec.num_kv_heads, spec.head_dim)
        if self.k_norm is not None and spec.qk_norm.scope == "head":
            k = self.k_norm(k)
        v = v.view(batch, length, spec.num_kv_heads, spec.v_dim)
        if self.v_norm is not None:
            v = self.v_norm(v)
        k, v = k.transpose(1, 2), v.transpose(1, 2)
        if spec.value_scale != 1.0:
            v = v * spec.value_scale
        if spec.rope is not None:
            cos, sin = step.rotary[spec.rope]
            k = apply_rope(k, cos, sin, spec.rope.interleaved)
        key_positions = None
        if cache is not None:
            k, v, key_positions = cache.update(k, v, step.positions, step.cache_start())
        if self.kv_publish_as is not None:
            step.shared_kv[self.kv_publish_as] = (k, v, key_positions)
        return query, k, v, key_positions

    def _attend(self, q, k, v, mask: torch.Tensor | None) -> torch.Tensor:
        spec = self.spec
        group = spec.num_heads // spec.num_kv_heads
        batch, heads, length, _ = q.shape
        if length == 1 and self._kernel_attends(q, k, v, mask):
            # One query row per head on the CPU: our kernel (kernels/attention.cpp), which has
            # none of the flash kernel's fixed cost; query heads sharing a key/value head are
            # its rows, as below.
            rows = q.reshape(batch, spec.num_kv_heads, group, q.shape[-1])
            visible = mask.reshape(-1).contiguous() if mask is not None else None
            out = torch.ops.archscope_kernels.decode_attention(rows, k, v, visible, self.scale)
            return out.view(batch, heads, 1, out.shape[-1])
        if group > 1 and length == 1:
            # Decoding: the query heads that share a key/value head become that head's rows of
            # queries, so each cached key and value is read once. Grouped attention otherwise
            # copies the cache to every query head first (scaled_dot_product_attention's
            # enable_gqa does on the CPU, as repeat_interleave does): group times the bytes.
            rows = q.view(batch, spec.num_kv_heads, group, q.shape[-1])
            out = self._weighted_sum(rows, k, v, mask, sinks_shape=(1, spec.num_kv_heads, group, 1))
            return out.view(batch, heads, 1, out.shape[-1])
        if group > 1 and (self.sinks is not None or spec.logit_softcap):
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        return self._weighted_sum(q, k, v, mask, sinks_shape=(1, heads, 1, 1))

    def _kernel_attends(self, q, k, v, mask: torch.Tensor | None) -> bool:
        """Whether our decode-attention kernel computes this step: plain softmax attention in
        float32 or bfloat16 on the CPU, rows with a contiguous last dimension, a mask (if any)
        that every row shares."""
        return (self.sinks is None and not self.spec.logit_softcap and cpu_kernels.loaded()
                and q.device.type == "cpu" and q.dtype in (torch.float32, torch.bfloat16)
                and k.dtype == q.dtype and v.dtype == q.dtype
                and q.stride(-1) == 1 and k.stride(-1) == 1 and v.stride(-1) == 1
                and (mask is None or mask.numel() == k.shape[2]))

    def _weighted_sum(self, q, k, v, mask: torch.Tensor | None, sinks_shape: tuple) -> torch.Tensor:
        """Softmax attention of q over k and v, as many heads of each (or one key/value head
        per group of query rows); sinks_shape: how the per-head sinks lie over q's rows."""
        spec = self.spec
        if self.sinks is None and not spec.logit_softcap:
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scale,
                                                  enable_gqa=q.shape[1] != k.shape[1])
        # Sinks and soft-capping act on the logits themselves, which SDPA does not expose.
        scores = (q @ k.transpose(-2, -1)) * self.scale
        if spec.logit_softcap:
            scores = torch.tanh(scores / spec.logit_softcap) * spec.logit_softcap
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        if self.sinks is not None:
            # gpt-oss: a per-head logit joins the softmax and absorbs mass, then is dropped.
            sink = self.sinks.to(scores.dtype).view(sinks_shape).expand(*scores.shape[:-1], 1)
            scores = torch.cat((scores, sink), dim=-1)
            weights = torch.softmax(scores - scores.amax(-1, keepdim=True), dim=-1)[..., :-1]
        else:
            weights = torch.softmax(scores, dim=-1)
        return weights.to(v.dtype) @ v
