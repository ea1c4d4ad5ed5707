"""DeepSeek V4's attention (CSA, HCA, or a sliding window alone) and its cache.

Queries: x -> q_a_proj -> q_norm (the query latent) -> q_b_proj -> per head an RMSNorm
without weight. One key-value head: x -> kv_proj -> kv_norm, read as the key and the value.
RoPE turns the *last* rotary_dim channels, pairs interleaved; the value carries the turn, so
the output is turned back at the query's position. Every query sees its window (the last
sliding_window tokens, itself included) and, with a compress rate m, the entries pooled from
past windows of m tokens whose window has closed by its position: all of them (HCA) or the
top_k its lightning indexer scores highest (CSA). A learned sink logit per head joins the
softmax. The heads' outputs pass through a grouped low-rank projection, then one to d_model.

Pooling: each token is projected (kv) and gated (gate, plus a learned bias by its place in
the window); an entry is the softmax-over-tokens weighted sum of its window's values, per
channel, RMS-normed and turned to the window's first position. With overlapping windows
(CSA) a token projects two series, and entry w pools window w - 1's first series with
window w's second: 2m tokens. The cache keeps the window's keys, the entries, the projections
of the window still open, and (overlapping) the first series of the last closed window.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.mixers import CompressedAttention as CompressedSpec
from .norms import RMSNorm
from .rope import RotaryTable, rotate_pairs
from .step import Step, visibility_mask


def rope_last(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Turn the last cos.shape[-1] channels of x (pairs interleaved, as the table is laid out);
    the channels before them pass through."""
    rotary = cos.shape[-1]
    passed, turned = x[..., :-rotary], x[..., -rotary:]
    return torch.cat((passed, turned * cos + rotate_pairs(turned) * sin), dim=-1)


def unweighted_rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    return F.rms_norm(x.float(), (x.shape[-1],), eps=eps).to(x.dtype)


class GroupedProjection(nn.Module):
    """Block-diagonal projection: each of `groups` slices of the input through its own
    matrix. weight [groups x out, in / groups], the checkpoint's o_a_proj layout."""

    matrices = ("weight",)  # initialised like an nn.Linear weight

    def __init__(self, in_per_group: int, out_per_group: int, groups: int):
        super().__init__()
        self.groups = groups
        self.weight = nn.Parameter(torch.zeros(groups * out_per_group, in_per_group))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [..., groups, in / groups] -> [..., groups x out]."""
        weight = self.weight.view(self.groups, -1, self.weight.shape[-1])
        return torch.einsum("...gi,goi->...go", x, weight).flatten(-2)


class Pooler(nn.Module):
    """One compressor: projections, gates and their position bias, the entries' norm."""

    def __init__(self, d_model: int, width: int, rate: int, overlap: bool, eps: float):
        super().__init__()
        series = 2 if overlap else 1
        self.width, self.rate, self.overlap = width, rate, overlap
        self.kv_proj = nn.Linear(d_model, series * width, bias=False)
        self.gate_proj = nn.Linear(d_model, series * width, bias=False)
        self.position_bias = nn.Parameter(torch.zeros(rate, series * width))
        self.norm = RMSNorm(width, eps)

    def forward(self, x: torch.Tensor, state: dict, table: RotaryTable) -> torch.Tensor:
        """The entries of the windows that close among x's tokens [B, n, width]; `state`
        (the cache's, or a fresh one) holds the open window and the carried series."""
        kv, gate = self.kv_proj(x), self.gate_proj(x)
        if state.get("kv") is not None:
            kv, gate = torch.cat((state["kv"], kv), dim=1), torch.cat((state["gate"], gate), dim=1)
        usable = kv.shape[1] // self.rate * self.rate
        state["kv"], state["gate"] = kv[:, usable:], gate[:, usable:]
        batch, windows, width, rate = x.shape[0], usable // self.rate, self.width, self.rate
        first = state.get("entries", 0)
        if not windows:
            return kv.new_zeros(batch, 0, width)
        kv = kv[:, :usable].view(batch, windows, rate, -1)
        gate = gate[:, :usable].view(batch, windows, rate, -1) + self.position_bias
        if self.overlap:
            # slots 0..m-1: the previous window's first series; m..2m-1: this window's second
            slots_kv = kv.new_zeros(batch, windows, 2 * rate, width)
            slots_gate = gate.new_full((batch, windows, 2 * rate, width), float("-inf"))
            slots_kv[:, :, rate:], slots_gate[:, :, rate:] = kv[..., width:], gate[..., width:]
            slots_kv[:, 1:, :rate], slots_gate[:, 1:, :rate] = kv[:, :-1, :, :width], gate[:, :-1, :, :width]
            if state.get("carried_kv") is not None:
                slots_kv[:, 0, :rate], slots_gate[:, 0, :rate] = state["carried_kv"], state["carried_gate"]
            state["carried_kv"], state["carried_gate"] = kv[:, -1, :, :width], gate[:, -1, :, :width]
            kv, gate = slots_kv, slots_gate
        pooled = (kv * gate.softmax(dim=2, dtype=torch.float32).to(kv.dtype)).sum(dim=2)
        pooled = self.norm(pooled)
        positions = (torch.arange(windows, device=x.device) + first) * rate
        table.ensure((first + windows) * rate)  # from host counts: no read of a device tensor
        cos, sin = table.gather(positions, pooled.dtype)
        state["entries"] = first + windows
        return rope_last(pooled, cos, sin)


class CompressedAttention(nn.Module):
    # why no one compiled graph serves this layer's decode steps (app/runtime/fast.py)
    NO_SINGLE_GRAPH = ("DeepSeek V4's pooled cache grows by concatenation as its windows close, so its decode "
                       "steps keep changing shape")

    def __init__(self, spec: CompressedSpec, d_model: int):
        super().__init__()
        self.spec = spec
        heads, head_dim = spec.num_heads, spec.head_dim
        self.q_a_proj = nn.Linear(d_model, spec.q_lora_rank, bias=False)
        self.q_norm = RMSNorm(spec.q_lora_rank, spec.norm_eps)
        self.q_b_proj = nn.Linear(spec.q_lora_rank, heads * head_dim, bias=False)
        self.kv_proj = nn.Linear(d_model, head_dim, bias=False)
        self.kv_norm = RMSNorm(head_dim, spec.norm_eps)
        self.o_a_proj = GroupedProjection(heads * head_dim // spec.o_groups, spec.o_lora_rank, spec.o_groups)
        self.o_b_proj = nn.Linear(spec.o_groups * spec.o_lora_rank, d_model, bias=False)
        self.sinks = nn.Parameter(torch.zeros(heads))
        rate = spec.compress_rate
        self.compressor = Pooler(d_model, head_dim, rate, spec.overlap, spec.norm_eps) if rate else None
        index = spec.indexer
        self.indexer = Pooler(d_model, index.head_dim, rate, True, spec.norm_eps) if index is not None else None
        self.index_q_proj = nn.Linear(spec.q_lora_rank, index.num_heads * index.head_dim, bias=False) \
            if index is not None else None
        self.index_weights = nn.Linear(d_model, index.num_heads, bias=False) if index is not None else None
        self.scale = head_dim ** -0.5
        self._table: RotaryTable | None = None  # the pooled entries' positions are not the step's

    def new_cache(self, batch: int, max_len: int, dtype: torch.dtype, device) -> PooledCache:
        return PooledCache(self.spec, batch, dtype, device)

    def _rotary_table(self, device) -> RotaryTable:
        if self._table is None or self._table.inv_freq.device != torch.device(device):
            self._table = RotaryTable(self.spec.rope, device)
        return self._table

    def forward(self, x: torch.Tensor, step: Step, cache: PooledCache | None = None) -> torch.Tensor:
        spec = self.spec
        batch, length, _ = x.shape
        if step.start is None:
            raise NotImplementedError("DeepSeek V4's pooled cache has no replayable (captured) step")
        cos, sin = step.rotary[spec.rope]
        latent = self.q_norm(self.q_a_proj(x))
        q = self.q_b_proj(latent).view(batch, length, spec.num_heads, spec.head_dim).transpose(1, 2)
        q = rope_last(unweighted_rms_norm(q, spec.norm_eps), cos, sin)
        kv = rope_last(self.kv_norm(self.kv_proj(x)), cos, sin)  # [B, T, head_dim]
        positions = step.positions
        state = cache.state if cache is not None else {"compressor": {}, "indexer": {}}
        if cache is not None:
            keys, key_positions = cache.window(kv, step.start)
        else:
            keys, key_positions = kv, positions
        visible = visibility_mask(positions, key_positions, window=spec.sliding_window)
        visible = visible.unsqueeze(0).expand(batch, -1, -1)
        if self.compressor is not None:
            table = self._rotary_table(x.device)
            entries = self.compressor(x, state["compressor"], table)
            entries = cache.add_entries("entries", entries) if cache is not None else entries
            closed = (positions + 1) // spec.compress_rate  # entries a query may see: those before
            seen = torch.arange(entries.shape[1], device=x.device)[None, :] < closed[:, None]  # [T, E]
            seen = seen.unsqueeze(0).expand(batch, -1, -1)
            if self.indexer is not None:
                seen = self._pick(x, latent, step, state["indexer"], table, cache, seen)
            keys = torch.cat((keys, entries), dim=1)
            visible = torch.cat((visible, seen), dim=-1)
        out = self._attend(q, keys, visible)  # [B, H, T, head_dim]
        out = rope_last(out, cos, -sin).transpose(1, 2)  # the values' turn undone at the query
        grouped = out.reshape(batch, length, spec.o_groups, -1)
        return self.o_b_proj(self.o_a_proj(grouped))

    def _pick(self, x, latent, step, state, table, cache, seen) -> torch.Tensor:
        """CSA: of the entries each query may see, the top_k its lightning indexer scores."""
        index = self.spec.indexer
        batch, length, _ = x.shape
        keys = self.indexer(x, state, table)
        keys = cache.add_entries("index_entries", keys) if cache is not None else keys
        cos, sin = step.rotary[self.spec.rope]
        q = self.index_q_proj(latent).view(batch, length, index.num_heads, index.head_dim).transpose(1, 2)
        q = rope_last(q, cos, sin)
        scores = torch.relu(q.float() @ keys.float().transpose(-1, -2).unsqueeze(1)) * index.head_dim ** -0.5
        weights = self.index_weights(x).float() * index.num_heads ** -0.5  # [B, T, heads]
        scores = (scores * weights.transpose(1, 2).unsqueeze(-1)).sum(dim=1)  # [B, T, E]
        count = min(index.top_k, keys.shape[1])
        if not count:
            return seen
        # a stable sort, not topk: exact ties (ReLU scores all zero) resolve to the earliest
        # entries, the same whether the entries came in one forward or step by step
        picked = scores.masked_fill(~seen, float("-inf")).sort(dim=-1, descending=True, stable=True).indices
        picked = picked[..., :count]
        chosen = torch.zeros_like(seen).scatter_(-1, picked, True)
        return chosen & seen  # a pick among hidden entries (fewer visible than top_k) stays hidden

    def _attend(self, q: torch.Tensor, keys: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """Softmax attention of q [B, H, T, D] over the one shared head keys [B, S, D] (also
        the values), visible [B, T, S], with each head's sink logit in the normalization."""
        logits = (q @ keys.unsqueeze(1).transpose(-1, -2)).float() * self.scale
        logits = logits.masked_fill(~visible.unsqueeze(1), float("-inf"))
        sinks = self.sinks.float().view(1, -1, 1, 1).expand(*logits.shape[:3], 1)
        probabilities = torch.cat((logits, sinks), dim=-1).softmax(dim=-1)[..., :-1]
        return probabilities.to(keys.dtype) @ keys.unsqueeze(1)


class PooledCache:
    """One V4 layer's cache: the window's keys (its last sliding_window tokens), the pooled
    entries (and the indexer's keys), and what the compressors hold between steps."""

    def __init__(self, spec: CompressedSpec, batch: int, dtype: torch.dtype, device):
        self.spec = spec
        self.keys = torch.zeros(batch, 0, spec.head_dim, dtype=dtype, device=device)
        self.stored: dict[str, torch.Tensor] = {}
        self.state = {"compressor": {}, "indexer": {}}
        self.length = 0
        self.element = self.keys.element_size()
        self.batch = batch

    def window(self, kv: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The keys a step attends to within the window (those kept and the new ones) and their
        positions; keeps the last sliding_window of them."""
        keys = torch.cat((self.keys, kv), dim=1)
        positions = torch.arange(start + kv.shape[1] - keys.shape[1], start + kv.shape[1], device=kv.device)
        self.keys = keys[:, -self.spec.sliding_window:]
        self.length = start + kv.shape[1]
        return keys, positions

    def add_entries(self, name: str, new: torch.Tensor) -> torch.Tensor:
        held = self.stored.get(name)
        self.stored[name] = new if held is None else torch.cat((held, new), dim=1)
        return self.stored[name]

    def nbytes(self) -> int:
        values = self.keys.shape[1] * self.spec.head_dim
        values += sum(held.shape[1] * held.shape[2] for held in self.stored.values())
        for part in self.state.values():
            values += sum(held.shape[1] * held.shape[2] for key, held in part.items()
                          if key in ("kv", "gate", "carried_kv", "carried_gate") and held is not None)
        return self.batch * values * self.element

    capacity_nbytes = nbytes  # grown as needed, nothing preallocated

    def advance(self, end: int) -> None:
        self.length = end

    def reset(self) -> None:
        self.keys = self.keys[:, :0]
        self.stored = {}
        self.state = {"compressor": {}, "indexer": {}}
        self.length = 0
