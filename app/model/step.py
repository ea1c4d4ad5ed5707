"""What every layer of one forward pass shares: the positions being computed, their
rotary cos/sin per distinct Rope, attention masks built once (not once per layer), and
the observer a profiler may attach."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch


class LayerObserver(Protocol):
    """Told where the forward pass is: mark(layer, "start" | "mixer" | "ffn") at a block's
    start and after each of its sublayers, and mark(num_layers, "head") when the logits
    are ready. A profiler times the intervals; a runner may raise from it to cancel
    between layers.

    Inside a compiled graph (the fast mode) a host call cannot run between two kernels, so
    there the model calls mark_in_graph(x, layer, point) instead: the observer returns the
    hidden state threaded through an op of its own (one the compiler keeps in place, since
    what follows reads its output), or x itself to mark nothing. Marks such an op records
    (on the CPU, without calling back into Python) reach mark once the step is done, with
    `at`, the time they were made on time.perf_counter's clock."""

    def mark(self, layer: int, point: str, at: float | None = None) -> None: ...

    def mark_in_graph(self, x: torch.Tensor, layer: int, point: str) -> torch.Tensor: ...


def marked(observer: LayerObserver | None, x: torch.Tensor, layer: int, point: str) -> torch.Tensor:
    """x, after telling the observer (if any) that the pass reached `point` of `layer`."""
    if observer is None:
        return x
    if torch.compiler.is_compiling():
        return observer.mark_in_graph(x, layer, point)
    observer.mark(layer, point)
    return x


def visibility_mask(query_positions: torch.Tensor, key_positions: torch.Tensor, window: int = 0,
                    chunk: int = 0, query_blocks: torch.Tensor | None = None,
                    key_blocks: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean [T, S]: which keys each query may attend to. Causal; a window of w keeps
    the w most recent tokens (the query's own included); a chunk keeps its own chunk.
    Blocks (ids >= 0, -1 for none): tokens of one block also see each other's future --
    one image's tokens in Gemma 3 -- still within the window."""
    q = query_positions[:, None]
    k = key_positions[None, :]
    visible = k <= q
    if query_blocks is not None:
        visible |= (query_blocks[:, None] == key_blocks[None, :]) & (query_blocks[:, None] >= 0)
    visible &= k >= 0  # negative positions mark empty cache slots
    if window:
        visible &= q - k < window
    if chunk:
        # The query's chunk starts at q - q % chunk. (Not floor(k / chunk) == floor(q / chunk):
        # torch.compile 2.13 tiles the key loop by the divisor when sizes are symbols and
        # computed that form wrong below one chunk of keys.)
        first = q - q % chunk
        visible &= (k >= first) & (k < first + chunk)
    return visible


@dataclass
class Step:
    positions: torch.Tensor  # [T] absolute positions of this forward's tokens
    rotary: dict  # Rope -> (cos, sin), each [T, rotary_dim]
    observer: LayerObserver | None = None
    image_blocks: torch.Tensor | None = None  # [T] image block of each token (-1: text), for bidirectional images
    image: object | None = None  # cross-attention (method B): the image features this step brings
    image_rows: torch.Tensor | None = None  # [B, T] which tokens saw an image in the last cross-attention layer
    _masks: dict = field(default_factory=dict)
    # Gemma 3n: the keys and values (and their positions) a source layer publishes for the
    # later layers that share them, by its index; and each layer's per-layer embedding input
    shared_kv: dict = field(default_factory=dict)
    per_layer_inputs: torch.Tensor | None = None  # [B, T, layers, width]
    # LongCat-Flash: a shortcut MoE's routed sum [B, T, d], on its way to the next block's end
    shortcut: torch.Tensor | None = None
    # ZAYA1: an MLP router's state [N, width], on its way to the next MoE layer's router
    router_state: torch.Tensor | None = None
    # DeepSeek V4: the forward's token ids [B, T], and a hash-routed layer's experts for them
    # [B x T, top_k], looked up by its block from its token-to-experts table
    input_ids: torch.Tensor | None = None
    hashed_experts: torch.Tensor | None = None
    # positions[0] on the host, where the caller knows it: the caches slice by it, and
    # reading it back from a GPU tensor would make every layer of every step wait.
    start: int | None = None
    # A one-token step captured once and replayed at every position (a CUDA graph): nothing
    # on the host may depend on the position. The caches write at the device positions and
    # hand back their whole buffers; the masks hide the slots not yet written.
    replayable: bool = False

    def cache_start(self) -> int | None:
        """Where the caches write this step's tokens, on the host; None in a replayable
        step, whose caches write at the device tensor `positions` instead."""
        if self.replayable:
            return None
        if self.start is None:
            self.start = int(self.positions[0])
        return self.start

    def mask(self, key_positions: torch.Tensor | None, key_count: int, window: int = 0,
             chunk: int = 0) -> torch.Tensor | None:
        """The mask for keys at key_positions (None: 0..key_count-1, contiguous), or None
        when every key is visible to every query -- a single decode step over a full cache
        (not a replayable one, whose cache hands back the slots of later tokens too)."""
        length = self.positions.shape[0]
        if (key_positions is None and not window and not chunk and length == 1 and self.image_blocks is None
                and not self.replayable):
            return None
        # Layers of one kind see the same key positions within a step (their caches move
        # in lockstep), so the mask is memoized by kind and key count.
        key = (key_positions is None, window, chunk, key_count)
        if torch.compiler.is_compiling():
            # key_count is a symbol there, which a dict lookup would pin to one value (a
            # new graph every step); the compiler merges the repeated masks itself.
            return self._build_mask(key_positions, key_count, window, chunk)
        if key not in self._masks:
            self._masks[key] = self._build_mask(key_positions, key_count, window, chunk)
        return self._masks[key]

    def _build_mask(self, key_positions: torch.Tensor | None, key_count: int, window: int,
                    chunk: int) -> torch.Tensor:
        if key_positions is None:
            key_positions = torch.arange(key_count, device=self.positions.device)
        blocks = (self.image_blocks, self._key_blocks(key_positions)) if self.image_blocks is not None else ()
        return visibility_mask(self.positions, key_positions, window, chunk, *blocks)

    def _key_blocks(self, key_positions: torch.Tensor) -> torch.Tensor:
        """The image block of each key: this step's tokens have theirs, earlier ones none."""
        offset = key_positions - self.positions[0]
        inside = (offset >= 0) & (offset < self.positions.shape[0])
        blocks = self.image_blocks[offset.clamp(0, self.positions.shape[0] - 1)]
        return torch.where(inside, blocks, torch.full_like(blocks, -1))
