"""Tensor- and expert-parallel runs on two gloo ranks (CPU) against the single-process model:
the logits of a prefill and 16 decode steps, each rank's cache bytes, and every collective's
payload, for a dense GQA entry, an MLA + MoE entry with shared experts and dense first
layers, a hybrid with a linear mixer (Gated DeltaNet), and Laguna's per-layer query heads
under a softplus gate of their own, biased experts (gpt-oss) and a latent MoE (Nemotron 3
Super). Under tensor parallelism the embedding and the head are
split by vocabulary rows too, also where the vocabulary does not divide."""

import pytest
import torch

from dataclasses import replace

from app.model import build_model
from app.parallel.launch import run_local
from app.parallel.plan import plan_for
from app.parallel.run import ParallelJob
from app.spec import catalog

PROMPT_TOKENS, DECODE_STEPS, ELEMENT = 5, 16, 4  # float32

# (entry, tp, ep, batch): batch 1 with experts over ranks leaves one rank no token to route
# while decoding.
RUNS = [
    ("qwen3-0.6b", 2, 1, 2),  # GQA 8/4, SwiGLU: heads and columns split
    ("deepseek-v3", 2, 1, 2),  # MLA, 3 dense layers, then MoE with a shared expert: expert columns
    ("deepseek-v3", 1, 2, 1),  # the routed experts placed over ranks, tokens all-to-all
    ("deepseek-v3", 2, 2, 2),  # both
    ("qwen3-next-80b-a3b", 2, 1, 2),  # Gated DeltaNet 3 : 1 gated attention with one KV head
    ("qwen3-next-80b-a3b", 2, 2, 1),
    ("laguna-xs.2", 2, 1, 2),  # 4 or 8 query heads by layer over one KV head, each with its softplus gate
    ("qwen3-0.6b vocab 8191", 2, 1, 1),  # a tied vocabulary in blocks of 4096 and 4095 rows
    ("gpt-oss-20b", 2, 1, 2),  # biased experts split by columns: each bias added once, on rank 0
    ("nemotron-3-super-120b-a12b biased latent", 2, 1, 2),  # experts in a latent between biased projections
    ("nemotron-3-super-120b-a12b", 1, 2, 2),  # tokens sent to the experts in the latent
]
IDS = [f"{name}-tp{tp}-ep{ep}-b{batch}" for name, tp, ep, batch in RUNS]


def explore_spec(name: str):
    """The explore-scale entry; "name vocab N" with its vocabulary resized to N, "name
    biased latent" with biases on its latent MoE's projections."""
    entry, _, vocab = name.removesuffix(" biased latent").partition(" vocab ")
    spec = catalog.get(entry, "explore")
    if vocab:
        spec = replace(spec, vocab_size=int(vocab))
    if name.endswith(" biased latent"):
        spec = replace(spec, layers=tuple(
            replace(layer, ffn=replace(layer.ffn, latent_bias=True)) if layer.ffn_kind == "moe" else layer
            for layer in spec.layers))
    return spec


def tokens_for(spec, batch: int):
    generator = torch.Generator().manual_seed(batch)
    prompt = torch.randint(0, spec.vocab_size, (batch, PROMPT_TOKENS), generator=generator)
    forced = torch.randint(0, spec.vocab_size, (batch, DECODE_STEPS), generator=generator)
    return prompt, forced


@torch.no_grad()
def single_process_logits(spec, prompt, forced) -> list[torch.Tensor]:
    # One thread, as each rank has: on a busy 2-core machine two spinning threads can make
    # these tiny steps a hundred times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = build_model(spec, seed=0)
        cache = model.new_cache(prompt.shape[0], PROMPT_TOKENS + DECODE_STEPS)
        logits = [model(prompt, cache=cache)]
        for step in range(DECODE_STEPS):
            logits.append(model(forced[:, step:step + 1], cache=cache))
        return logits
    finally:
        torch.set_num_threads(threads)


PROGRESS = []  # the (done, total) calls the runs' watcher made, in order


@pytest.fixture(scope="module")
def runs():
    """Every run's ranks, from one start of two ranks (starting them costs seconds)."""
    PROGRESS.clear()
    jobs = []
    for name, tp, ep, batch in RUNS:
        spec = explore_spec(name)
        prompt, forced = tokens_for(spec, batch)
        jobs.append(ParallelJob(spec, tp, ep, tuple(map(tuple, prompt.tolist())), DECODE_STEPS,
                                forced=tuple(map(tuple, forced.tolist()))))
    return dict(zip(IDS, run_local(jobs, on_step=lambda done, total: PROGRESS.append((done, total)))))


def test_progress_counts_every_step_of_every_job_once(runs):
    total = len(RUNS) * (DECODE_STEPS + 1)
    assert PROGRESS and PROGRESS[-1] == (total, total)
    counts = [done for done, _ in PROGRESS]
    assert counts == sorted(set(counts)), "progress went back or repeated"
    assert {reported for _, reported in PROGRESS} == {total}


@pytest.mark.parametrize("run", RUNS, ids=IDS)
def test_logits_equal_the_single_process_model(runs, run):
    name, tp, ep, batch = run
    spec = explore_spec(name)
    expected = single_process_logits(spec, *tokens_for(spec, batch))
    steps = runs[IDS[RUNS.index(run)]][0]["steps"]
    assert [step["phase"] for step in steps] == ["prefill"] + ["decode"] * DECODE_STEPS
    for index, (step, reference) in enumerate(zip(steps, expected)):
        assert step["logits"].shape == reference.shape
        assert reference.abs().max() > 0.1  # logits of some size: the tolerance means something
        difference = (step["logits"] - reference).abs().max().item()
        assert difference <= 1e-5, f"step {index}: logits differ by {difference}"


@pytest.mark.parametrize("run", RUNS, ids=IDS)
def test_each_rank_caches_its_share_as_predicted(runs, run):
    name, tp, ep, batch = run
    plan = plan_for(explore_spec(name), tp, ep)
    for ranked in runs[IDS[RUNS.index(run)]]:
        for index, step in enumerate(ranked["steps"]):
            seen = PROMPT_TOKENS + index
            assert step["kv_bytes"] == plan.kv_bytes_at(seen, ELEMENT, batch), f"rank {ranked['rank']} at {seen}"


@pytest.mark.parametrize("run", RUNS, ids=IDS)
def test_every_collective_carries_the_predicted_payload(runs, run):
    name, tp, ep, batch = run
    plan = plan_for(explore_spec(name), tp, ep)
    ranks = runs[IDS[RUNS.index(run)]]
    for index in range(DECODE_STEPS + 1):
        predicted = plan.payloads(batch, PROMPT_TOKENS if index == 0 else 1, ELEMENT)
        measured = [ranked["steps"][index]["collectives"] for ranked in ranks]
        for rank, records in enumerate(measured):
            assert [(r["layer"], r["label"], r["op"]) for r in records] == [(p.layer, p.label, p.op)
                                                                            for p in predicted]
            assert all(r["ms"] >= 0 for r in records)
            for record, payload in zip(records, predicted):
                if payload.rank_bytes is not None:
                    assert record["payload_bytes"] == payload.rank_bytes[rank], (index, record)
        for position, payload in enumerate(predicted):  # summed over ranks, every one is exact
            assert sum(records[position]["payload_bytes"] for records in measured) == payload.total_bytes
    if ep > 1:
        assert any(p.op == "all_to_all" for p in plan.payloads(batch, 1, ELEMENT))
