"""A long prompt's prefill in chunks through the cache, so that cancel takes effect promptly.

The profiler checks the cancel flag as each layer starts, but one layer over a 4k-token
prompt can take longer than a user waits for Stop. Every model continues a sequence from
its cache (`model(ids, cache=cache)`: full, sliding-window, latent and recurrent caches
alike), so the prompt goes through in chunks (PREFILL_CHUNK_TOKENS): each layer then
works on one chunk at a time, and the logits are those of a one-shot prefill (a test
holds them equal). The earlier chunks compute no logits (`head=False`); the step's
per-layer times are the sums over its chunks.
"""

from __future__ import annotations

import torch

from .probe import LayerTimes

# The chunk's size by device type. On the CPU a layer's time grows with the chunk: a 4k-token
# prefill of Gemma 3 270M (float32, 2 cores, unloaded) looked at the cancel flag at worst
# every 59 / 93 / 147 ms with chunks of 128 / 256 / 512 tokens (1485 ms in one piece),
# prefilling in 15.7 / 12.4 / 11.7 s (20.2 s in one piece: the one-shot attention is
# quadratic in the whole prompt). 256 leaves room for a busier machine under the 200 ms a
# Stop may take. A GPU runs a layer over 2048 tokens in milliseconds; smaller chunks there
# would only add kernel launches.
PREFILL_CHUNK_TOKENS = {"cpu": 256}
PREFILL_CHUNK_TOKENS_ELSEWHERE = 2048


def chunk_tokens(device: torch.device) -> int:
    return PREFILL_CHUNK_TOKENS.get(device.type, PREFILL_CHUNK_TOKENS_ELSEWHERE)


def prefill_all_but_last_chunk(model, input_ids: torch.Tensor, cache, observer,
                               timed: bool) -> tuple[torch.Tensor, list[LayerTimes]]:
    """Runs every chunk of input_ids [B, T] but the last through the model into the cache;
    returns the last chunk (for the caller's step, which computes the logits) and, when
    timed (observer is a LayerTimer), each earlier chunk's layer times."""
    times = []
    size = chunk_tokens(input_ids.device)
    while input_ids.shape[1] > size:
        model(input_ids[:, :size], cache=cache, observer=observer, head=False)
        if timed:
            times.append(observer.resolve())
        input_ids = input_ids[:, size:]
    return input_ids, times


def with_earlier_chunks(last: LayerTimes, earlier: list[LayerTimes]) -> LayerTimes:
    """The prefill step's times: each layer's summed over the chunks; the head and the
    sampling ran once, after the last chunk."""
    if not earlier:
        return last

    def summed(field: str) -> list[float]:
        columns = zip(getattr(last, field), *(getattr(chunk, field) for chunk in earlier))
        return [round(sum(column), 4) for column in columns]

    return LayerTimes(summed("layer_ms"), summed("mixer_ms"), summed("ffn_ms"), last.head_ms, last.sample_ms)
