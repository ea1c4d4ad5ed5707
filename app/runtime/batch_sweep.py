"""Batch sweep: decode cost at chosen batch sizes, after a short synthetic context.

It is the run that shows where batching stops being free: at batch 1 a decode step reads
every weight to produce one token, so a dense MLP is bound by memory and the step costs
about the same at batch 4; as the batch grows the same bytes feed more tokens until the
MLP turns bound by arithmetic. An MoE layer reaches more experts as the batch grows, so it
stays bound by memory far longer. Per batch: the decode time per step and per token, the
time per layer kind (with the probe), the memory in use and the cache bytes held,
measured and predicted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from ..defaults import DEFAULT_BATCH_SWEEP_CONTEXT
from ..spec.analysis import analyze
from ..spec.roofline import MatrixBytes, Roofs, ffn_point_kind, mixer_point_kind, predict_ms, step_cost
from .memory import sample
from .probe import CancelCheck, LayerTimer

PREFILL_CHUNK = 512  # tokens per prefill forward (per batch row): bounds the attention scores' memory
DEFAULT_DECODE_STEPS = 5


def time_per_kind(spec, mixer_ms: list[float], ffn_ms: list[float]) -> dict[str, float]:
    """The probe's mixer and feed-forward times summed over the layers of each point kind."""
    kinds: dict[str, float] = {}
    for layer, mixer_time, ffn_time in zip(spec.layers, mixer_ms, ffn_ms):
        for kind, spent in ((mixer_point_kind(layer.mixer), mixer_time), (ffn_point_kind(layer.ffn), ffn_time)):
            if kind:
                kinds[kind] = round(kinds.get(kind, 0.0) + spent, 4)
    return kinds


@dataclass
class BatchPoint:
    batch: int
    context_len: int  # tokens in each row's cache before the timed steps
    decode_ms: float  # median per decode step (the whole batch)
    ms_per_token: float  # decode_ms / batch
    tokens_per_s: float
    layer_ms: list[float]  # per layer, of the median step (empty without the probe)
    kind_ms: dict[str, float]  # per decode step, summed over the layers of each point kind
    memory_bytes: int  # peak torch allocation on a GPU; the process RSS on the CPU
    kv_bytes: int  # held after the decode steps, all rows
    kv_bytes_predicted: int
    routing: dict[str, list[int]] = field(default_factory=dict)  # MoE layer -> tokens per expert, median step
    predicted_ms_per_token: float | None = None  # the roofline's, where the device is calibrated
    kind_ms_predicted: dict[str, float] | None = None


def predicted_times(spec, point: BatchPoint, roofs: Roofs, dtype_bytes: int,
                    matrices: MatrixBytes | None = None) -> tuple[float, dict[str, float]]:
    """The roofline's (ms per token, {point kind: ms per step}) for a point's decode step,
    with the experts its MoE layers really reached. Each layer's mixer and feed-forward is
    bound by its own roof, as the probe times them apart; the step adds the embedding,
    head and sampling rows. The context is the point's before its first timed step: the
    few tokens the steps add move nothing visible."""
    rows = step_cost(spec, "decode", context=point.context_len, batch=point.batch, dtype_bytes=dtype_bytes,
                     routing=point.routing or None, matrices=matrices)
    kinds: dict[str, float] = {}
    model_rows_ms = 0.0
    for row in rows:
        if row.layer is None:
            model_rows_ms += predict_ms(row, roofs)
            continue
        for kind, part in ((row.mixer_kind, row.mixer), (row.ffn_kind, row.ffn)):
            if kind:
                kinds[kind] = kinds.get(kind, 0.0) + predict_ms(part, roofs)
    step_ms = model_rows_ms + sum(kinds.values())
    return round(step_ms / point.batch, 6), {kind: round(ms, 6) for kind, ms in kinds.items()}


def _memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return sample(device)["rss"]


@torch.no_grad()
def batch_sweep(session, batches: list[int], context: int = DEFAULT_BATCH_SWEEP_CONTEXT,
                decode_steps: int = DEFAULT_DECODE_STEPS, probe: bool = True, roofs: Roofs | None = None,
                cancelled=lambda: False, on_point=None) -> list[BatchPoint]:
    """roofs: the device's calibration, for the roofline's prediction beside each point
    (None: measured only). Raises probe.Cancelled between layers when `cancelled()` turns
    true."""
    model, spec, device = session.model, session.spec, session.device
    analysis = analyze(spec)
    element = model.dtype.itemsize
    limit = spec.learned_positions or 0
    if limit and context + decode_steps > limit:
        raise ValueError(f"context {context}: {spec.name} has {limit} learned positions, so at most "
                         f"{limit - decode_steps} tokens of context fit")
    recording = probe and hasattr(model, "record_routing")
    generator = torch.Generator().manual_seed(0)
    points = []
    if recording:
        model.record_routing(True)
    try:
        for batch in sorted(batches):
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            cache = model.new_cache(batch, context + decode_steps)
            tokens = torch.randint(0, spec.vocab_size, (batch, context), generator=generator).to(device)
            checker = CancelCheck(cancelled)
            for start in range(0, context, PREFILL_CHUNK):
                model(tokens[:, start:start + PREFILL_CHUNK], cache=cache, last_only=True, observer=checker)
            if recording:
                model.take_routing_counts()  # the prefill's tokens are not the decode's
            timer = LayerTimer(spec.num_layers, device, cancelled) if probe else checker
            steps = []  # (wall ms, LayerTimes or None, routing) per decode step
            token = tokens[:, -1:]
            for _ in range(decode_steps):
                started = time.perf_counter()
                logits = model(token, cache=cache, last_only=True, observer=timer)
                token = logits[:, -1].argmax(-1, keepdim=True)
                token[0].item()  # wait for the step
                wall_ms = (time.perf_counter() - started) * 1e3
                routing = {str(k): v for k, v in model.take_routing_counts().items()} if recording else {}
                steps.append((wall_ms, timer.resolve() if probe else None, routing))
            # The point reports one real step, the median one, rather than medians of each
            # column: its layers' times then add up to no more than its own wall time.
            wall_ms, times, routing = sorted(steps, key=lambda step: step[0])[(len(steps) - 1) // 2]
            decode_ms = round(wall_ms, 4)
            point = BatchPoint(
                batch=batch, context_len=context, decode_ms=decode_ms,
                ms_per_token=round(wall_ms / batch, 4), tokens_per_s=round(batch * 1e3 / wall_ms, 3),
                layer_ms=times.layer_ms if times else [],
                kind_ms=time_per_kind(spec, times.mixer_ms, times.ffn_ms) if times else {},
                memory_bytes=_memory_bytes(device),
                kv_bytes=cache.nbytes(),
                kv_bytes_predicted=batch * analysis.kv_bytes_at(cache.position, element),
                routing=routing,
            )
            if roofs is not None:
                point.predicted_ms_per_token, point.kind_ms_predicted = predicted_times(spec, point, roofs, element,
                                                                                    session.matrices)
            points.append(point)
            if on_point is not None:
                on_point(point)
            del cache, tokens
    finally:
        if recording:
            model.record_routing(False)
    return points
