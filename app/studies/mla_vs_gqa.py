"""§1.1 of the comparison: DeepSeek V3's multi-head latent attention against the grouped-
query attention it was not given, and the multi-head attention both replace."""

from __future__ import annotations

from dataclasses import replace

from ..spec.mixers import Attention
from ..spec.parts import Rope
from ..units import human_bytes
from .common import decode_rows, entry, layer_model, measure_arm, roofs_for
from .study import Arm, Figure, Series, Settings, Study, StudyResult

QUESTION = ("It would have been interesting to see the KV cache per token savings comparison between MLA "
            "and GQA.")
# Llama 3.1 405B's grouping of 128 query heads: the GQA a model of DeepSeek V3's width would have had
GQA_KV_HEADS_PER_128 = 8


def arms(settings: Settings) -> list[Arm]:
    deepseek = entry("deepseek-v3", settings)
    first = deepseek.layers[0]  # the dense layers come first; their attention is every layer's
    mla = first.mixer
    heads, head_dim = mla.num_heads, mla.v_head_dim
    rope = Rope(mla.rope.theta if mla.rope else 10_000.0, head_dim)
    gqa_kv = max(1, heads * GQA_KV_HEADS_PER_128 // 128)
    gqa = Attention(num_heads=heads, num_kv_heads=gqa_kv, head_dim=head_dim, rope=rope)
    mha = replace(gqa, num_kv_heads=heads)

    def model(mixer, label):
        return layer_model(deepseek, [replace(first, mixer=mixer, ffn=None)], f"{deepseek.name}: {label}")

    return [
        Arm("MLA", model(mla, "MLA"), f"DeepSeek V3's attention layer: {mla.describe()}"),
        Arm(f"GQA {heads}/{gqa_kv}", model(gqa, "GQA"),
            f"the same query heads with {gqa_kv} key/value heads of width {head_dim} (Llama 3.1 405B's "
            f"{128 // GQA_KV_HEADS_PER_128} query heads per group): {gqa.describe()}"),
        Arm(f"MHA {heads}/{heads}", model(mha, "MHA"), f"one key/value head per query head: {mha.describe()}"),
    ]


def contexts(settings: Settings) -> list[int]:
    if settings.size == "tiny":
        return [64, 256]
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
            "each arm is that one attention layer (no feed-forward) at the published widths, decoding one "
            "token at each context length; the cache is declared full rather than prefilled"],
        rows=rows, figures=[], device=roofs.device, dtype=settings.dtype, quick=settings.quick,
        size=settings.size, notes=notes, snapshots=snapshots)
    result.answer = answer(result)
    result.figures = figures(result)
    return result


def answer(result: StudyResult) -> str:
    """At the longest context every arm reached: how many times fewer cache bytes per token
    MLA holds than each other arm, and the decode time of each arm's layer."""
    labels = list(dict.fromkeys(row.arm for row in result.rows))
    reached = [{row.x for row in result.rows_of("layer_ms", label)} for label in labels]
    common = set.intersection(*reached) if reached else set()
    if not common:
        return "No context length fit every arm in memory; see the notes."
    context = max(common)
    per_token = {label: _at(result, "kv_bytes_per_token", label, context) for label in labels}
    times = {label: _at(result, "layer_ms", label, context) for label in labels}
    mla, others = labels[0], labels[1:]
    savings = " and ".join(_times(per_token[mla], per_token[other], other) for other in others)
    timing = ", ".join(f"{label} {times[label]:.2f} ms" for label in labels)
    return (f"At {int(context):,} tokens MLA holds {human_bytes(per_token[mla])} of cache per token, "
            f"{savings} ({', '.join(human_bytes(per_token[other]) for other in others)}); one decode step "
            f"of the layer took {timing}.")


def _times(ours: float, theirs: float, label: str) -> str:
    """"6.4x less than MHA", "1.2x more than GQA 8/1": how ours compares with theirs."""
    return f"{theirs / ours:.1f}x less than {label}" if theirs >= ours else f"{ours / theirs:.1f}x more than {label}"


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
    name="mla-vs-gqa", title="MLA against GQA and MHA: the KV cache per token, and what it costs to read",
    section="§1.1", question=QUESTION,
    summary="DeepSeek V3's latent attention against GQA and MHA of the same heads: cache bytes and decode time "
            "per layer from 1k to 128k tokens",
    run=run)
