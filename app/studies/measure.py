"""What a study measures of one model: the decode step at chosen context lengths, per
layer, with the roofline's prediction and the analysis' cache bytes beside each figure.

The context is not prefilled: the cache is declared full (`ModelCache.advance`) and the
decode step reads it as it would a real one. What a decode step costs depends on how many
keys it reads, not on their values, so a 128k-token point costs one step instead of a
128k-token prefill; its cache bytes are the bytes the caches really allocated for those
positions.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch

from ..model.memory_fit import require_cache
from ..runtime.probe import LayerTimer
from ..spec.analysis import analyze
from ..spec.roofline import Roofs, predict_step


@dataclass
class DecodePoint:
    context_len: int
    tokens_held: int  # after the measured steps: the context plus the steps' tokens
    step_ms: float  # the median decode step, wall clock
    layer_ms: list[float]  # that step's per-layer times (the probe's)
    kv_bytes: int  # what the caches hold after the step, measured
    kv_bytes_predicted: int  # the analysis' figure for the same positions
    layer_ms_predicted: list[float] = field(default_factory=list)  # the roofline's least time; [] uncalibrated

    def to_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def decode_at_contexts(session, contexts: list[int], steps: int = 3, roofs: Roofs | None = None,
                       cancelled=lambda: False) -> list[DecodePoint]:
    """The median of `steps` decode steps at each context, in increasing order. Raises
    memory_fit.NotEnoughMemory (naming what did not fit) before allocating a cache that
    would not fit, and probe.Cancelled between layers once `cancelled()` is true."""
    model, spec, device = session.model, session.spec, session.device
    element = model.dtype.itemsize
    analysis = analyze(spec)
    generator = torch.Generator().manual_seed(0)
    points = []
    for context in sorted(contexts):
        capacity = context + steps
        require_cache(spec, 1, capacity, device, session.dtype)
        cache = model.new_cache(1, capacity)
        cache.advance(context)
        timer = LayerTimer(spec.num_layers, device, cancelled)
        token = torch.randint(0, spec.vocab_size, (1, 1), generator=generator).to(device)
        measured = []
        for _ in range(steps):
            started = time.perf_counter()
            logits = model(token, cache=cache, last_only=True, observer=timer)
            token = logits[:, -1].argmax(-1, keepdim=True)
            token.item()  # wait for the step
            measured.append(((time.perf_counter() - started) * 1e3, timer.resolve().layer_ms))
        step_ms, layer_ms = sorted(measured, key=lambda item: item[0])[(steps - 1) // 2]
        held = cache.position
        predicted = (predict_step(spec, roofs, "decode", 1, context, 1, element).layer_ms
                     if roofs is not None else [])
        points.append(DecodePoint(
            context_len=context, tokens_held=held, step_ms=round(step_ms, 4),
            layer_ms=[round(ms, 4) for ms in layer_ms],
            kv_bytes=cache.nbytes(), kv_bytes_predicted=analysis.kv_bytes_at(held, element),
            layer_ms_predicted=[round(ms, 5) for ms in predicted]))
        del cache
    return points
