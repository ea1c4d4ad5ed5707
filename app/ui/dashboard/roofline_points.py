"""A run as the roofline sees it: what each kind of layer part (attention, MLA, MoE, dense
MLP, the head, ...) moved, computed and took over the run's decode steps, and the least time
the device's roofs allow for it. The costs are recomputed from the run's spec with
app/spec/roofline.step_cost; no Qt, no torch."""

from __future__ import annotations

from dataclasses import dataclass

from ...dtypes import BYTES_PER_VALUE
from ...spec import ArchSpec
from ...spec.roofline import (FFN_POINT_KINDS, MIXER_POINT_KINDS, CostRow, MatrixBytes, Roofs, predict_ms,
                              step_cost)
from .record import RunRecord

HEAD_KIND = "head"
POINT_KINDS = (*MIXER_POINT_KINDS, *FFN_POINT_KINDS, HEAD_KIND)  # the chart's order, the legend's too
# step_cost takes ~0.5 ms for a 7-layer explore model and ~2 ms for a 61-layer one, in the
# window's thread: a run's points are summed over at most this many decode steps spread
# evenly over it, so the run's end or an opened snapshot does not stall the window (128
# steps held it ~70 ms for explore DeepSeek V3, ~110 ms for Gemma 3 270M). Context grows
# by one a step, so evenly spread steps sum in the run's proportions.
MAX_COSTED_STEPS = 24


@dataclass
class KindPoint:
    """One kind's totals over the costed decode steps."""

    kind: str
    flops: int = 0
    bytes: int = 0
    measured_s: float = 0.0
    predicted_s: float | None = None  # None without the device's roofs

    @property
    def intensity(self) -> float:
        """FLOPs per byte moved."""
        return self.flops / self.bytes if self.bytes else 0.0

    @property
    def flops_per_s(self) -> float:
        """Achieved: the kind's FLOPs over its measured time."""
        return self.flops / self.measured_s if self.measured_s > 0 else 0.0

    @property
    def fraction_of_roofline(self) -> float | None:
        """The roofs' least time over the measured time: 1 is as fast as the device allows."""
        if self.predicted_s is None or self.measured_s <= 0:
            return None
        return self.predicted_s / self.measured_s


@dataclass(frozen=True)
class RunCosting:
    """What step_cost needs to know about a run besides the step itself."""

    spec: ArchSpec
    roofs: Roofs | None
    batch: int
    dtype_bytes: int
    prompt_tokens: int
    matrices: MatrixBytes | None = None  # low-bit weights' bytes per weight, as the run recorded them

    @classmethod
    def of(cls, record: RunRecord) -> RunCosting | None:
        """None when the record carries no readable spec (an old or hand-made snapshot)."""
        spec = record.spec()
        if spec is None:
            return None
        run = record.run or {}
        roofs = Roofs.from_dict(run["roofs"]) if run.get("roofs") else None
        first_tokens = len(record.steps[0].get("tokens") or ()) if record.steps else 0
        batch = int(run.get("batch") or record.batch or first_tokens or 1)
        dtype_bytes = BYTES_PER_VALUE.get(str(record.model.get("dtype", "float32")), 4)
        held = record.model.get("matrix_bytes")
        matrices = MatrixBytes.from_dict(held) if isinstance(held, dict) else None
        return cls(spec, roofs, batch, dtype_bytes, int(run.get("prompt_tokens") or 0), matrices)

    def rows(self, step: dict) -> list[CostRow]:
        """step_cost of one snapshot step: the layers in order, then embedding, head, sampling."""
        prefill = step.get("phase") == "prefill"
        tokens = max(self.prompt_tokens, 1) if prefill else 1
        context = max(int(step["seq_len"]) - tokens, 0)
        return step_cost(self.spec, "prefill" if prefill else "decode", tokens=tokens, context=context,
                         batch=self.batch, dtype_bytes=self.dtype_bytes, routing=step.get("routing") or None,
                         matrices=self.matrices)

    def predicted_ms(self, part) -> float | None:
        return predict_ms(part, self.roofs) if self.roofs is not None else None


def costed_decode_steps(record: RunRecord) -> list[dict]:
    """The decode steps the probe timed, at most MAX_COSTED_STEPS of them, evenly spread."""
    timed = [step for step in record.steps if step.get("phase") == "decode" and step.get("mixer_ms")]
    if len(timed) <= MAX_COSTED_STEPS:
        return timed
    stride = len(timed) / MAX_COSTED_STEPS
    return [timed[int(i * stride)] for i in range(MAX_COSTED_STEPS)]


def kind_points(record: RunRecord, costing: RunCosting | None = None) -> list[KindPoint]:
    """One point per kind present in the run (POINT_KINDS order): its FLOPs and bytes summed
    over the costed decode steps, against its measured time summed over the same steps (a
    mixer part timed as the step's mixer_ms, a feed-forward part as ffn_ms, the head as
    head_ms). Kinds never timed are left out."""
    costing = costing or RunCosting.of(record)
    if costing is None:
        return []
    points: dict[str, KindPoint] = {}

    def add(kind: str, part, measured_ms) -> None:
        if not kind or measured_ms is None or measured_ms <= 0:
            return
        point = points.setdefault(kind, KindPoint(kind, predicted_s=None if costing.roofs is None else 0.0))
        point.flops += part.flops
        point.bytes += part.bytes
        point.measured_s += measured_ms / 1e3
        predicted = costing.predicted_ms(part)
        if predicted is not None:
            point.predicted_s += predicted / 1e3

    for step in costed_decode_steps(record):
        rows = costing.rows(step)
        mixer_ms, ffn_ms = step.get("mixer_ms") or [], step.get("ffn_ms") or []
        for row in rows:
            if row.layer is not None:
                add(row.mixer_kind, row.mixer, mixer_ms[row.layer] if row.layer < len(mixer_ms) else None)
                add(row.ffn_kind, row.ffn, ffn_ms[row.layer] if row.layer < len(ffn_ms) else None)
            elif row.kind == HEAD_KIND:
                add(HEAD_KIND, row, step.get("head_ms"))
    return [points[kind] for kind in POINT_KINDS if kind in points and points[kind].flops > 0]


@dataclass
class PartTimes:
    """Per layer (mixer, feed-forward) and for the head: milliseconds summed over the costed
    decode steps; head_ms None when the steps did not time the head."""

    mixer_ms: list[float]
    ffn_ms: list[float]
    head_ms: float | None

    def columns(self) -> tuple[list[float], list[float], float | None]:
        return self.mixer_ms, self.ffn_ms, self.head_ms


def part_times(record: RunRecord, costing: RunCosting | None = None) -> tuple[PartTimes, PartTimes] | None:
    """(the roofs' least time, the measured time) of each layer's mixer and feed-forward and
    of the head, over the decode steps kind_points sums; None without a spec, roofs or a
    timed decode step."""
    costing = costing or RunCosting.of(record)
    steps = costed_decode_steps(record) if costing is not None and costing.roofs is not None else []
    if not steps:
        return None
    layers = costing.spec.num_layers
    predicted, measured = PartTimes([0.0] * layers, [0.0] * layers, 0.0), PartTimes([0.0] * layers, [0.0] * layers, 0.0)
    for step in steps:
        for row in costing.rows(step):
            if row.layer is not None:
                predicted.mixer_ms[row.layer] += predict_ms(row.mixer, costing.roofs)
                predicted.ffn_ms[row.layer] += predict_ms(row.ffn, costing.roofs)
            elif row.kind == HEAD_KIND and step.get("head_ms") is not None and predicted.head_ms is not None:
                predicted.head_ms += predict_ms(row, costing.roofs)
                measured.head_ms += step["head_ms"]
            elif row.kind == HEAD_KIND:
                predicted.head_ms = measured.head_ms = None  # a step without the head timed: no head figure
        for column, times in ((measured.mixer_ms, step.get("mixer_ms") or []),
                              (measured.ffn_ms, step.get("ffn_ms") or [])):
            for index, ms in enumerate(times[:layers]):
                column[index] += ms
    return predicted, measured
