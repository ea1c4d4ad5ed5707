"""Context sweep: decode cost at chosen context lengths, filled with synthetic tokens.

It is the run that shows what sliding windows, latent caches and recurrent states do to
the cost curve: per context, the decode time per token (per layer with the probe), and the
cache bytes held, measured and predicted.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from ..spec.analysis import analyze
from .probe import CancelCheck, LayerTimer

PREFILL_CHUNK = 512  # tokens per prefill forward: bounds the attention scores' memory


@dataclass
class SweepPoint:
    context_len: int
    decode_ms: float  # median per decode step
    layer_ms: list[float]  # median per layer (empty without the probe)
    kv_bytes: int  # held after the decode steps
    kv_bytes_predicted: int


@torch.no_grad()
def context_sweep(session, contexts: list[int], decode_steps: int = 4, probe: bool = True,
                  cancelled=lambda: False, on_point=None) -> list[SweepPoint]:
    model, spec = session.model, session.spec
    analysis = analyze(spec)
    element = model.dtype.itemsize
    limit = spec.learned_positions or 0
    generator = torch.Generator().manual_seed(0)
    points = []
    for context in sorted(contexts):
        if limit and context + decode_steps > limit:
            raise ValueError(f"context {context}: {spec.name} has {limit} learned positions, so at most "
                             f"{limit - decode_steps} tokens of context fit")
        cache = model.new_cache(1, context + decode_steps)
        tokens = torch.randint(0, spec.vocab_size, (1, context), generator=generator).to(session.device)
        checker = CancelCheck(cancelled)
        for start in range(0, context, PREFILL_CHUNK):
            model(tokens[:, start:start + PREFILL_CHUNK], cache=cache, last_only=True, observer=checker)
        timer = LayerTimer(spec.num_layers, session.device, cancelled) if probe else checker
        step_ms, layer_ms = [], []
        token = tokens[:, -1:]
        for _ in range(decode_steps):
            started = time.perf_counter()
            logits = model(token, cache=cache, last_only=True, observer=timer)
            token = logits[:, -1].argmax(-1, keepdim=True)
            token.item()  # wait for the step
            step_ms.append((time.perf_counter() - started) * 1e3)
            if probe:
                layer_ms.append(timer.resolve().layer_ms)
        held = cache.position
        point = SweepPoint(
            context_len=context,
            decode_ms=round(statistics.median(step_ms), 4),
            layer_ms=[round(statistics.median(column), 4) for column in zip(*layer_ms)],
            kv_bytes=cache.nbytes(),
            kv_bytes_predicted=analysis.kv_bytes_at(held, element),  # with an N-gram model's token ids
        )
        points.append(point)
        if on_point is not None:
            on_point(point)
        del cache
    return points
