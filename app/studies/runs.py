"""Each arm of a study as a normal profile snapshot (schema "archscope.profile/1"): a short
profile run of the arm's model, with the study's points as its context-sweep or batch-sweep
section -- the document `archscope profile --sweep / --batch-sweep` writes, so File > Open
shows an arm in the dashboard like any run."""

from __future__ import annotations

from dataclasses import asdict

from ..runtime.session import RunConfig
from ..spec.roofline import Roofs
from .measure import DecodePoint

RUN_TOKENS = 4  # the short run's new tokens: its steps are the snapshot's


def sweep_point(point: DecodePoint) -> dict:
    """A study's decode point as a context sweep's point."""
    return {"context_len": point.context_len, "decode_ms": point.step_ms, "layer_ms": point.layer_ms,
            "kv_bytes": point.kv_bytes, "kv_bytes_predicted": point.kv_bytes_predicted}


def arm_snapshot(session, roofs: Roofs, sweep: list[DecodePoint] | None = None, batch_sweep: list | None = None,
                 cancelled=lambda: False, note: str = "") -> dict:
    snapshot = session.run(RunConfig(max_new_tokens=RUN_TOKENS, stop_at_eos=False, roofs=roofs),
                           cancelled=cancelled)
    if sweep is not None:
        snapshot.extra["sweep"] = [sweep_point(point) for point in sweep]
    if batch_sweep is not None:
        snapshot.extra["batch_sweep"] = [asdict(point) for point in batch_sweep]
    if note:
        snapshot.notes.append(note)
    return snapshot.to_dict()
