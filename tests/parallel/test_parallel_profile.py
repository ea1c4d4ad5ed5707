"""`archscope profile --tp N --ep M`: two gloo ranks started by torchrun's launcher write one
snapshot that the app reads back -- rank 0's steps as the run's own, every rank's under
"ranks" with each collective's payload beside the plan's prediction and each cache beside
the plan's share -- and a trace with a process per rank; a spec that does not split exits 2
naming the field, before any rank starts."""

import contextlib
import copy
import io
import json

import pytest

from app.cli import main
from app.parallel.plan import plan_for
from app.runtime.snapshot_file import read_snapshot, snapshot_problems
from app.spec import catalog

NEW_TOKENS, ELEMENT = 4, 4  # float32


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run of qwen3-0.6b at explore scale over tp 2 (starting ranks costs seconds)."""
    folder = tmp_path_factory.mktemp("parallel-profile")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["profile", "--arch", "qwen3-0.6b", "--tp", "2", "--max-new-tokens", str(NEW_TOKENS),
                     "--batch", "2", "--device", "cpu", "--out", str(folder / "run.json"),
                     "--trace", str(folder / "run.trace.json")])
    return {"code": code, "out": out.getvalue(), "snapshot": read_snapshot(folder / "run.json"),
            "trace": json.loads((folder / "run.trace.json").read_text())}


def test_the_run_writes_one_snapshot_the_app_reads_with_a_section_per_rank(run):
    assert run["code"] == 0
    document = run["snapshot"]
    ranks = document["ranks"]
    assert (ranks["tp"], ranks["ep"], ranks["world_size"], ranks["backend"]) == (2, 1, 2, "gloo")
    assert [ranked["rank"] for ranked in ranks["per_rank"]] == [0, 1]
    assert ranks["plan"] == plan_for(catalog.get("qwen3-0.6b", "explore"), 2, 1).describe()
    assert [step["phase"] for step in document["steps"]] == ["prefill"] + ["decode"] * (NEW_TOKENS - 1)
    layers = len(document["model"]["layers"])
    for ranked in ranks["per_rank"]:
        assert len(ranked["steps"]) == NEW_TOKENS
        assert all(len(step["layer_ms"]) == layers for step in ranked["steps"])
    # the run's own steps are rank 0's, timed layer by layer, with the tokens it picked
    assert [step["kv_bytes"] for step in document["steps"]] == [step["kv_bytes"] for step in
                                                                ranks["per_rank"][0]["steps"]]
    assert all(len(step["tokens"]) == 2 and len(step["layer_ms"]) == layers for step in document["steps"])


def test_every_collective_carries_the_predicted_payload(run):
    document = run["snapshot"]
    plan = plan_for(catalog.get("qwen3-0.6b", "explore"), 2, 1)
    prompt_tokens = document["run"]["prompt_tokens"]
    for ranked in document["ranks"]["per_rank"]:
        for index, step in enumerate(ranked["steps"]):
            payloads = plan.payloads(2, prompt_tokens if index == 0 else 1, ELEMENT)
            assert [(r["layer"], r["label"], r["op"]) for r in step["collectives"]] == \
                [(p.layer, p.label, p.op) for p in payloads]
            for record, payload in zip(step["collectives"], payloads):
                assert record["bytes"] == record["predicted_bytes"] == payload.rank_bytes[ranked["rank"]]
                assert record["ms"] >= 0


def test_each_rank_caches_the_plans_share(run):
    document = run["snapshot"]
    plan = plan_for(catalog.get("qwen3-0.6b", "explore"), 2, 1)
    for index, step in enumerate(document["steps"]):
        share = plan.kv_bytes_at(step["seq_len"], ELEMENT, 2)
        assert step["kv_bytes_predicted"] == share
        for ranked in document["ranks"]["per_rank"]:
            assert ranked["steps"][index]["kv_bytes"] == share, f"rank {ranked['rank']}, step {index}"


def test_the_cli_prints_compute_and_communication_per_rank(run):
    out = run["out"]
    assert "r0 compute ms" in out and "r1 comm ms" in out and "predicted" in out
    collectives = sum(len(step["collectives"]) for ranked in run["snapshot"]["ranks"]["per_rank"]
                      for step in ranked["steps"])
    assert f"payloads: {collectives} of {collectives} as the plan predicts\n" in out
    assert "KV cache: every rank holds the plan's share at every step" in out
    # the share counts the collectives inside the layers only, as the table's columns do; the
    # vocabulary's, outside them, have a line of their own
    for ranked in run["snapshot"]["ranks"]["per_rank"]:
        decode = [step for step in ranked["steps"] if step["phase"] == "decode"]
        comm = sum(record["ms"] for step in decode for record in step["collectives"]
                   if 0 <= record["layer"] < len(step["layer_ms"]))
        share = 100 * comm / sum(sum(step["layer_ms"]) for step in decode)
        assert f"rank {ranked['rank']} {share:.0f}%" in out.split("communication: ")[1].splitlines()[0]
    assert "vocabulary-parallel embedding all-reduce and head all-gather, outside the layers" in out


def test_the_trace_has_a_process_per_rank_with_its_collectives(run):
    events = run["trace"]["traceEvents"]
    names = {event["pid"]: event["args"]["name"] for event in events if event["name"] == "process_name"}
    assert sorted(names) == [1, 2]
    assert names[1].endswith("rank 0") and names[2].endswith("rank 1")
    for pid in (1, 2):
        slices = [event for event in events if event["pid"] == pid and event["ph"] == "X"]
        assert any(event["name"] == "all_reduce mixer" for event in slices)
        assert any(event["name"] == "all_reduce ffn" and event["args"]["bytes"] == event["args"]["predicted_bytes"]
                   for event in slices)
        # the vocabulary-parallel embedding's all-reduce and the head's all-gather, once a step
        for name in ("all_reduce embedding", "all_gather head"):
            found = [event for event in slices if event["name"] == name]
            assert len(found) == NEW_TOKENS
            assert all(event["args"]["bytes"] == event["args"]["predicted_bytes"] > 0 for event in found)
    heads = [event for event in events if event["pid"] == 1 and event["name"].startswith("head ")]
    gathers = [event for event in events if event["pid"] == 1 and event["name"] == "all_gather head"]
    for head, gather in zip(heads, gathers):  # inside the head's slice, on its track
        assert gather["tid"] == head["tid"]
        assert head["ts"] - 1e-3 <= gather["ts"] and gather["ts"] + gather["dur"] <= head["ts"] + head["dur"] + 1e-3


def test_a_rank_whose_lists_disagree_with_the_layers_is_named(run):
    document = copy.deepcopy(run["snapshot"])
    document["ranks"]["per_rank"][1]["steps"][2]["kv_bytes"].pop()
    document["ranks"]["per_rank"][1]["steps"][0]["collectives"][0]["layer"] = 99
    del document["ranks"]["per_rank"][0]["steps"][-1]
    problems = "\n".join(snapshot_problems(document))
    assert "ranks.per_rank[1].steps[2].kv_bytes: expected 4 entries (one per layer), found 3" in problems
    assert "ranks.per_rank[1].steps[0].collectives[0].layer: expected a layer index up to 4 (the head), found 99" in problems
    assert f"ranks.per_rank[0].steps: expected {NEW_TOKENS} steps" in problems


@pytest.mark.parametrize("argv, named", [
    (["--tp", "3"], "layers[0].mixer.num_heads 8 does not split over 3 ranks"),
    (["--ep", "2"], "ep 2: qwen3-0.6b (explore) has no mixture-of-experts layer"),
    (["--tp", "2", "--mode", "fast"], "--tp/--ep: not with --mode fast"),
])
def test_a_run_that_cannot_split_exits_2_naming_why(capsys, argv, named):
    assert main(["profile", "--arch", "qwen3-0.6b", *argv]) == 2
    assert named in capsys.readouterr().err
