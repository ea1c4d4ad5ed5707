"""Layer patterns of the published models, resolved to one entry per layer.

Each function answers, for layer i of n, which kind it is; the spec stores the
resolved list, so nothing downstream re-derives a pattern.
"""

from __future__ import annotations


def local_global(num_layers: int, local: int, global_: int = 1) -> list[bool]:
    """True where a layer is local (sliding-window): `local` local layers, then
    `global_` global ones, repeated (Gemma 3 5:1, gpt-oss 1:1, MiMo-V2-Flash 5:1)."""
    period = local + global_
    return [i % period < local for i in range(num_layers)]


def every_kth(num_layers: int, k: int) -> list[bool]:
    """True for layers k-1, 2k-1, ... (1-based multiples of k): SmolLM3's NoPE layers,
    Qwen3-Next's full-attention layers (k=4), MiniMax-M1's softmax layers (k=8)."""
    return [k > 0 and (i + 1) % k == 0 for i in range(num_layers)]


def first_k(num_layers: int, k: int) -> list[bool]:
    """True for the first k layers: DeepSeek V3's three dense layers before the MoE ones."""
    return [i < k for i in range(num_layers)]


def interleaved(num_layers: int, step: int) -> list[bool]:
    """True every `step`-th layer counting from 1 (Llama 4: MoE on odd layers, step 2)."""
    return [step > 0 and (i + 1) % step == 0 for i in range(num_layers)]


def kth_interval(flags: list[bool]) -> int | None:
    """The k for which every_kth gives these flags (a config's `full_attention_interval`,
    `no_rope_layer_interval`, or, for local/global, `sliding_window_pattern`), or None."""
    return next((k for k in range(1, len(flags) + 1) if every_kth(len(flags), k) == list(flags)), None)
