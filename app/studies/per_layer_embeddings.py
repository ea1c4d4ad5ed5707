"""§3.4 of the comparison: Gemma 3n's per-layer embeddings. Each token reads one row of a
table per layer -- 2 of E2B's 4.4 billion parameters -- so the table can stay in host
memory while the rest runs on the accelerator. Each model is built whole at its published
size and measured twice: with the table on the accelerator, then kept in host memory (the
same model, the table moved): the parameters and bytes left on the accelerator, and the
decode step, beside the analysis' and the roofline's figures.

On a GPU the accelerator's bytes are the allocator's; on a CPU host and accelerator are one
memory, so the bytes each placement leaves on the accelerator are counted from the model's
own tensors, and the process's growth over the build is measured beside them."""

from __future__ import annotations

import gc

import torch

from ..model.memory_fit import NotEnoughMemory
from ..runtime.memory import sample
from ..runtime.session import Session, resolve_device
from ..spec.analysis import analyze
from ..spec.roofline import predict_step
from ..units import human_bytes, human_count
from .common import entry, measured_at, measured_result, roofs_for
from .listing import LISTINGS
from .measure import decode_at_contexts
from .runs import arm_snapshot
from .study import Figure, Row, Series, Settings, Study, StudyResult

QUESTION = ("Gemma 3n keeps its per-layer embedding table off the accelerator: how many of its parameters must "
            "the accelerator hold, how much device memory does that save, and what does it cost the decode step?")
MODELS = (("gemma3n-e2b", "Gemma 3n E2B"), ("gemma3n-e4b", "Gemma 3n E4B"))
ON_ACCELERATOR = "table on the accelerator"
IN_HOST_MEMORY = "table in host memory"
PLACEMENTS = (ON_ACCELERATOR, IN_HOST_MEMORY)
HOST = "cpu"
CONTEXT = 256  # tokens the cache holds at the timed steps


def models(settings: Settings) -> tuple[tuple[str, str], ...]:
    # A quick run builds E2B alone: a whole published model takes a minute to make on 2 cores.
    return MODELS[:1] if settings.quick and settings.size == "published" else MODELS


def _storages(tensors) -> dict[int, torch.Tensor]:
    """Each distinct storage once (a tied weight is one tensor twice)."""
    return {tensor.untyped_storage().data_ptr(): tensor for tensor in tensors}


def _on_accelerator(model, placement: str) -> tuple[int, int]:
    """(parameters, bytes) of the model's tensors this placement leaves on the accelerator,
    counted from the tensors themselves."""
    table = _storages([model.per_layer_embedding.table.weight]) if placement == IN_HOST_MEMORY else {}
    kept = {pointer: tensor for pointer, tensor in _storages([*model.parameters(), *model.buffers()]).items()
            if pointer not in table}
    # Parameters each once, by identity: packing lays several into one storage.
    params = {id(parameter): parameter for parameter in model.parameters()}.values()
    return (sum(parameter.numel() for parameter in params if parameter.untyped_storage().data_ptr() not in table),
            sum(tensor.untyped_storage().nbytes() for tensor in kept.values()))


def run(settings: Settings) -> StudyResult:
    roofs, roofs_note = roofs_for(settings)
    notes = [roofs_note]
    rows, snapshots, setup = [], {}, []
    chosen = models(settings)
    for index, (name, label) in enumerate(chosen):
        spec = entry(name, settings)
        analysis = analyze(spec)
        size = round(analysis.total_params / 1e9, 2)
        settings.progress(f"building {label} whole ({human_count(analysis.total_params)} parameters)",
                          index / len(chosen))
        before = sample(resolve_device(settings.device))
        try:
            session = Session.from_arch(spec, "full", settings.device, settings.dtype)
        except NotEnoughMemory as error:
            notes.append(f"{label}: left out, {error}")
            continue
        device, element = session.device, session.dtype.itemsize
        built = sample(device)
        cuda = device.type == "cuda"
        grown = built["allocated"] - before["allocated"] if cuda else built["rss"] - before["rss"]
        rows.append(Row(label, "memory_growth_over_build", size, grown, analysis.total_params * element, "bytes"))
        setup.append(f"{label}: {spec.name} built whole with random weights, {human_count(analysis.total_params)} "
                     f"parameters, of which the per-layer embedding table holds "
                     f"{human_count(analysis.per_layer_embedding_params)} ({spec.num_layers} layers x "
                     f"{spec.per_layer_embedding.width} wide x {spec.per_layer_embedding.vocab_size:,} tokens)")
        predicted_ms = predict_step(spec, roofs, "decode", 1, CONTEXT, 1, element).total_ms
        for placement in PLACEMENTS:
            if settings.cancelled():
                break
            arm = f"{label}, {placement}"
            if placement == IN_HOST_MEMORY:
                session.model.per_layer_embedding.keep_table_on(HOST)
            params, counted = _on_accelerator(session.model, placement)
            accelerator_bytes = sample(device)["allocated"] - before["allocated"] if cuda else counted
            expected = analysis.total_params if placement == ON_ACCELERATOR else analysis.accelerator_params
            settings.progress(f"decoding {arm}", (index + 0.5) / len(chosen))
            point = decode_at_contexts(session, [CONTEXT], steps=2 if settings.quick else 4, roofs=roofs,
                                       cancelled=settings.cancelled)[0]
            rows += [Row(arm, "accelerator_params", size, params, expected, "parameters"),
                     Row(arm, "accelerator_bytes", size, accelerator_bytes, expected * element, "bytes"),
                     Row(arm, "step_ms", size, point.step_ms, round(predicted_ms, 4), "ms")]
            snapshots[arm] = arm_snapshot(session, roofs, sweep=[point], cancelled=settings.cancelled,
                                          note=f"{arm}: {human_count(params)} parameters, "
                                               f"{human_bytes(accelerator_bytes)} on the accelerator")
        del session
        gc.collect()
    settings.progress("done", 1.0)
    notes.append("on a GPU the accelerator's bytes are its allocator's; on a CPU, where host and accelerator are "
                 "one memory, they are counted from the tensors the placement leaves there, and moving the table "
                 "changes where nothing is")
    setup.append(f"each model is measured with the table on the accelerator, then with the same table moved to host "
                 f"memory: the lookup runs there and only the rows its tokens need travel; the decode step is timed "
                 f"with {CONTEXT} tokens in the cache (declared full), its roofline figure the whole model's")
    result = measured_result(STUDY.listing, QUESTION, setup, rows, settings, roofs, notes, snapshots, answer,
                             quoted=False)
    result.figures = [
        Figure("accelerator-memory", "Bytes the accelerator holds", "model (billions of parameters)", "memory (GiB)",
               _placement_series(result, "accelerator_bytes", 1 / 2**30)),
        Figure("decode-step", "Whole-model decode step", "model (billions of parameters)", "time (ms)",
               _placement_series(result, "step_ms")),
    ]
    return result


def _placement_series(result: StudyResult, quantity: str, scale: float = 1.0) -> list[Series]:
    """One line per placement across the models, and its predicted twin dashed."""
    drawn = []
    for placement in PLACEMENTS:
        rows = [row for row in result.rows_of(quantity) if row.arm.endswith(placement)]
        if rows:
            xs = [row.x for row in rows]
            drawn += [Series(placement, xs, [row.measured * scale for row in rows]),
                      Series(f"{placement} predicted", xs, [row.predicted * scale for row in rows], predicted=True)]
    return drawn


def answer(result: StudyResult) -> str:
    """Per model, measured: the parameters and bytes left on the accelerator with the table
    in host memory against all of them, and the decode step with each placement."""
    parts = []
    for label in dict.fromkeys(row.arm.split(", ")[0] for row in result.rows_of("step_ms")):
        size = next(row.x for row in result.rows_of("step_ms") if row.arm.startswith(label))
        on, off = f"{label}, {ON_ACCELERATOR}", f"{label}, {IN_HOST_MEMORY}"
        total, kept = (measured_at(result, "accelerator_params", arm, size) for arm in (on, off))
        whole, lean = (measured_at(result, "accelerator_bytes", arm, size) for arm in (on, off))
        fast, slow = (measured_at(result, "step_ms", arm, size) for arm in (on, off))
        parts.append(f"{label} keeps {human_count(kept)} of its {human_count(total)} parameters ({kept / total:.0%}) "
                     f"on the accelerator, {human_bytes(lean)} instead of {human_bytes(whole)} "
                     f"({human_bytes(whole - lean)} saved), and decodes a token in {slow:.1f} ms against {fast:.1f} ms "
                     f"with the table on the accelerator")
    return ("With its per-layer embedding table in host memory, " + "; ".join(parts) + ".") if parts \
        else "No model fit in memory."


STUDY = Study(LISTINGS["per-layer-embeddings"], QUESTION, run, answer)
