"""What every study does the same way: the arms' shared trimming, the device's roofs, a
session per arm, and the decode points of each arm as rows with their predicted twins."""

from __future__ import annotations

from dataclasses import replace

from ..runtime.calibrate import measure_roofs, saved_roofs
from ..runtime.session import Session
from ..spec import ArchSpec, catalog
from ..spec.components import Layer
from ..spec.roofline import Roofs
from .measure import DecodePoint, decode_at_contexts
from .runs import arm_snapshot
from .study import Arm, Figure, Listing, Row, Series, Settings, StudyResult

# What every one-layer study says of how it measured
ONE_LAYER = ("each arm is that one layer (no feed-forward) at the published widths, decoding one token at each "
             "context length; the cache is declared full rather than prefilled")

# A study times layers, not the output head: a one-layer model keeps a small vocabulary so
# that its embedding and head (DeepSeek V3's would be 3.7 GB in float32) do not crowd out
# the caches being measured.
STUDY_VOCAB = 1024


def entry(name: str, settings: Settings) -> ArchSpec:
    """A catalog entry at the size the study runs: published widths, or explore's for "tiny"."""
    return catalog.get(name, "explore" if settings.size == "tiny" else "full")


def layer_model(base: ArchSpec, layers: list[Layer] | tuple[Layer, ...], name: str) -> ArchSpec:
    """`base` with only these layers and a small vocabulary: what a study times."""
    return replace(base, name=name, layers=tuple(layers), vocab_size=min(base.vocab_size, STUDY_VOCAB),
                   tie_embeddings=True, mtp_layers=0, vision=None)


def roofs_for(settings: Settings) -> tuple[Roofs, str]:
    """The device's saved roofs for the dtype, or a quick calibration made now (and said so)."""
    roofs = saved_roofs(settings.device, settings.dtype)
    if roofs is not None:
        return roofs, f"roofs: the saved calibration of {roofs.device} ({roofs.measured})"
    settings.progress("calibrating the device (quick)", 0.0)
    roofs = measure_roofs(settings.device, (settings.dtype,), quick=True)[settings.dtype]
    return roofs, (f"roofs: no saved calibration for {roofs.device}, so a quick one was measured for this "
                   "study; `archscope calibrate` measures the full one")


def measure_arm(arm: Arm, contexts: list[int], settings: Settings, roofs: Roofs,
                notes: list[str]) -> tuple[list[DecodePoint], dict]:
    """The arm's decode points at every context that fits in memory (a context that does
    not is left out and the notes say so), and the arm as a profile snapshot with them as its
    sweep (runs.py)."""
    from ..model.memory_fit import NotEnoughMemory

    session = Session.from_arch(arm.spec, "slice", settings.device, settings.dtype)
    points = []
    for context in contexts:
        try:
            points += decode_at_contexts(session, [context], steps=2 if settings.quick else 4, roofs=roofs,
                                         cancelled=settings.cancelled)
        except NotEnoughMemory as error:
            notes.append(f"{arm.label} at {context:,} tokens: left out, {error}")
    snapshot = arm_snapshot(session, roofs, sweep=points, cancelled=settings.cancelled, note=arm.note)
    del session
    return points, snapshot


def decode_rows(arm: Arm, points: list[DecodePoint], layer: int = 0) -> list[Row]:
    """A layer's decode time and the cache bytes per token held, measured and predicted."""
    rows = []
    for point in points:
        rows.append(Row(arm.label, "layer_ms", point.context_len, point.layer_ms[layer],
                        point.layer_ms_predicted[layer] if point.layer_ms_predicted else None, "ms"))
        held = point.tokens_held
        rows.append(Row(arm.label, "kv_bytes", point.context_len, point.kv_bytes, point.kv_bytes_predicted, "bytes"))
        rows.append(Row(arm.label, "kv_bytes_per_token", point.context_len, round(point.kv_bytes / held, 2),
                        round(point.kv_bytes_predicted / held, 2), "bytes"))
    return rows


def step_rows(arm: Arm, points: list[DecodePoint]) -> list[Row]:
    """The decode step of all the arm's layers together, and the cache and state they hold."""
    rows = []
    for point in points:
        predicted = round(sum(point.layer_ms_predicted), 5) if point.layer_ms_predicted else None
        rows.append(Row(arm.label, "layers_ms", point.context_len, round(sum(point.layer_ms), 4), predicted, "ms"))
        rows.append(Row(arm.label, "kv_bytes", point.context_len, point.kv_bytes, point.kv_bytes_predicted, "bytes"))
    return rows


def measure_arms(arms: list[Arm], contexts: list[int], settings: Settings, rows_of_arm) -> tuple:
    """Every arm measured at every context that fits: (rows, each arm's points, notes, roofs)."""
    roofs, roofs_note = roofs_for(settings)
    notes = [roofs_note]
    rows, snapshots = [], {}
    for index, arm in enumerate(arms):
        settings.progress(f"measuring {arm.label}", index / len(arms))
        points, snapshots[arm.label] = measure_arm(arm, contexts, settings, roofs, notes)
        rows += rows_of_arm(arm, points)
    settings.progress("done", 1.0)
    return rows, snapshots, notes, roofs


def arm_series(result, quantity: str, scale: float = 1.0) -> list[Series]:
    """Each arm's measured line of a quantity, and its predicted twin dashed."""
    drawn = []
    for label in dict.fromkeys(row.arm for row in result.rows):
        rows = result.rows_of(quantity, label)
        if not rows:
            continue
        xs = [row.x for row in rows]
        drawn.append(Series(label, xs, [row.measured * scale for row in rows]))
        if all(row.predicted is not None for row in rows):
            drawn.append(Series(f"{label} predicted", xs, [row.predicted * scale for row in rows], predicted=True))
    return drawn


def context_figures(result, time_quantity: str, time_title: str) -> list[Figure]:
    """The two figures of a study against context: cache held, and decode time."""
    return [
        Figure("kv-cache", "Cache and state held", "context (tokens)", "cache (MiB)",
               arm_series(result, "kv_bytes", 1 / 2**20), log_x=True),
        Figure("decode-time", time_title, "context (tokens)", "time (ms)", arm_series(result, time_quantity),
               log_x=True),
    ]


def measured_at(result, quantity: str, arm: str, x: float) -> float:
    return next(row.measured for row in result.rows_of(quantity, arm) if row.x == x)


def common_contexts(result, quantity: str, arms: list[str]) -> set[float]:
    """The contexts every one of these arms was measured at."""
    reached = [{row.x for row in result.rows_of(quantity, arm)} for arm in arms]
    return set.intersection(*reached) if reached else set()


def times(ours: float, theirs: float, label: str) -> str:
    """"6.4x less than MHA", "1.2x more than GQA 8/1": how ours compares with theirs."""
    return f"{theirs / ours:.1f}x less than {label}" if theirs >= ours else f"{ours / theirs:.1f}x more than {label}"


def published_contexts(settings: Settings, tiny: list[int], quick: list[int], full: list[int]) -> list[int]:
    if settings.size == "tiny":
        return tiny
    return quick if settings.quick else full


def context_study(listing: Listing, question: str, arms: list[Arm], contexts: list[int], settings: Settings,
                  rows_of_arm, setup: list[str], answer, time_quantity: str, time_title: str,
                  quoted: bool = True) -> StudyResult:
    """A study against context: every arm measured at every context that fits, its rows, its
    one-line answer and its two figures (cache held, decode time)."""
    rows, snapshots, notes, roofs = measure_arms(arms, contexts, settings, rows_of_arm)
    result = measured_result(listing, question, [f"{arm.label}: {arm.note}" for arm in arms] + setup, rows,
                             settings, roofs, notes, snapshots, answer, quoted)
    result.figures = context_figures(result, time_quantity, time_title)
    return result


def measured_result(listing: Listing, question: str, setup: list[str], rows: list[Row], settings: Settings,
                    roofs: Roofs, notes: list[str], snapshots: dict, answer, quoted: bool = True) -> StudyResult:
    """A study's result from what it measured, its one-line answer computed from the rows
    (the figures are the study's own)."""
    result = StudyResult(
        study=listing.name, title=listing.title, section=listing.section, question=question, answer="",
        setup=setup, rows=rows, figures=[], device=roofs.device, dtype=settings.dtype, quick=settings.quick,
        size=settings.size, notes=notes, snapshots=snapshots, quoted=quoted)
    result.answer = answer(result)
    return result
