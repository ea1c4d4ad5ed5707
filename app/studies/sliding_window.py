"""§4 of the comparison: does a sliding window make decoding faster, or only smaller?
Gemma 3 27B's local layer with and without its window, beside Mistral Small 3.1's global
attention, which the article contrasts it with."""

from __future__ import annotations

from dataclasses import replace

from ..units import human_bytes
from .common import (
    ONE_LAYER,
    common_contexts,
    context_study,
    decode_rows,
    entry,
    layer_model,
    measured_at,
    published_contexts,
)
from .listing import LISTINGS
from .study import Arm, Settings, Study, StudyResult

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
    return published_contexts(settings, tiny=[32, 256],
                              quick=[512, 2048, 8192], full=[1024, 4096, 16384, 65536, 131072])


def run(settings: Settings) -> StudyResult:
    return context_study(LISTINGS["sliding-window-latency"], QUESTION, arms(settings), contexts(settings), settings,
                         decode_rows, [ONE_LAYER], answer, "layer_ms", "Decode step of one layer")


def answer(result: StudyResult) -> str:
    """At the longest context both Gemma arms reached: the window's cache and decode time
    against the same layer's without it."""
    window, full = "Gemma 3 window", "Gemma 3 global"
    common = common_contexts(result, "layer_ms", [window, full])
    if not common:
        return "No context length fit both Gemma 3 arms in memory; see the notes."
    context = max(common)
    cache = {arm: measured_at(result, "kv_bytes", arm, context) for arm in (window, full)}
    took = {arm: measured_at(result, "layer_ms", arm, context) for arm in (window, full)}
    return (f"At {int(context):,} tokens the window holds {human_bytes(cache[window])} of cache against "
            f"{human_bytes(cache[full])} without it ({cache[full] / cache[window]:.1f}x less), and a decode step "
            f"of the layer took {took[window]:.2f} ms against {took[full]:.2f} ms "
            f"({took[full] / took[window]:.2f}x as fast).")


STUDY = Study(LISTINGS["sliding-window-latency"], QUESTION, run, answer)
