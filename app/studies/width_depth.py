"""§9.1 of the comparison: width against depth. gpt-oss-20b is wide and shallow (24 layers of
width 2880), Qwen3-30B-A3B narrow and deep (48 of width 2048), at a similar size -- but they
differ in more than shape. So a second pair holds everything else: Qwen3-8B as published (36
layers of width 4096) against its wide twin, half as many layers, each wider (its width x
about 1.41 and its MLP widened until a layer holds twice the parameters), the same
parameters outside the embeddings. Each whole model's decode throughput at batch 1 and 16,
from its published-width slice (one layer of each distinct kind, measured, times how many the
model has) beside the roofline's for the whole model."""

from __future__ import annotations

import math
from dataclasses import replace

from ..runtime.batch_sweep import batch_sweep
from ..runtime.session import Session
from ..spec import ArchSpec
from ..spec.analysis import analyze
from ..spec.roofline import predict_step
from ..units import human_count
from .common import arm_series, entry, measured_at, measured_result, published_contexts, roofs_for
from .listing import LISTINGS
from .runs import arm_snapshot
from .study import Arm, Figure, Row, Settings, Study, StudyResult

QUESTION = ("gpt-oss is wider and shallower than Qwen3-30B-A3B at a similar size: what does each shape cost "
            "in decode throughput, alone and batched? And with everything else held, one family's deep model "
            "against its wide twin of the same size?")
MODELS = (("gpt-oss-20b", "gpt-oss-20b (wide)"), ("qwen3-30b-a3b", "Qwen3-30B-A3B (deep)"))
FAMILY = "qwen3-8b"
# the labels of each pair the answer compares, wide first
PAIRS = ((MODELS[0][1], MODELS[1][1]), ("Qwen3-8B wide twin", "Qwen3-8B (deep)"))
CONTEXT = 64  # tokens each row holds before the timed steps
WIDTH_STEP = 128  # widths stay multiples of this, as published ones are


def wide_twin(spec: ArchSpec, depth_divisor: int = 2) -> ArchSpec:
    """`spec` (a uniform stack of attention + MLP layers) with 1/depth_divisor of its layers,
    each wider: the width times sqrt(depth_divisor), the attention's heads as they were, and the
    MLP widened until a layer holds depth_divisor times the parameters -- so the parameters
    outside the embeddings stay the same (within the rounding to WIDTH_STEP)."""
    layer = spec.layers[0]
    if any(other != layer for other in spec.layers) or layer.ffn_kind != "mlp" or spec.num_layers % depth_divisor:
        raise ValueError(f"{spec.name}: a wide twin needs {depth_divisor} x n identical attention + MLP layers")
    target = depth_divisor * analyze(spec).layers[0].params
    width = round(spec.d_model * math.sqrt(depth_divisor) / WIDTH_STEP) * WIDTH_STEP

    def layer_of(intermediate: int):
        return replace(layer, ffn=replace(layer.ffn, intermediate_size=intermediate))

    def params_of(intermediate: int) -> int:
        twin = replace(spec, d_model=width, layers=(layer_of(intermediate),))
        return analyze(twin).layers[0].params

    # A layer's parameters grow linearly with the MLP's width: solve, then round.
    base = params_of(WIDTH_STEP)
    per_step = params_of(2 * WIDTH_STEP) - base
    steps = max(1, round((target - base) / per_step) + 1)
    return replace(spec, name=f"{spec.name} wide twin", d_model=width,
                   layers=(layer_of(steps * WIDTH_STEP),) * (spec.num_layers // depth_divisor))


def arms(settings: Settings) -> list[Arm]:
    models = [(label, entry(name, settings)) for name, label in MODELS]
    # A quick run leaves the same-family pair out: two more published-width models to make
    # would take it past two minutes on 2 cores.
    if not (settings.quick and settings.size == "published"):
        family = entry(FAMILY, settings)
        models += [(PAIRS[1][1], family), (PAIRS[1][0], wide_twin(family))]
    chosen = []
    for label, spec in models:
        analysis = analyze(spec)
        chosen.append(Arm(label, spec, f"{spec.name}: {spec.num_layers} layers of width {spec.d_model}"
                                       f"{_mlp_width(spec)}, {human_count(analysis.total_params)} parameters "
                                       f"({human_count(analysis.non_embedding_params)} outside the embeddings), "
                                       f"{human_count(analysis.active_params)} active per token"))
    return chosen


def _mlp_width(spec: ArchSpec) -> str:
    ffn = spec.layers[0].ffn
    return f" (MLP {ffn.intermediate_size})" if spec.layers[0].ffn_kind == "mlp" else ""


def batches(settings: Settings) -> list[int]:
    return published_contexts(settings, tiny=[1, 4], quick=[1, 16], full=[1, 4, 16])


def run(settings: Settings) -> StudyResult:
    roofs, roofs_note = roofs_for(settings)
    notes = [roofs_note]
    rows, snapshots = [], {}
    chosen = arms(settings)
    for index, arm in enumerate(chosen):
        settings.progress(f"measuring {arm.label}", index / len(chosen))
        session = Session.from_slice(arm.spec, settings.device, settings.dtype)
        plan = session.slice_plan
        notes += [f"{arm.label}: {note}" for note in plan.notes]
        points = batch_sweep(session, batches(settings), context=CONTEXT, decode_steps=2 if settings.quick else 4,
                             roofs=roofs, cancelled=settings.cancelled)
        element = session.dtype.itemsize
        snapshots[arm.label] = arm_snapshot(session, roofs, batch_sweep=points, cancelled=settings.cancelled,
                                            note=arm.note)
        del session
        for point in points:
            layers_ms = sum(ms * count for ms, count in zip(point.layer_ms, plan.counts))
            outside_ms = point.decode_ms - sum(point.layer_ms)  # embedding, head, sampling: once per step
            step_ms = layers_ms + outside_ms
            predicted_ms = predict_step(arm.spec, roofs, "decode", 1, CONTEXT, point.batch, element).total_ms
            rows.append(Row(arm.label, "step_ms", point.batch, round(step_ms, 3), round(predicted_ms, 4), "ms"))
            rows.append(Row(arm.label, "tokens_per_s", point.batch, round(point.batch * 1e3 / step_ms, 3),
                            round(point.batch * 1e3 / predicted_ms, 3), "tokens/s"))
    settings.progress("done", 1.0)
    if len(chosen) == len(MODELS):
        notes.append(f"quick run: {FAMILY} and its wide twin are left out (a full run measures them)")
    setup = [f"{arm.label}: {arm.note}" for arm in chosen] + [
        f"each model runs as its slice at the published widths (one layer of each distinct kind, random "
        f"weights), decoding one token per row after {CONTEXT} tokens of context; the whole model's step is "
        "each slice layer's time times the layers it stands for, plus what the step spent outside the "
        "layers; the roofline's figure is the whole model's"]
    result = measured_result(STUDY.listing, QUESTION, setup, rows, settings, roofs, notes, snapshots, answer,
                             quoted=False)
    result.figures = [
        Figure("throughput", "Whole-model decode throughput", "batch size", "tokens/s",
               arm_series(result, "tokens_per_s"), log_x=True),
        Figure("decode-time", "Whole-model decode step", "batch size", "time (ms)", arm_series(result, "step_ms"),
               log_x=True),
    ]
    return result


def answer(result: StudyResult) -> str:
    """For each pair measured: both models' tokens per second at the smallest and largest
    batch, and which is faster at each."""
    sentences = []
    for pair in PAIRS:
        if not all(result.rows_of("tokens_per_s", label) for label in pair):
            continue
        sizes = sorted({row.x for row in result.rows_of("tokens_per_s", pair[0])})
        parts = []
        for batch in (sizes[0], sizes[-1]):
            speed = {label: measured_at(result, "tokens_per_s", label, batch) for label in pair}
            faster = max(pair, key=speed.get)
            slower = min(pair, key=speed.get)
            parts.append(f"at batch {int(batch)} " + " against ".join(f"{label} {speed[label]:.2f} tokens/s"
                                                                       for label in pair)
                         + f" ({faster} {speed[faster] / speed[slower]:.2f}x as fast)")
        sentences.append("Decoding " + "; ".join(parts) + ".")
    return " ".join(sentences)


STUDY = Study(LISTINGS["width-vs-depth"], QUESTION, run, answer)
