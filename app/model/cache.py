"""Per-layer caches, preallocated once, written in place (no torch.cat of the history).

`FullKVCache` keeps every token; `SlidingWindowCache` is a ring buffer of the window, so
its bytes stop growing there. `RecurrentState` is what a linear-attention or state-space
layer keeps instead: fixed-size tensors that do not grow with the context. All report the bytes of the tokens they hold (`nbytes`)
and of what they allocated (`capacity_nbytes`). `ModelCache` holds one per layer.

A replayable step (one CUDA graph for every position) writes at the device positions
instead of at a host start: `update(..., start=None)` then returns the whole buffer.
"""

from __future__ import annotations

import torch


class FullKVCache:
    def __init__(self, batch: int, max_len: int, kv_heads: int, key_dim: int, value_dim: int,
                 dtype: torch.dtype, device: torch.device | str):
        self.keys = torch.zeros(batch, kv_heads, max_len, key_dim, dtype=dtype, device=device)
        self.values = torch.zeros(batch, kv_heads, max_len, value_dim, dtype=dtype, device=device)
        self.length = 0
        self.bytes_per_token = batch * kv_heads * (key_dim + value_dim) * self.keys.element_size()

    def update(self, keys: torch.Tensor, values: torch.Tensor, positions: torch.Tensor, start: int | None):
        """Store new keys/values [B, H, T, D] at their positions, start, start + 1, ...;
        return everything visible (keys, values, their positions; None: 0..S-1). start None
        (a replayable step): written at the device positions, and the whole buffer comes
        back -- slot s holds position s, so a causal mask hides the slots not yet written."""
        if start is None:
            self.keys.index_copy_(2, positions, keys)
            self.values.index_copy_(2, positions, values)
            return self.keys, self.values, None
        end = start + positions.shape[0]
        if end > self.keys.shape[2]:
            raise ValueError(f"cache holds {self.keys.shape[2]} tokens; position {end - 1} does not fit "
                             "(make it with a larger max_len)")
        self.keys[:, :, start:end] = keys
        self.values[:, :, start:end] = values
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end], None

    def nbytes(self) -> int:
        return self.length * self.bytes_per_token

    def capacity_nbytes(self) -> int:
        return self.keys.nbytes + self.values.nbytes

    def advance(self, end: int) -> None:
        self.length = end

    def reset(self) -> None:
        self.length = 0


class SlidingWindowCache:
    """The last `window` tokens in a ring: token p lives in slot p % window."""

    def __init__(self, batch: int, window: int, kv_heads: int, key_dim: int, value_dim: int,
                 dtype: torch.dtype, device: torch.device | str):
        self.window = window
        self.keys = torch.zeros(batch, kv_heads, window, key_dim, dtype=dtype, device=device)
        self.values = torch.zeros(batch, kv_heads, window, value_dim, dtype=dtype, device=device)
        self.slot_positions = torch.full((window,), -1, dtype=torch.long, device=device)  # -1: empty
        self.seen = 0
        self.bytes_per_token = batch * kv_heads * (key_dim + value_dim) * self.keys.element_size()

    def update(self, keys: torch.Tensor, values: torch.Tensor, positions: torch.Tensor, start: int | None):
        """Return the window's past tokens followed by the new ones (the queries may reach
        back into the ring), then keep the last `window` of them. positions start at start.
        start None (a replayable one-token step): the token goes into its slot first and the
        whole ring comes back -- the token it replaces lies a window back, out of sight."""
        if start is None:
            slots = positions % self.window
            self.keys.index_copy_(2, slots, keys)
            self.values.index_copy_(2, slots, values)
            self.slot_positions.index_copy_(0, slots, positions)
            return self.keys, self.values, self.slot_positions
        # Token p sits in slot p % window, so until the ring wraps the filled slots are a
        # prefix: a step reads only those, not the empty rest of the window.
        filled = min(start, self.window)
        visible_keys = torch.cat((self.keys[:, :, :filled], keys), dim=2)
        visible_values = torch.cat((self.values[:, :, :filled], values), dim=2)
        visible_positions = torch.cat((self.slot_positions[:filled], positions))
        kept = min(keys.shape[2], self.window)
        slots = positions[-kept:] % self.window
        self.keys[:, :, slots] = keys[:, :, -kept:]
        self.values[:, :, slots] = values[:, :, -kept:]
        self.slot_positions[slots] = positions[-kept:]
        self.seen = start + positions.shape[0]
        return visible_keys, visible_values, visible_positions

    def nbytes(self) -> int:
        return min(self.seen, self.window) * self.bytes_per_token

    def capacity_nbytes(self) -> int:
        return self.keys.nbytes + self.values.nbytes

    def advance(self, end: int) -> None:
        self.seen = end

    def reset(self) -> None:
        self.slot_positions.fill_(-1)
        self.seen = 0


class RecurrentState:
    """A recurrent layer's memory: named fixed-size tensors (its recurrent state, the last
    inputs of each short convolution), zero before the first token. They are held in the
    model's dtype, as the analysis counts them; layers compute their updates in float32."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], dtype: torch.dtype, device: torch.device | str):
        self.tensors = {name: torch.zeros(shape, dtype=dtype, device=device) for name, shape in shapes.items()}
        self.seen = 0  # tokens folded into the state so far (kept by ModelCache.advance)

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.tensors[name]

    def __setitem__(self, name: str, value: torch.Tensor) -> None:
        self.tensors[name].copy_(value)

    def nbytes(self) -> int:
        return sum(tensor.nbytes for tensor in self.tensors.values())

    def capacity_nbytes(self) -> int:
        return self.nbytes()

    def advance(self, end: int) -> None:
        self.seen = end

    def reset(self) -> None:
        for tensor in self.tensors.values():
            tensor.zero_()
        self.seen = 0


class TokenHistory:
    """The last `length` token ids of each row, which an N-gram embedding (LongCat-Flash-Lite)
    hashes with the next tokens: position p lives in slot p % length. A step reads the slots
    of the `length` positions before its first, then writes its own, so a replayable step
    (positions on the device) reads and writes the same way, and the buffer never grows.
    Token ids, not activations: int64 whatever the model's dtype."""

    def __init__(self, batch: int, length: int, device: torch.device | str):
        self.length = length
        self.ids = torch.zeros(batch, length, dtype=torch.long, device=device)

    def before(self, positions: torch.Tensor) -> torch.Tensor:
        """The ids at the `length` positions before positions[0], oldest first [B, length];
        0 before the sequence starts, which hashes as the reference's shift fills in there."""
        earlier = positions[:1] - self.length + torch.arange(self.length, device=positions.device)
        held = self.ids.index_select(1, earlier % self.length)
        return torch.where(earlier >= 0, held, torch.zeros((), dtype=held.dtype, device=held.device))

    def write(self, input_ids: torch.Tensor, positions: torch.Tensor) -> None:
        kept = min(input_ids.shape[1], self.length)
        self.ids.index_copy_(1, positions[-kept:] % self.length, input_ids[:, -kept:])

    def nbytes(self) -> int:
        # held whole from the first step on: the analysis counts the `length` ids as a constant
        return self.ids.nbytes

    def capacity_nbytes(self) -> int:
        return self.ids.nbytes

    def reset(self) -> None:
        self.ids.zero_()


class ModelCache:
    """One cache per layer (None for a layer that keeps nothing) and the next position;
    `tokens`: the token ids an N-gram embedding keeps (None for every other model)."""

    def __init__(self, layers: list, max_len: int, tokens: TokenHistory | None = None):
        self.layers = layers
        self.max_len = max_len
        self.position = 0
        self.tokens = tokens

    def nbytes(self) -> int:
        """The layers' caches and states, and the token ids of an N-gram embedding."""
        return sum(self.layer_nbytes()) + (self.tokens.nbytes() if self.tokens is not None else 0)

    def layer_nbytes(self) -> list[int]:
        return [layer.nbytes() if layer is not None else 0 for layer in self.layers]

    def capacity_nbytes(self) -> int:
        return (sum(layer.capacity_nbytes() for layer in self.layers if layer is not None)
                + (self.tokens.capacity_nbytes() if self.tokens is not None else 0))

    # A replayed step (a CUDA graph) writes the caches on the device only; its runner keeps
    # the host's account of how many tokens they hold.
    def advance(self, end: int) -> None:
        """The caches now hold positions 0..end-1."""
        self.position = end
        for layer in self.layers:
            if layer is not None:
                layer.advance(end)

    def reset(self) -> None:
        """Empty again, as made: recurrent states zeroed, window rings unfilled. (Key and value
        slots keep stale numbers, which every position overwrites before it is read.)"""
        self.position = 0
        for layer in self.layers:
            if layer is not None:
                layer.reset()
        if self.tokens is not None:
            self.tokens.reset()
