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
from .study import Arm, Row, Settings

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
                notes: list[str]) -> list[DecodePoint]:
    """The arm's decode points at every context that fits in memory; a context that does
    not is left out and the notes say so."""
    from ..model.memory_fit import NotEnoughMemory

    session = Session.from_arch(arm.spec, "slice", settings.device, settings.dtype)
    points = []
    for context in contexts:
        try:
            points += decode_at_contexts(session, [context], steps=2 if settings.quick else 4, roofs=roofs,
                                         cancelled=settings.cancelled)
        except NotEnoughMemory as error:
            notes.append(f"{arm.label} at {context:,} tokens: left out, {error}")
    del session
    return points


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
