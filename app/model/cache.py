"""Per-layer caches, preallocated once, written in place (no torch.cat of the history).

`FullKVCache` keeps every token; `SlidingWindowCache` is a ring buffer of the window, so
its bytes stop growing there. `RecurrentState` is what a linear-attention or state-space
layer keeps instead: fixed-size tensors that do not grow with the context. All report the bytes of the tokens they hold (`nbytes`)
and of what they allocated (`capacity_nbytes`). `ModelCache` holds one per layer.
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

    def update(self, keys: torch.Tensor, values: torch.Tensor, positions: torch.Tensor, start: int):
        """Store new keys/values [B, H, T, D] at their positions, start, start + 1, ...;
        return everything visible (keys, values, their positions)."""
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

    def update(self, keys: torch.Tensor, values: torch.Tensor, positions: torch.Tensor, start: int):
        """Return the window's past tokens followed by the new ones (the queries may reach
        back into the ring), then keep the last `window` of them. positions start at start."""
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


class RecurrentState:
    """A recurrent layer's memory: named fixed-size tensors (its recurrent state, the last
    inputs of each short convolution), zero before the first token. They are held in the
    model's dtype, as the analysis counts them; layers compute their updates in float32."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], dtype: torch.dtype, device: torch.device | str):
        self.tensors = {name: torch.zeros(shape, dtype=dtype, device=device) for name, shape in shapes.items()}
        self.seen = 0  # tokens folded into the state so far

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.tensors[name]

    def __setitem__(self, name: str, value: torch.Tensor) -> None:
        self.tensors[name].copy_(value)

    def nbytes(self) -> int:
        return sum(tensor.nbytes for tensor in self.tensors.values())

    def capacity_nbytes(self) -> int:
        return self.nbytes()


class ModelCache:
    """One cache per layer (None for a layer that keeps nothing) and the next position."""

    def __init__(self, layers: list, max_len: int):
        self.layers = layers
        self.max_len = max_len
        self.position = 0

    def nbytes(self) -> int:
        return sum(self.layer_nbytes())

    def layer_nbytes(self) -> list[int]:
        return [layer.nbytes() if layer is not None else 0 for layer in self.layers]

    def capacity_nbytes(self) -> int:
        return sum(layer.capacity_nbytes() for layer in self.layers if layer is not None)
