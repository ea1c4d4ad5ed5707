"""What the Ranks view draws, from a parallel snapshot's "ranks" section: per layer, each
rank's compute and communication time over the mean timed step, the communication's share of
the layer's time, and the tokens each rank routed to each expert. No Qt, no torch."""

from __future__ import annotations

from dataclasses import dataclass

from ...parallel.communication import layer_communication, timed_steps


@dataclass(frozen=True)
class RankFigures:
    tp: int
    ep: int
    backend: str
    ranks: list[int]
    # the steps the times are the mean of: "decode", or "prefill" where no decode step ran
    phase: str
    steps: int
    compute_ms: list[list[float]]  # [rank][layer]: the block's time less its collectives'
    comm_ms: list[list[float]]  # [rank][layer]: its collectives' time
    # [layer]: communication over compute and communication, summed over the ranks; None
    # for a layer no rank spent time in
    comm_share: list[float | None]
    # [rank][layer][expert]: tokens the rank's router sent to each expert, summed over
    # every step, prefill included; only the MoE layers are keys
    expert_load: list[dict[int, list[int]]]

    @property
    def num_layers(self) -> int:
        return len(self.comm_share)

    def expert_totals(self) -> list[list[int]]:
        """[rank][expert]: the expert load summed over the MoE layers (layers with fewer
        experts count for the experts they have)."""
        experts = max((len(counts) for load in self.expert_load for counts in load.values()), default=0)
        totals = []
        for load in self.expert_load:
            summed = [0] * experts
            for counts in load.values():
                for expert, tokens in enumerate(counts):
                    summed[expert] += tokens
            totals.append(summed)
        return totals


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def rank_figures(section: dict) -> RankFigures:
    """The figures of a snapshot's "ranks" section (app/parallel/snapshot.py's format)."""
    per_rank = section["per_rank"]
    num_layers = max((len(step["layer_ms"]) for ranked in per_rank for step in ranked["steps"]), default=0)
    phase, first_steps = timed_steps(per_rank[0]["steps"]) if per_rank else ("decode", [])
    compute, comm, load = [], [], []
    for ranked in per_rank:
        figures = [layer_communication(step, num_layers) for step in timed_steps(ranked["steps"])[1]]
        compute.append([_mean([f["compute_ms"][layer] for f in figures]) for layer in range(num_layers)])
        comm.append([_mean([f["comm_ms"][layer] for f in figures]) for layer in range(num_layers)])
        routed: dict[int, list[int]] = {}
        for step in ranked["steps"]:
            for layer, counts in (step.get("routing") or {}).items():
                held = routed.setdefault(int(layer), [0] * len(counts))
                if len(held) < len(counts):
                    held.extend([0] * (len(counts) - len(held)))
                for expert, tokens in enumerate(counts):
                    held[expert] += tokens
        load.append(dict(sorted(routed.items())))
    shares: list[float | None] = []
    for layer in range(num_layers):
        spent_comm = sum(rank[layer] for rank in comm)
        spent = spent_comm + sum(rank[layer] for rank in compute)
        shares.append(spent_comm / spent if spent > 0 else None)
    return RankFigures(tp=section["tp"], ep=section["ep"], backend=section.get("backend", ""),
                       ranks=[ranked["rank"] for ranked in per_rank], phase=phase, steps=len(first_steps),
                       compute_ms=compute, comm_ms=comm, comm_share=shares, expert_load=load)
