"""§9.2 and §5 of the comparison: few large experts against many small ones. gpt-oss-20b's
MoE layer (32 experts, 4 active) against Qwen3-30B-A3B's (128 experts, 8 active), and
DeepSeek V3's against Llama 4 Maverick's where they fit: the MoE layer's decode step as the
batch grows, and how many of its experts the batch's tokens reach (and so read)."""

from __future__ import annotations

from dataclasses import replace

from ..model.memory_fit import NotEnoughMemory
from ..runtime.batch_sweep import batch_sweep
from ..runtime.session import Session
from ..spec.ffn import expected_experts_reached
from .common import arm_series, entry, layer_model, measured_at, measured_result, published_contexts, roofs_for
from .listing import LISTINGS
from .runs import arm_snapshot
from .study import Arm, Figure, Row, Settings, Study, StudyResult

QUESTION = ("Is it better to have few large experts or many small ones? gpt-oss uses 32 experts with 4 active; "
            "Qwen3 uses 128 with 8 active. What does each cost per decoded token as the batch grows?")
PAIRS = (("gpt-oss-20b", "gpt-oss-20b"), ("qwen3-30b-a3b", "Qwen3-30B-A3B"), ("deepseek-v3", "DeepSeek V3"),
         ("llama4-maverick", "Llama 4 Maverick"))
CONTEXT = 8  # tokens each row holds before the timed steps: an MoE layer has no cache to fill


def arms(settings: Settings) -> list[Arm]:
    chosen = []
    for name, label in PAIRS:
        spec = entry(name, settings)
        layer = next(layer for layer in spec.layers if layer.ffn_kind == "moe")
        moe = layer.ffn
        chosen.append(Arm(label, layer_model(spec, [replace(layer, mixer=None)], f"{spec.name}: MoE layer"),
                          f"{spec.name}'s MoE layer alone: {moe.describe()} ({moe.num_experts} experts, "
                          f"{moe.top_k} active, {moe.expert.intermediate_size} wide)"))
    return chosen


def batches(settings: Settings) -> list[int]:
    return published_contexts(settings, tiny=[1, 4, 16], quick=[1, 4, 16], full=[1, 4, 16, 64])


def run(settings: Settings) -> StudyResult:
    roofs, roofs_note = roofs_for(settings)
    notes = [roofs_note, "the weights are random, so the router spreads tokens about uniformly: the experts "
             "reached here are those of uniform routing, which a trained router's preferences would change"]
    rows, snapshots = [], {}
    chosen = arms(settings)
    for index, arm in enumerate(chosen):
        settings.progress(f"measuring {arm.label}", index / len(chosen))
        try:
            session = Session.from_arch(arm.spec, "slice", settings.device, settings.dtype)
        except NotEnoughMemory as error:
            notes.append(f"{arm.label}: left out, {error}")
            continue
        points = batch_sweep(session, batches(settings), context=CONTEXT, decode_steps=2 if settings.quick else 4,
                             roofs=roofs, cancelled=settings.cancelled)
        snapshots[arm.label] = arm_snapshot(session, roofs, batch_sweep=points, cancelled=settings.cancelled,
                                            note=arm.note)
        del session
        moe = arm.spec.layers[0].ffn
        for point in points:
            predicted = (point.kind_ms_predicted or {}).get("MoE")
            rows.append(Row(arm.label, "moe_ms", point.batch, point.kind_ms["MoE"], predicted, "ms"))
            rows.append(Row(arm.label, "moe_ms_per_token", point.batch, round(point.kind_ms["MoE"] / point.batch, 4),
                            round(predicted / point.batch, 6) if predicted is not None else None, "ms"))
            counts = point.routing.get("0", [])
            rows.append(Row(arm.label, "experts_reached", point.batch, sum(1 for count in counts if count),
                            round(expected_experts_reached(moe.num_experts, moe.top_k, point.batch), 2), "experts"))
    settings.progress("done", 1.0)
    setup = [f"{arm.label}: {arm.note}" for arm in chosen] + [
        "each arm is the MoE layer alone (no attention) at the published widths, decoding one token per row "
        "of the batch; its time is the probe's time of the MoE sublayer"]
    result = measured_result(STUDY.listing, QUESTION, setup, rows, settings, roofs, notes, snapshots, answer,
                             quoted=False)
    result.figures = [
        Figure("moe-time", "MoE layer's decode step, per token", "batch size", "time per token (ms)",
               arm_series(result, "moe_ms_per_token"), log_x=True),
        Figure("experts-reached", "Experts the batch's tokens reach", "batch size", "experts",
               arm_series(result, "experts_reached"), log_x=True),
    ]
    return result


def answer(result: StudyResult) -> str:
    """Per arm measured: its MoE step per token at the smallest and largest batch, and the
    experts reached there."""
    parts = []
    for label in dict.fromkeys(row.arm for row in result.rows):
        sizes = sorted(row.x for row in result.rows_of("moe_ms", label))
        low, high = sizes[0], sizes[-1]
        first, last = (measured_at(result, "moe_ms_per_token", label, x) for x in (low, high))
        reached = int(measured_at(result, "experts_reached", label, high))
        parts.append(f"{label} {first:.2f} ms per token at batch {int(low)}, {last:.2f} ms at batch {int(high)} "
                     f"({last / first:.2f}x the per-token cost at batch {int(low)}), its tokens reaching "
                     f"{reached} experts")
    return ("The MoE layer's decode step: " + "; ".join(parts) + ".") if parts else "No arm fit in memory."


STUDY = Study(LISTINGS["few-large-vs-many-small-experts"], QUESTION, run, answer)
