"""The comparison's local:global attention patterns side by side: the same attention layer
(Gemma 3 27B's) stacked twelve deep at 5:1 (Gemma 3), 3:1 (Olmo 3), 1:1 (gpt-oss) and all
global, and all global with NoPE every fourth layer (SmolLM3): cache held and decode time."""

from __future__ import annotations

from dataclasses import replace

from ..units import human_bytes
from .common import (
    common_contexts,
    context_study,
    entry,
    layer_model,
    measured_at,
    published_contexts,
    step_rows,
)
from .listing import LISTINGS
from .study import Arm, Settings, Study, StudyResult

QUESTION = ("What do the local:global attention patterns of Gemma 3 (5:1), Olmo 3 (3:1) and gpt-oss (1:1), and "
            "SmolLM3's NoPE every fourth layer, cost in cache and decode time against all-global attention?")
DEPTH = 12  # the least depth every pattern fills whole periods of: 6, 4 and 2 layers
GLOBAL = "all global"


def arms(settings: Settings) -> list[Arm]:
    gemma = entry("gemma3-27b", settings)
    local = next(layer for layer in gemma.layers if layer.mixer.is_local)
    local = replace(local, ffn=None)
    full = replace(local, mixer=replace(local.mixer, sliding_window=0))
    nope = replace(full, mixer=replace(full.mixer, rope=None))

    def pattern(locals_per_global: int) -> list:
        period = [local] * locals_per_global + [full]
        return period * (DEPTH // len(period))

    stacks = [("5:1", pattern(5), "Gemma 3's pattern"), ("3:1", pattern(3), "Olmo 3's"),
              ("1:1", pattern(1), "gpt-oss's"), (GLOBAL, [full] * DEPTH, "no window"),
              ("NoPE every 4th", ([full] * 3 + [nope]) * (DEPTH // 4), "SmolLM3's, all global")]
    return [Arm(label, layer_model(gemma, layers, f"{gemma.name}: {label}"),
                f"{DEPTH} layers, {note}: {sum(layer.mixer.is_local for layer in layers)} with a "
                f"{local.mixer.sliding_window}-token window, the rest global")
            for label, layers, note in stacks]


def contexts(settings: Settings) -> list[int]:
    return published_contexts(settings, tiny=[64, 256], quick=[2048, 8192], full=[4096, 16384, 32768])


def run(settings: Settings) -> StudyResult:
    chosen = arms(settings)
    setup = (f"every layer is Gemma 3 27B's attention ({chosen[0].spec.layers[-1].mixer.describe()}), without its "
             "feed-forward, at the published widths; each arm decodes one token at each context, the cache declared "
             "full rather than prefilled")
    return context_study(LISTINGS["attention-budget"], QUESTION, chosen, contexts(settings), settings, step_rows,
                         [setup], answer, "layers_ms", f"Decode step of {DEPTH} attention layers", quoted=False)


def answer(result: StudyResult) -> str:
    """At the longest context every arm reached: each pattern's cache as a share of all
    global attention's, and each arm's decode step."""
    labels = list(dict.fromkeys(row.arm for row in result.rows))
    common = common_contexts(result, "layers_ms", labels)
    if not common:
        return "No context length fit every arm in memory; see the notes."
    context = max(common)
    cache = {label: measured_at(result, "kv_bytes", label, context) for label in labels}
    took = {label: measured_at(result, "layers_ms", label, context) for label in labels}
    shares = ", ".join(f"{label} {cache[label] / cache[GLOBAL]:.0%}" for label in labels if label != GLOBAL)
    timing = ", ".join(f"{label} {took[label]:.1f} ms" for label in labels)
    return (f"At {int(context):,} tokens the patterns hold this share of all-global attention's "
            f"{human_bytes(cache[GLOBAL])} of cache: {shares}; a decode step of the {DEPTH} layers took {timing}.")


STUDY = Study(LISTINGS["attention-budget"], QUESTION, run, answer)
