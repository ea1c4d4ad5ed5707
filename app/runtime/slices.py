"""Full-width slices: one layer of each distinct kind at the published widths, measured,
then scaled by how many layers of each kind the whole model has.

This is how a laptop or one GPU measures what a DeepSeek V3 layer really costs. When a
kind's layer would not fit in the memory budget, its MoE keeps only as many experts as fit
(at least top-k), routes among them, and the plan says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..spec import ArchSpec
from ..spec.analysis import analyze
from ..spec.scale import slice_


@dataclass
class SlicePlan:
    full: ArchSpec
    spec: ArchSpec  # what is instantiated: one layer per kind, experts trimmed where needed
    counts: list[int]  # layers of the full model that each slice layer stands for
    notes: list[str]


def plan_slice(full: ArchSpec, budget_bytes: int, dtype_bytes: int) -> SlicePlan:
    distinct = slice_(full)
    counts = [sum(layer == kind for layer in full.layers) for kind in distinct.layers]
    analysis = analyze(distinct)
    # model-level weights: embeddings and head (and Gemma 3n's per-layer table and stream projections)
    fixed = (analysis.total_params - sum(row.params for row in analysis.layers)) * dtype_bytes
    share = max((budget_bytes - fixed) // max(len(distinct.layers), 1), 0)
    layers, notes = [], []
    for index, (layer, row) in enumerate(zip(distinct.layers, analysis.layers)):
        if layer.ffn_kind == "moe" and row.params * dtype_bytes > share:
            moe = layer.ffn
            expert_bytes = moe.expert_params(full.d_model) * dtype_bytes
            rest_bytes = row.params * dtype_bytes - moe.num_experts * expert_bytes
            kept = max(moe.top_k, min(moe.num_experts, (share - rest_bytes) // expert_bytes))
            groups, router = moe.router.num_groups, moe.router
            per_group = kept // groups
            if groups > 1 and per_group * router.top_k_groups >= moe.top_k:
                kept = per_group * groups  # whole groups keep group-limited routing intact
            elif groups > 1:
                router = replace(router, num_groups=1, top_k_groups=1)
            layer = replace(layer, ffn=replace(moe, num_experts=kept, router=router))
            notes.append(f"slice layer {index}: {kept} of {moe.num_experts} experts fit in the memory budget; "
                         f"tokens are routed among those {kept}")
        layers.append(layer)
    return SlicePlan(full, replace(distinct, layers=tuple(layers)), counts, notes)


def extrapolate(plan: SlicePlan, layer_ms_mean: list[float], step_overhead_ms: float, dtype_bytes: int) -> dict:
    """The whole model's decode time per token and weight bytes, from the measured slice."""
    full = analyze(plan.full)
    per_kind = [{"layer": index, "stands_for": count, "measured_ms": ms, "total_ms": round(ms * count, 4)}
                for index, (count, ms) in enumerate(zip(plan.counts, layer_ms_mean))]
    layers_ms = sum(item["total_ms"] for item in per_kind)
    return {
        "kinds": per_kind,
        "decode_ms_per_token": round(layers_ms + step_overhead_ms, 4),
        "decode_tokens_per_s": round(1e3 / (layers_ms + step_overhead_ms), 4) if layers_ms else 0.0,
        "weight_bytes": full.total_params * dtype_bytes,
        "active_weight_bytes_per_token": full.active_params * dtype_bytes,
        "notes": plan.notes,
    }


def memory_budget(device) -> int:
    """Bytes a slice may use: most of what is free now on the device (less of a CPU's,
    which the rest of the machine shares)."""
    from ..model.memory_fit import free_bytes

    return int(free_bytes(device) * (0.8 if device.type == "cuda" else 0.6))


def extrapolate_snapshot(plan: SlicePlan, snapshot, dtype_bytes: int) -> dict:
    """extrapolate() from a slice run's decode steps: their per-layer means, and what the
    step spent outside the layers (embedding, head, sampling, Python), once per token."""
    decode = [s for s in snapshot.steps if s.phase == "decode" and s.layer_ms]
    overhead = (sum(s.wall_ms - sum(s.layer_ms) for s in decode) / len(decode)) if decode else 0.0
    return extrapolate(plan, snapshot.summary()["layer_ms_mean"], overhead, dtype_bytes)

