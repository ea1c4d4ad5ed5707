"""Parallel plans from the spec: what splits, what does not (named by field), and what each
rank should hold and send. Torch-free, like the spec layer the plan reads."""

import subprocess
import sys
from dataclasses import replace

import pytest

from app.parallel.plan import PlanError, plan_for, plan_problems, token_shares
from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.ffn import MoE


def with_mixer(spec, index, **changes):
    layers = list(spec.layers)
    layers[index] = replace(layers[index], mixer=replace(layers[index].mixer, **changes))
    return spec.with_layers(layers)


def test_problems_name_the_field_that_does_not_divide():
    spec = catalog.get("qwen3-0.6b", "explore")  # 8 heads, 4 KV heads, SwiGLU 768
    assert plan_problems(spec, 2) == []
    assert "layers[0].mixer.num_heads 8 does not split over 16 ranks" in plan_problems(spec, 16)
    odd = with_mixer(spec, 3, num_heads=6, num_kv_heads=3)
    assert plan_problems(odd, 2) == ["layers[3].mixer.num_kv_heads 3 does not split over 2 ranks"]
    assert "layers[3].mixer.num_heads 6 does not split over 4 ranks" in plan_problems(odd, 4)
    with pytest.raises(PlanError) as refused:
        plan_for(odd, 2)
    assert refused.value.problems == ["layers[3].mixer.num_kv_heads 3 does not split over 2 ranks"]


def test_expert_and_rank_problems():
    spec = catalog.get("deepseek-v3", "explore")  # 16 routed experts from layer 3 on
    assert plan_problems(spec, 1, 2) == [] and plan_problems(spec, 2, 2) == []
    assert plan_problems(spec, 1, 3)[0] == "layers[3].ffn.num_experts 16 does not split over 3 ranks"
    assert plan_problems(spec, 2, 4)[0].startswith("tp 2 and ep 4 must span the same ranks")
    assert plan_problems(spec, 0, 1) == ["tp must be a whole number of ranks, at least 1, found 0"]
    dense = catalog.get("qwen3-0.6b", "explore")
    assert plan_problems(dense, 1, 2) == [f"ep 2: {dense.name} has no mixture-of-experts layer to place over ranks"]
    all_heads = catalog.get("minimax-m2", "explore")  # QK-norm over all heads at once
    assert plan_problems(all_heads, 2)[0] == ("layers[0].mixer.qk_norm normalizes over all heads together: "
                                              "not split over ranks yet")
    normed_apart = catalog.get("gemma4-26b-a4b", "explore")  # its dense MLP's output is normed whole
    for tp, ep in ((2, 1), (1, 2)):
        assert "layers[0].ffn.branch_norm: an MoE whose branches are normed apart is not split over ranks yet" \
            in plan_problems(normed_apart, tp, ep)


def test_fewer_kv_heads_than_ranks_are_replicated():
    spec = catalog.get("llama3-1b", "explore")  # 8 heads, 2 KV heads
    plan = plan_for(spec, 4)
    mixer = plan.layers[0].mixer
    assert (mixer.heads_per_rank, mixer.kv_heads_per_rank, mixer.kv_replicas) == (2, 1, 2)
    rows = analyze(spec).layers
    assert plan.kv_bytes_at(10, 2, batch=3) == [3 * row.kv_bytes_at(10, 2) // 2 for row in rows]


@pytest.mark.parametrize("name", ["qwen3-0.6b", "deepseek-v3", "qwen3-next-80b-a3b"])
def test_cache_shares_add_up_to_the_analysis_where_heads_split_evenly(name):
    spec = catalog.get(name, "explore")
    plan = plan_for(spec, 2)
    for row, layer, held in zip(analyze(spec).layers, plan.layers, plan.kv_bytes_at(37, 4, batch=2)):
        whole = 2 * row.kv_bytes_at(37, 4)
        # MLA's latent stays whole, and so does Qwen3-Next's one KV head (on both ranks)
        evenly = layer.mixer.how == "heads" and layer.mixer.kv_replicas == 1
        assert held == (whole // 2 if evenly else whole)


def test_payloads_of_a_tensor_parallel_step():
    spec = catalog.get("qwen3-0.6b", "explore")
    payloads = plan_for(spec, 2).payloads(batch=3, tokens=5, dtype_bytes=4)
    layers = spec.num_layers
    assert [(p.layer, p.label, p.op) for p in payloads] == [(-1, "embedding", "all_reduce")] + [
        (i, label, "all_reduce") for i in range(layers) for label in ("mixer", "ffn")] + [
        (layers, "head", "all_gather")]
    assert all(p.rank_bytes == (3 * 5 * 256 * 4,) * 2 for p in payloads[:-1])
    assert payloads[-1].rank_bytes == (3 * 5 * spec.vocab_size // 2 * 4,) * 2  # each rank's logits


def test_the_vocabulary_splits_in_blocks_the_last_one_shorter():
    spec = replace(catalog.get("qwen3-0.6b", "explore"), vocab_size=8191)
    plan = plan_for(spec, 2)
    assert plan.vocab_block == 4096
    assert [plan.vocab_rows(rank) for rank in (0, 1)] == [range(0, 4096), range(4096, 8191)]
    head = plan.payloads(batch=1, tokens=1, dtype_bytes=2)[-1]
    assert head.rank_bytes == (4096 * 2,) * 2  # the short block is padded: all-gather takes equal parts
    assert "vocabulary-parallel (4096 of 8191 rows per rank)" in plan.describe()[0]
    experts_only = plan_for(catalog.get("deepseek-v3", "explore"), 1, 2)
    assert experts_only.vocabulary == "replicated"
    assert not any(p.label in ("embedding", "head") for p in experts_only.payloads(1, 1, 4))


def test_payloads_of_an_expert_parallel_step():
    spec = catalog.get("deepseek-v3", "explore")
    moe = spec.layers[3].ffn
    payloads = [p for p in plan_for(spec, 1, 2).payloads(batch=1, tokens=7, dtype_bytes=4) if p.layer == 3]
    row = spec.d_model * 4
    assert [(p.label, p.op) for p in payloads] == [("ffn.counts", "all_to_all"), ("ffn.dispatch", "all_to_all"),
                                                   ("ffn.combine", "all_to_all"), ("ffn.gather", "all_gather")]
    counts, dispatch, combine, gather = payloads
    assert counts.rank_bytes == (moe.num_experts * 8,) * 2
    assert dispatch.rank_bytes == (4 * moe.top_k * row, 3 * moe.top_k * row)  # 7 tokens: 4 and 3
    assert combine.rank_bytes is None and combine.total_bytes == 7 * moe.top_k * row
    assert gather.rank_bytes == (4 * row,) * 2
    shared = [p for p in plan_for(spec, 2, 2).payloads(1, 7, 4) if p.layer == 3][-1]
    assert (shared.label, shared.rank_bytes) == ("ffn.shared", (7 * row,) * 2)


def test_token_shares():
    assert token_shares(7, 2) == [4, 3]
    assert token_shares(1, 2) == [1, 0]
    assert token_shares(5, 4) == [2, 2, 1, 0]
    assert sum(token_shares(1000, 8)) == 1000


def test_every_catalog_entry_has_a_plan_or_named_problems():
    for name in catalog.names():
        spec = catalog.get(name)
        ep = 8 if any(isinstance(layer.ffn, MoE) for layer in spec.layers) else 1
        problems = plan_problems(spec, 8, ep)
        assert all(isinstance(problem, str) and problem for problem in problems), name
        if not problems:
            assert len(plan_for(spec, 8, ep).describe()) == spec.num_layers + 1


def test_the_plan_imports_no_torch():
    """Like app/spec, the plan answers anywhere: the UI may ask it without loading torch."""
    loaded = subprocess.run([sys.executable, "-c", "import sys, app.parallel.plan; print('torch' in sys.modules)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "False"


def test_longcat_parts_no_plan_splits_yet_are_refused_by_name():
    problems = plan_problems(catalog.get("longcat-flash-lite", "explore"), 2, 2)
    assert "layers[0].ffn.shortcut: a shortcut-connected MoE is not split over ranks yet" in problems
    assert "layers[0].ffn.zero_experts: an MoE with zero (identity) experts is not split over ranks yet" in problems
    assert "ngram_embedding: the N-gram tables and their token history are not split over ranks yet" in problems
    assert plan_problems(catalog.get("longcat-flash-lite", "explore"), 1, 1) == []
