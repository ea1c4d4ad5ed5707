"""The Ranks view's figures from a snapshot's "ranks" section: per layer each rank's mean
compute and communication time over the decode steps (the prefill when none ran), the
communication's share of the layer's time, and the tokens each rank routed to each expert."""

import pytest

from app.ui.dashboard.rank_figures import rank_figures


def step(index, phase, layer_ms, collectives, routing=None):
    return {"index": index, "phase": phase, "seq_len": 4 + index, "wall_ms": sum(layer_ms) + 1.0,
            "layer_ms": layer_ms, "mixer_ms": [ms / 2 for ms in layer_ms], "ffn_ms": [ms / 2 for ms in layer_ms],
            "collectives": [{"layer": layer, "label": "mixer", "op": "all_reduce", "bytes": 64, "ms": ms,
                             "predicted_bytes": 64} for layer, ms in collectives],
            "kv_bytes": [0, 0], "memory": {}, "routing": routing or {}}


def section(per_rank_steps, tp=2, ep=1):
    return {"tp": tp, "ep": ep, "world_size": max(tp, ep), "backend": "gloo", "threads_per_rank": 1,
            "plan": ["a plan"], "per_rank": [{"rank": rank, "steps": steps} for rank, steps in
                                             enumerate(per_rank_steps)]}


def test_times_are_the_decode_steps_mean_and_the_share_sums_every_rank():
    rank0 = [step(0, "prefill", [50.0, 50.0], [(0, 40.0)]),  # the prefill is not in a decode mean
             step(1, "decode", [4.0, 2.0], [(0, 1.0), (1, 0.5)]),
             step(2, "decode", [6.0, 2.0], [(0, 3.0), (1, 0.5)])]
    rank1 = [step(0, "prefill", [50.0, 50.0], []),
             step(1, "decode", [2.0, 4.0], [(1, 2.0)]),
             step(2, "decode", [2.0, 4.0], [(1, 2.0)])]
    figures = rank_figures(section([rank0, rank1]))
    assert (figures.phase, figures.steps, figures.ranks) == ("decode", 2, [0, 1])
    assert figures.comm_ms == [[2.0, 0.5], [0.0, 2.0]]
    assert figures.compute_ms == [[3.0, 1.5], [2.0, 2.0]]
    # layer 0: 2 of 5 + 2 ms; layer 1: 2.5 of 3.5 + 2.5 ms
    assert figures.comm_share == pytest.approx([2.0 / 7.0, 2.5 / 6.0])


def test_a_run_of_one_new_token_is_read_from_its_prefill():
    figures = rank_figures(section([[step(0, "prefill", [8.0, 8.0], [(0, 2.0)])],
                                    [step(0, "prefill", [8.0, 8.0], [])]]))
    assert (figures.phase, figures.steps) == ("prefill", 1)
    assert figures.comm_ms == [[2.0, 0.0], [0.0, 0.0]] and figures.compute_ms == [[6.0, 8.0], [8.0, 8.0]]


def test_a_layer_no_rank_spent_time_in_has_no_share():
    figures = rank_figures(section([[step(0, "decode", [0.0, 1.0], [])], [step(0, "decode", [0.0, 1.0], [])]]))
    assert figures.comm_share == [None, 0.0]


def test_expert_load_sums_each_ranks_routing_over_every_step_and_layer():
    rank0 = [step(0, "prefill", [1.0, 1.0], [], {"1": [3, 0, 1, 0]}),
             step(1, "decode", [1.0, 1.0], [], {"1": [1, 0, 0, 0]})]
    rank1 = [step(0, "prefill", [1.0, 1.0], [], {"0": [0, 2, 0, 2], "1": [0, 4, 0, 0]}),
             step(1, "decode", [1.0, 1.0], [], {"1": [0, 0, 0, 1]})]
    figures = rank_figures(section([rank0, rank1], tp=1, ep=2))
    assert figures.expert_load == [{1: [4, 0, 1, 0]}, {0: [0, 2, 0, 2], 1: [0, 4, 0, 1]}]
    assert figures.expert_totals() == [[4, 0, 1, 0], [0, 6, 0, 3]]


def test_collectives_outside_the_blocks_count_for_no_layer():
    """The vocabulary-parallel embedding's and head's collectives carry a layer outside the
    blocks'."""
    figures = rank_figures(section([[step(0, "decode", [2.0, 2.0], [(0, 1.0), (-1, 5.0), (2, 5.0)])],
                                    [step(0, "decode", [2.0, 2.0], [])]]))
    assert figures.comm_ms == [[1.0, 0.0], [0.0, 0.0]]
