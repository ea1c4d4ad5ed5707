"""One definition of every number: the decode rate is tokens over decode seconds, a step's
shares cover the whole step (the output head and the sampling timed, the rest named), and
snapshots written before the head was timed still open."""

import json
from importlib import resources

import jsonschema
import pytest

from app.runtime.export import to_chrome_trace
from app.runtime.figures import StepTime, decode_step_time, decode_text, decode_tokens_per_s, scale_note
from app.runtime.session import RunConfig, Session
from app.runtime.snapshot import ProfileSnapshot

SCHEMA = json.loads(resources.files("app.resources").joinpath("profile.schema.json").read_text())


@pytest.fixture(scope="module")
def snapshot():
    # Gemma 3 (explore): a final logit soft-cap and a tied head, all inside the timed head
    return Session.from_arch("gemma3-270m", "explore", device="cpu").run(RunConfig(max_new_tokens=4))


def test_decode_rate_is_the_tokens_over_the_decode_seconds_not_the_mean_of_step_rates():
    # two rows per step, one step of 10 ms and one of 30: 4 tokens in 40 ms
    assert decode_tokens_per_s([10.0, 30.0], batch=2) == pytest.approx(100.0)
    assert decode_tokens_per_s([], batch=1) == 0.0


def test_the_probe_times_the_head_and_the_sampling_inside_each_step(snapshot):
    for step in snapshot.steps:
        assert step.head_ms > 0 and step.sample_ms > 0
        assert sum(step.layer_ms) + step.head_ms + step.sample_ms <= step.wall_ms
    untimed = Session.from_arch("qwen3-0.6b", "explore", device="cpu").run(RunConfig(max_new_tokens=2, probe=False))
    assert all(step.head_ms == 0.0 and step.sample_ms == 0.0 for step in untimed.steps)


def test_shares_are_of_the_whole_step_and_sum_to_one():
    step = {"phase": "decode", "wall_ms": 10.0, "mixer_ms": [1.0, 1.0], "ffn_ms": [2.0, 1.5], "head_ms": 2.5,
            "sample_ms": 0.5}
    total = StepTime()
    total.add(step)
    shares = total.shares()
    assert shares.layers == pytest.approx(0.55) and shares.head == pytest.approx(0.25)
    assert shares.sample == pytest.approx(0.05) and shares.rest == pytest.approx(0.15)
    assert shares.text() == "layers 55%, output head 25%, sampling 5%, rest 15% of step"
    prefill = {**step, "phase": "prefill", "wall_ms": 100.0}
    assert decode_step_time([prefill, step]).wall_ms == 10.0  # the decode steps, not the prefill
    assert decode_step_time([prefill]).wall_ms == 100.0  # unless there are none


def test_a_run_records_its_scale_threads_and_end_of_text_stop(snapshot):
    run = snapshot.run
    assert run["scale"] == "explore" and run["threads"] >= 1 and run["stop_at_eos"] is True
    assert scale_note(run, snapshot.model).startswith("explore scale: ")
    assert scale_note({**run, "scale": "real weights"}, snapshot.model) == ""
    jsonschema.validate(snapshot.to_dict(), SCHEMA)


def test_without_a_decode_step_the_words_say_why():
    ended = {"stop_at_eos": True, "max_new_tokens": 32}
    assert decode_text(ended, 0.0, 0, "--ignore-eos runs every step") == (
        "no decode step ran: the model ended its text after the prefill (--ignore-eos runs every step)")
    assert "one new token was asked for" in decode_text({"max_new_tokens": 1}, 0.0, 0, "")
    assert decode_text(ended, 5.74, 3, "") == "decode 5.7 tokens/s"


def test_a_snapshot_written_before_the_head_was_timed_still_opens(snapshot):
    document = json.loads(json.dumps(snapshot.to_dict()))
    for step in document["steps"]:
        del step["head_ms"], step["sample_ms"]
    for key in ("threads", "scale", "stop_at_eos", "max_new_tokens"):
        del document["run"][key]
    jsonschema.validate(document, SCHEMA)
    reopened = ProfileSnapshot.from_dict(document)
    assert all(step.head_ms == 0.0 and step.sample_ms == 0.0 for step in reopened.steps)
    assert reopened.summary()["decode_tokens_per_s"] == snapshot.summary()["decode_tokens_per_s"]
    shares = decode_step_time(reopened.steps).shares()
    assert shares.head == 0.0 and shares.rest > 0  # the untimed head falls into the rest
    assert json.loads(to_chrome_trace(reopened))["traceEvents"]


def test_the_trace_puts_the_head_and_the_sampling_on_tracks_of_their_own(snapshot):
    events = json.loads(to_chrome_trace(snapshot))["traceEvents"]
    tracks = {e["args"]["name"]: e["tid"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    heads = [e for e in events if e["ph"] == "X" and e["tid"] == tracks["output head"]]
    samples = [e for e in events if e["ph"] == "X" and e["tid"] == tracks["sampling"]]
    assert len(heads) == len(samples) == len(snapshot.steps)
    last_layer = max(tid for name, tid in tracks.items() if name.startswith("layer "))
    for step, head, sample in zip(snapshot.steps, heads, samples):
        layer_slice = next(e for e in events if e["ph"] == "X" and e["tid"] == last_layer
                           and e["name"] == f"step {step.index}")
        assert head["ts"] == pytest.approx(layer_slice["ts"] + layer_slice["dur"])  # after the last layer
        assert head["dur"] == pytest.approx(step.head_ms * 1e3)
        assert sample["ts"] == pytest.approx(head["ts"] + head["dur"])
        assert sample["dur"] == pytest.approx(step.sample_ms * 1e3)


def test_an_explore_run_puts_the_published_models_roofline_beside_its_stand_in():
    from app.spec import catalog
    from app.spec.roofline import Roofs, predict_step

    roofs = Roofs("test device", "float32", bandwidth_bytes_per_s=20e9, flops_per_s=50e9)
    session = Session.from_arch("qwen3-30b-a3b", "explore", device="cpu")
    snapshot = session.run(RunConfig(max_new_tokens=3, stop_at_eos=False, roofs=roofs)).to_dict()
    published = snapshot["run"]["published"]
    full = catalog.get("qwen3-30b-a3b", "full")
    context = snapshot["steps"][-1]["seq_len"] - 1  # cached before the last step, as its own prediction
    assert published["name"] == "qwen3-30b-a3b" and published["context"] == context
    assert published["predicted_decode_ms"] == pytest.approx(
        predict_step(full, roofs, "decode", 1, context, 1, 4).total_ms, abs=1e-3)
    note = scale_note(snapshot["run"], snapshot["model"])
    assert note.startswith("explore scale") and f"{published['predicted_decode_ms']:.1f} ms" in note
    assert "slice scale" in note
