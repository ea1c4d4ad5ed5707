"""§4 of the comparison: does a sliding window make decoding faster, or only smaller?
Gemma 3 27B's local layer with and without its window, beside Mistral Small 3.1's global
attention, which the article contrasts it with."""

from __future__ import annotations

from dataclasses import replace

from ..units import human_bytes
from .common import decode_rows, entry, layer_model, measure_arm, roofs_for
from .study import Arm, Figure, Series, Settings, Study, StudyResult

QUESTION = ("I speculate that while sliding window attention reduces memory usage, it doesn't necessarily "
            "reduce inference latency")


def arms(settings: Settings) -> list[Arm]:
    gemma = entry("gemma3-27b", settings)
    local = next(layer for layer in gemma.layers if layer.mixer is not None and layer.mixer.is_local)
    unwindowed = replace(local, mixer=replace(local.mixer, sliding_window=0, chunk_size=0))
    mistral = entry("mistral-small-3.1", settings)
    plain = mistral.layers[0]

    def model(base, layer, label):
        return layer_model(base, [replace(layer, ffn=None)], f"{base.name}: {label}")

    return [
        Arm("Gemma 3 window", model(gemma, local, "window"),
            f"Gemma 3 27B's local layer: {local.mixer.describe()}"),
        Arm("Gemma 3 global", model(gemma, unwindowed, "global"),
            f"the same layer without its window: {unwindowed.mixer.describe()}"),
        Arm("Mistral Small 3.1", model(mistral, plain, "attention"),
            f"Mistral Small 3.1's attention layer: {plain.mixer.describe()}"),
    ]


def contexts(settings: Settings) -> list[int]:
    if settings.size == "tiny":
        return [32, 256]
    return [512, 2048, 8192] if settings.quick else [1024, 4096, 16384, 65536, 131072]


def run(settings: Settings) -> StudyResult:
    roofs, roofs_note = roofs_for(settings)
    notes = [roofs_note]
    rows, snapshots = [], {}
    chosen = arms(settings)
    for index, arm in enumerate(chosen):
        settings.progress(f"measuring {arm.label}", index / len(chosen))
        points = measure_arm(arm, contexts(settings), settings, roofs, notes)
        snapshots[arm.label] = [point.to_dict() for point in points]
        rows += decode_rows(arm, points)
    result = StudyResult(
        study=STUDY.name, title=STUDY.title, section=STUDY.section, question=QUESTION, answer="",
        setup=[f"{arm.label}: {arm.note}" for arm in chosen] + [
            "each arm is one attention layer (no feed-forward) at the published widths, decoding one token at "
            "each context length; the cache is declared full rather than prefilled"],
        rows=rows, figures=[], device=roofs.device, dtype=settings.dtype, quick=settings.quick,
        size=settings.size, notes=notes, snapshots=snapshots)
    result.answer = answer(result)
    result.figures = figures(result)
    return result


def answer(result: StudyResult) -> str:
    """At the longest context both Gemma arms reached: the window's cache and decode time
    against the same layer's without it."""
    window, full = "Gemma 3 window", "Gemma 3 global"
    common = {row.x for row in result.rows_of("layer_ms", window)} & {row.x for row in result.rows_of("layer_ms", full)}
    if not common:
        return "No context length fit both Gemma 3 arms in memory; see the notes."
    context = max(common)
    cache = {arm: _at(result, "kv_bytes", arm, context) for arm in (window, full)}
    time = {arm: _at(result, "layer_ms", arm, context) for arm in (window, full)}
    return (f"At {int(context):,} tokens the window holds {human_bytes(cache[window])} of cache against "
            f"{human_bytes(cache[full])} without it ({cache[full] / cache[window]:.1f}x less), and a decode step "
            f"of the layer took {time[window]:.2f} ms against {time[full]:.2f} ms "
            f"({time[full] / time[window]:.2f}x as fast).")


def _at(result: StudyResult, quantity: str, arm: str, x: float) -> float:
    return next(row.measured for row in result.rows_of(quantity, arm) if row.x == x)


def figures(result: StudyResult) -> list[Figure]:
    def series(quantity: str, scale: float = 1.0) -> list[Series]:
        drawn = []
        for label in dict.fromkeys(row.arm for row in result.rows):
            rows = result.rows_of(quantity, label)
            xs = [row.x for row in rows]
            drawn.append(Series(label, xs, [row.measured * scale for row in rows]))
            if all(row.predicted is not None for row in rows):
                drawn.append(Series(f"{label} predicted", xs, [row.predicted * scale for row in rows], predicted=True))
        return drawn

    return [
        Figure("kv-cache", "KV cache held, one layer", "context (tokens)", "cache (MiB)",
               series("kv_bytes", 1 / 2**20), log_x=True, log_y=True),
        Figure("decode-time", "Decode step of one layer", "context (tokens)", "time (ms)", series("layer_ms"),
               log_x=True),
    ]


STUDY = Study(
    name="sliding-window-latency", title="Sliding windows: smaller caches, and faster decoding?",
    section="§4", question=QUESTION,
    summary="Gemma 3 27B's local layer with and without its window, and Mistral Small 3.1's: cache and decode "
            "time per layer against context",
    run=run)
