"""§12 and §14 of the comparison: the linear-attention hybrids against their full-attention
twins. One period of each model's layer pattern -- Qwen3-Next's three Gated DeltaNet layers
and one gated attention layer, Kimi Linear's three Kimi Delta Attention layers and one MLA
layer -- against the same four layers all full attention, as the context grows."""

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

QUESTION = ("What do the linear-attention hybrids (Qwen3-Next, Kimi Linear) save in cache and decode time "
            "against full attention as the context grows?")
# The Kimi Linear report's own figures, quoted beside ours, never mixed with them.
PAPER = ("The Kimi Linear report states up to 75% less KV cache and up to 6x the decoding throughput of full "
         "attention at 1M tokens of context; those are its figures, measured on its hardware.")
SETUP = ("each arm decodes one token through its layers (no feed-forward networks: they are the same in both "
         "arms) at the published widths; the cache is declared full rather than prefilled; the cache held counts "
         "the recurrent layers' constant state")
PAIRS = (("qwen3-next-80b-a3b", "Qwen3-Next"), ("kimi-linear-48b-a3b", "Kimi Linear"))


def _period(spec) -> list:
    """The first period of the layer pattern: linear layers up to and including the first
    full-attention one, without their feed-forward networks (the same in both arms)."""
    full = next(i for i, layer in enumerate(spec.layers) if not layer.mixer.recurrent)
    return [replace(layer, ffn=None) for layer in spec.layers[:full + 1]]


def arms(settings: Settings) -> list[Arm]:
    chosen = []
    for name, label in PAIRS:
        spec = entry(name, settings)
        period = _period(spec)
        full = period[-1]
        twin = [full] * len(period)
        pattern = " + ".join(layer.mixer.describe() for layer in period)
        chosen.append(Arm(f"{label} hybrid", layer_model(spec, period, f"{spec.name}: hybrid period"),
                          f"one period of {spec.name}'s pattern: {pattern}"))
        chosen.append(Arm(f"{label} full attention", layer_model(spec, twin, f"{spec.name}: full twin"),
                          f"the same {len(period)} layers all {full.mixer.describe()}"))
    return chosen


def contexts(settings: Settings) -> list[int]:
    return published_contexts(settings, tiny=[64, 256], quick=[1024, 4096, 8192],
                              full=[4096, 16384, 65536, 131072])


def run(settings: Settings) -> StudyResult:
    return context_study(LISTINGS["linear-attention-hybrids"], QUESTION, arms(settings), contexts(settings),
                         settings, step_rows, [SETUP, PAPER], answer, "layers_ms",
                         "Decode step of one pattern period", quoted=False)


def answer(result: StudyResult) -> str:
    """Per pair, at the longest context both arms reached: the share of cache the hybrid
    saves, and how its decode step compares."""
    parts = []
    for _, label in PAIRS:
        hybrid, full = f"{label} hybrid", f"{label} full attention"
        common = common_contexts(result, "layers_ms", [hybrid, full])
        if not common:
            parts.append(f"{label}: no context fit both arms")
            continue
        context = max(common)
        cache = {arm: measured_at(result, "kv_bytes", arm, context) for arm in (hybrid, full)}
        took = {arm: measured_at(result, "layers_ms", arm, context) for arm in (hybrid, full)}
        parts.append(f"{label} at {int(context):,} tokens holds {human_bytes(cache[hybrid])} against "
                     f"{human_bytes(cache[full])} ({1 - cache[hybrid] / cache[full]:.0%} less) and decodes a period "
                     f"in {took[hybrid]:.2f} ms against {took[full]:.2f} ms ({took[full] / took[hybrid]:.2f}x as fast)")
    return "; ".join(parts) + "."


STUDY = Study(LISTINGS["linear-attention-hybrids"], QUESTION, run, answer)
