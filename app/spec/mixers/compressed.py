"""DeepSeek V4's attention: one shared key-value head over a sliding window, plus long-range
entries pooled from the past (compressed sparse attention, CSA, and heavily compressed
attention, HCA), with everything the rest of ArchScope asks of it.

Its torch module is `app/model/compressed_attention.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from ..checks import Checker, at
from ..cost import Cost, MixerSite, Step
from ..parts import Rope, theta_text

if TYPE_CHECKING:
    from ..scale import Shrinker


@dataclass(frozen=True)
class CompressedIndexer:
    """CSA's lightning indexer (DeepSeek V4 report, section 2.3.1): its own compressor pools
    index keys of head_dim values over the same windows as the attention's, queries come
    from the attention's query latent, and sum_h w_h * ReLU(q_h . k) picks top_k pooled
    entries per query."""

    num_heads: int
    head_dim: int
    top_k: int


@dataclass(frozen=True)
class CompressedAttention:
    """DeepSeek V4's attention layer. Queries from a low-rank latent (RMS-normed, then each
    head RMS-normed without weight); one key-value head of head_dim values that serves as
    both key and value; RoPE interleaved on the *last* rotary_dim channels (and turned back
    on the output); a learned sink logit per head; a grouped low-rank output projection
    (o_groups groups of heads each to o_lora_rank values, then one projection to d_model).

    Every layer attends to its last sliding_window tokens. With compress_rate m > 0 it also
    attends to entries pooled from the past: each closed window of m tokens gives one entry,
    a softmax-gated sum of projected tokens plus a learned position bias, RMS-normed and
    rotated at the window's first position. `overlap` (CSA, m = 4) pools two series so each
    entry spans its own window and the one before; without it (HCA, m = 128) windows do not
    overlap. CSA's indexer then keeps top_k entries per query; HCA attends to all of them.
    compress_rate 0 is a sliding-window-only layer."""

    kind: ClassVar[str] = "compressed_attention"
    attends_to_context: ClassVar[bool] = True
    recurrent: ClassVar[bool] = False
    title: ClassVar[str] = "Compressed attention (CSA/HCA)"
    num_heads: int
    head_dim: int
    q_lora_rank: int
    o_groups: int
    o_lora_rank: int
    sliding_window: int
    rope: Rope  # the layer's own: V4's "main" rope on window-only layers, "compress" on the others
    compress_rate: int = 0  # 0: window only
    overlap: bool = False  # CSA's two overlapping series
    indexer: CompressedIndexer | None = None
    norm_eps: float = 1e-6  # the query latent, key-value, per-head and pooled-entry RMSNorms

    # --- derived facts ---

    @property
    def num_kv_heads(self) -> int:
        return 1

    @property
    def cache_window(self) -> int:
        """The window part's tokens; the pooled entries grow without bound (see
        `compressed_entry`)."""
        return self.sliding_window

    @property
    def is_local(self) -> bool:
        return self.compress_rate == 0

    @property
    def canvas_style(self) -> str:
        """Drawn as a window, or as latent attention: the gallery's "MLA-style CSA/HCA"."""
        return "sliding" if self.is_local else "mla"

    @property
    def position_kind(self) -> str:
        return "RoPE"

    @property
    def _series(self) -> int:
        """Pooled series per token: two when windows overlap (CSA), else one."""
        return 2 if self.overlap else 1

    def compressed_entry(self) -> tuple[int, int]:
        """(values cached per pooled entry, tokens per entry): the entry itself and, with an
        indexer, its index key; (0, 0) on a window-only layer."""
        if not self.compress_rate:
            return 0, 0
        index_key = self.indexer.head_dim if self.indexer is not None else 0
        return self.head_dim + index_key, self.compress_rate

    def pending_values(self) -> int:
        """Values the compressor keeps per token of a window not yet closed: the projected
        token and its gate, per series, for the attention and the indexer."""
        if not self.compress_rate:
            return 0
        index = 2 * self.indexer.head_dim if self.indexer is not None else 0
        return 2 * (self._series * self.head_dim + index)

    def overlap_values(self) -> int:
        """What an overlapping compressor carries from the last closed window to the next
        entry: that window's tokens' first series and their gates (and the indexer's)."""
        if not (self.compress_rate and self.overlap):
            return 0
        index = self.indexer.head_dim if self.indexer is not None else 0
        return 2 * self.compress_rate * (self.head_dim + index)

    # --- the analysis ---

    def _compressor_params(self, d: int) -> int:
        if not self.compress_rate:
            return 0
        width = self._series * self.head_dim
        total = 2 * d * width + self.compress_rate * width + self.head_dim  # kv, gate, position bias, norm
        if self.indexer is not None:
            index = self.indexer
            width = 2 * index.head_dim  # the indexer's compressor always overlaps
            total += 2 * d * width + self.compress_rate * width + index.head_dim
            total += self.q_lora_rank * index.num_heads * index.head_dim + d * index.num_heads
        return total

    def params(self, d: int) -> int:
        heads = self.num_heads * self.head_dim
        query = d * self.q_lora_rank + self.q_lora_rank + self.q_lora_rank * heads
        key_value = d * self.head_dim + self.head_dim
        output = heads * self.o_lora_rank + self.o_groups * self.o_lora_rank * d
        return query + key_value + output + self.num_heads + self._compressor_params(d)

    def vector_params(self, d: int) -> int:
        """The norms' weights, the sinks and the pooling position biases."""
        total = self.q_lora_rank + self.head_dim + self.num_heads
        if self.compress_rate:
            total += self.compress_rate * self._series * self.head_dim + self.head_dim
            if self.indexer is not None:
                total += self.compress_rate * 2 * self.indexer.head_dim + self.indexer.head_dim
        return total

    def per_image_params(self, d: int) -> int:
        return 0

    def kv_values_per_token(self) -> int:
        """The window's key-value head (one tensor: keys are values); the pooled entries'
        share, one entry per compress_rate tokens, is `compressed_entry`."""
        return self.head_dim

    def kv_values_per_image(self, vision) -> int:
        return 0

    def state_values(self) -> int:
        return 0

    def attended_entries(self, context_len: int) -> int:
        """Pooled entries one query at this context attends to."""
        if not self.compress_rate:
            return 0
        entries = context_len // self.compress_rate
        return min(entries, self.indexer.top_k) if self.indexer is not None else entries

    def score_flops_per_token(self, context_len: int, image_features: int = 0) -> int:
        """Scores and values over the window and the attended entries (head_dim each); the
        indexer's ReLU scores over every entry and their weighting; the token's share of the
        pooled sums (a multiply-add per pooled value)."""
        keys = min(context_len, self.sliding_window) + self.attended_entries(context_len)
        flops = 4 * self.num_heads * self.head_dim * keys
        if self.compress_rate:
            flops += 2 * self._series * self.head_dim
            if self.indexer is not None:
                index = self.indexer
                entries = context_len // self.compress_rate
                flops += 2 * index.num_heads * (index.head_dim + 1) * entries + 2 * 2 * index.head_dim
        return flops

    # --- the roofline ---

    @property
    def point_kind(self) -> str:
        """The roofline's kinds: the gallery calls CSA/HCA "MLA-style" (a single latent-like
        key-value head shared by every query head), CSA sparse through its indexer."""
        if self.is_local:
            return "sliding window"
        return "sparse MLA" if self.indexer is not None else "MLA"

    def step_cost(self, step: Step, site: MixerSite) -> Cost:
        """The window's key-value head and the attended entries read once per step (the
        indexer's keys, all of them, too); the new token's key-value and its pending
        projections written."""
        keys = step.context + step.tokens
        per_row = step.batch * step.dtype_bytes
        window = min(keys, self.sliding_window)
        entries = keys // self.compress_rate if self.compress_rate else 0
        attended = self.attended_entries(keys)
        cache = per_row * (self.head_dim * (window + attended) + self.pending_values() * step.tokens
                           + self.head_dim * step.tokens)
        if self.indexer is not None:
            cache += per_row * self.indexer.head_dim * entries
        flops = step.rows * self.score_flops_per_token(keys)
        return step.projections(self, site.d_model) + Cost(cache_bytes=cache, flops=flops)

    # --- validation and explore scale ---

    def check(self, check: Checker, path: str) -> None:
        check.positive(self, path, "num_heads", "head_dim", "q_lora_rank", "o_groups", "o_lora_rank",
                       "sliding_window", "norm_eps")
        check.non_negative(self, path, "compress_rate")
        check.rope(self.rope, at(path, "rope"), self.head_dim)
        check.divides(path, "o_groups", self.o_groups, "num_heads", self.num_heads)
        if self.overlap and not self.compress_rate:
            check.add(at(path, "overlap"), "overlapping windows need a compress_rate")
        if self.indexer is not None:
            index_path = at(path, "indexer")
            check.positive(self.indexer, index_path, "num_heads", "head_dim", "top_k")
            if not self.overlap:  # transformers builds the indexer in CSA layers only
                check.add(index_path, "an indexer picks among overlapping (CSA) entries: needs overlap")
            if self.indexer.head_dim < self.rope.rotary_dim:
                check.add(at(index_path, "head_dim"), f"{self.indexer.head_dim} is smaller than the rotary "
                          f"dimension {self.rope.rotary_dim}")

    def explored(self, shrink: Shrinker) -> CompressedAttention:
        """Heads, widths and the window shrink; the compression rates stay (the layer pattern
        is theirs), as does the indexer's top-k where the explore context still exceeds it."""
        heads = min(self.num_heads, shrink.max_heads)
        groups = min(self.o_groups, heads)
        while heads % groups:
            groups -= 1
        head_dim = shrink.head_dim(self.head_dim)
        rotary = max(8, self.rope.rotary_dim // 4)
        indexer = self.indexer
        if indexer is not None:
            indexer = replace(indexer, num_heads=min(indexer.num_heads, 8),
                              head_dim=max(rotary, shrink.head_dim(indexer.head_dim)),
                              top_k=shrink.window(indexer.top_k))
        return replace(self, num_heads=heads, head_dim=head_dim, q_lora_rank=shrink.multiple(self.q_lora_rank / 8),
                       o_groups=groups, o_lora_rank=shrink.multiple(self.o_lora_rank / 8),
                       sliding_window=shrink.window(self.sliding_window),
                       rope=shrink.rope(self.rope, self.rope.rotary_dim, rotary), indexer=indexer)

    @classmethod
    def palette_default(cls, d_model: int, heads: int, head_dim: int,
                        rope_theta: float | None) -> CompressedAttention:
        """DeepSeek V4-Flash's proportions (64 heads of 512 over 4096) at this width: a CSA layer."""
        width = max(16, head_dim * 4)
        return cls(num_heads=heads, head_dim=width, q_lora_rank=max(8, d_model // 4), o_groups=1,
                   o_lora_rank=max(8, d_model // 4), sliding_window=128,
                   rope=Rope(rope_theta or 160_000.0, max(8, width // 8), interleaved=True),
                   compress_rate=4, overlap=True, indexer=CompressedIndexer(max(1, heads // 2), max(16, width // 4), 512))

    def attention_heads(self) -> tuple[int, int, float]:
        return self.num_heads, self.head_dim, self.rope.theta

    # --- words ---

    @property
    def _short(self) -> str:
        if not self.compress_rate:
            return "SWA"
        return "CSA" if self.indexer is not None else "HCA"

    def box_lines(self) -> list[str]:
        lines = [f"{self.num_heads} heads · 1 shared KV head × {self.head_dim}",
                 f"window {self.sliding_window} · q latent {self.q_lora_rank} · {self.o_groups} output groups"]
        if self.compress_rate:
            pooled = f"1 entry / {self.compress_rate} tokens" + (" (overlapping)" if self.overlap else "")
            if self.indexer is not None:
                pooled += f" · top-{self.indexer.top_k}"
            lines.append(pooled)
        lines.append(f"RoPE θ {theta_text(self.rope.theta)} · sinks")
        return lines

    def label(self, say_global: bool = False) -> str:
        return {"SWA": "sliding window (V4)", "CSA": "CSA", "HCA": "HCA"}[self._short]

    def describe(self) -> str:
        text = f"{self._short} {self.num_heads}h/1x{self.head_dim} w{self.sliding_window}"
        if self.compress_rate:
            text += f" m{self.compress_rate}"
        if self.indexer is not None:
            text += f" top-{self.indexer.top_k}"
        return text

    headline = describe
    pattern_label: ClassVar[str] = "CSA/HCA"
