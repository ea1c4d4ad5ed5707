"""The model worker on its thread: it streams steps, cancels between layers, turns any
failure into a message, and stays usable afterwards."""

import time

import pytest

from app.worker import WorkerHandle

LOAD_TIMEOUT_MS = 60_000  # generous: only a hang should trip these
RUN_TIMEOUT_MS = 120_000


@pytest.fixture
def handle(qtbot):
    handle = WorkerHandle()
    yield handle
    handle.shutdown()


def load(qtbot, handle, **request):
    with qtbot.waitSignal(handle.loaded, timeout=LOAD_TIMEOUT_MS) as loaded:
        handle.load({"device": "cpu", **request})
    return loaded.args[0]


def test_streams_steps_then_finishes_with_a_snapshot(qtbot, handle):
    info = load(qtbot, handle, arch="gemma3-27b", scale="explore")
    assert info["params_total"] > 0 and len(info["layers"]) == 12
    batches = []
    handle.steps.connect(batches.append)
    with qtbot.waitSignal(handle.finished, timeout=RUN_TIMEOUT_MS) as finished:
        handle.run({"max_new_tokens": 8, "prompt": "hello"})
    updates = [update for batch in batches for update in batch]
    assert [u.record.index for u in updates] == list(range(8))
    assert len(batches) <= len(updates)
    assert finished.args[0]["schema"] == "archscope.profile/1"
    assert len(finished.args[0]["steps"]) == 8


def test_a_fast_run_shows_its_compiling_on_the_progress_bar_then_streams_steps(qtbot, handle):
    load(qtbot, handle, arch="smollm2-135m", scale="explore")
    shown = []
    handle.progress.connect(lambda what, done, total: shown.append((what, done, total)))
    with qtbot.waitSignal(handle.finished, timeout=RUN_TIMEOUT_MS * 3) as finished:
        handle.run({"max_new_tokens": 4, "prompt": "hello", "mode": "fast", "stop_at_eos": False})
    assert finished.args[0]["run"]["mode"] == "fast" and len(finished.args[0]["steps"]) == 4
    compiling = [entry for entry in shown if entry[0].startswith("Compiling")]
    assert compiling and compiling[0][2] == 0  # a busy bar: no count to show


def test_cancel_stops_the_run_between_layers_and_the_worker_runs_again(qtbot, handle):
    load(qtbot, handle, arch="llama3-8b", scale="explore")
    first_step = []
    handle.steps.connect(first_step.append)
    with qtbot.waitSignal(handle.cancelled, timeout=RUN_TIMEOUT_MS):
        handle.run({"max_new_tokens": 100_000})
        qtbot.waitUntil(lambda: bool(first_step), timeout=RUN_TIMEOUT_MS)
        asked = time.perf_counter()
        handle.cancel()
    latency_ms = (time.perf_counter() - asked) * 1e3
    print(f"cancel latency {latency_ms:.1f} ms")  # reported, not asserted: machines here are shared
    with qtbot.waitSignal(handle.finished, timeout=RUN_TIMEOUT_MS):
        handle.run({"max_new_tokens": 2})


def test_an_exception_in_the_model_becomes_failed_and_the_worker_recovers(qtbot, handle):
    load(qtbot, handle, arch="qwen3-0.6b", scale="explore")
    model = handle.worker.session.model
    original = model.forward

    def broken(*args, **kwargs):
        raise RuntimeError("injected failure")

    model.forward = broken
    with qtbot.waitSignal(handle.failed, timeout=RUN_TIMEOUT_MS) as failed:
        handle.run({"max_new_tokens": 4})
    assert "injected failure" in failed.args[0]
    model.forward = original
    with qtbot.waitSignal(handle.finished, timeout=RUN_TIMEOUT_MS):
        handle.run({"max_new_tokens": 2})


def test_loading_a_missing_model_is_a_message_not_a_crash(qtbot, handle, tmp_path):
    with qtbot.waitSignal(handle.failed, timeout=LOAD_TIMEOUT_MS) as failed:
        handle.load({"source": str(tmp_path / "nowhere"), "device": "cpu"})
    assert "nowhere" in failed.args[0]
    load(qtbot, handle, arch="gpt2-small", scale="explore")


def test_shutdown_returns_within_two_seconds_while_the_worker_is_stuck(qtbot, monkeypatch):
    """Closing the window calls shutdown: a worker inside one long operation that cancel
    cannot interrupt is left to finish alone, and the window does not freeze."""
    import threading

    import app.worker

    inside, release = threading.Event(), threading.Event()

    def stuck_build(*args, **kwargs):  # a single long operation: it never checks the cancel flag
        inside.set()
        release.wait(timeout=60)
        raise RuntimeError("released")

    monkeypatch.setattr(app.worker.Session, "from_arch", stuck_build)
    handle = WorkerHandle()
    failures = []
    handle.failed.connect(failures.append)
    handle.load({"arch": "llama3-8b", "scale": "explore", "device": "cpu"})
    qtbot.waitUntil(inside.is_set, timeout=LOAD_TIMEOUT_MS)
    start = time.monotonic()
    stopped = handle.shutdown()
    assert time.monotonic() - start < 2.0 + 1.0  # the acceptance bound on a hang, with a margin
    assert not stopped and handle.thread.isRunning()
    assert handle.worker._cancel.is_set()
    release.set()  # the operation ends; the abandoned thread stops and says nothing to the handle
    assert handle.thread.wait(LOAD_TIMEOUT_MS)
    qtbot.wait(50)
    assert failures == [] and handle.worker.session is None


def test_shutdown_during_a_hostile_chat_template_render_stops_the_thread(qtbot, handle, monkeypatch):
    """The render checks the cancel flag from inside the template, so the thread stops."""
    from tokenizers import Tokenizer, models

    from app.weights.tokenizer import TextTokenizer

    load(qtbot, handle, arch="llama3-8b", scale="explore")
    session = handle.worker.session
    entered = []
    nested = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    tokenizer = TextTokenizer(Tokenizer(models.WordLevel({"a": 0, "<unk>": 1}, unk_token="<unk>")),
                              chat_template=nested, origin="hostile.gguf")
    original = tokenizer.apply_chat_template
    tokenizer.apply_chat_template = lambda *a, **k: (entered.append(True), original(*a, **k))[1]
    session.tokenizer = tokenizer
    monkeypatch.setattr(handle.worker, "_calibrated_before_run", lambda: True)  # no calibration first
    handle.run({"prompt": "a", "chat": True, "max_new_tokens": 2})
    qtbot.waitUntil(lambda: bool(entered), timeout=RUN_TIMEOUT_MS)
    start = time.monotonic()
    assert handle.shutdown()
    assert time.monotonic() - start < 2.0 + 1.0


def test_closing_the_window_while_the_worker_is_stuck_returns_within_two_seconds(qtbot, open_window, monkeypatch):
    import threading

    import app.worker

    inside, release = threading.Event(), threading.Event()

    def stuck_build(*args, **kwargs):  # one long operation that never looks at the cancel flag
        inside.set()
        release.wait(timeout=60)
        raise RuntimeError("released")

    monkeypatch.setattr(app.worker.Session, "from_arch", stuck_build)
    window = open_window("gpt2-small")
    worker = window.runs.worker
    worker.load({"arch": "gpt2-small", "scale": "explore", "device": "cpu"})
    qtbot.waitUntil(inside.is_set, timeout=LOAD_TIMEOUT_MS)
    start = time.monotonic()
    window.close()
    assert time.monotonic() - start < 2.0 + 1.0  # the acceptance bound on a frozen window, with a margin
    assert worker.thread.isRunning()  # left to finish in the background
    release.set()
    assert worker.thread.wait(LOAD_TIMEOUT_MS)


def test_a_study_runs_on_the_worker_and_hands_back_its_result_as_data(qtbot, handle):
    fractions = []
    handle.progress.connect(lambda text, done, total: fractions.append((text, done, total)))
    with qtbot.waitSignal(handle.studied, timeout=RUN_TIMEOUT_MS) as studied:
        handle.study({"name": "sparse-attention", "quick": True, "size": "tiny", "device": "cpu"})
    result = studied.args[0]
    assert result["study"] == "sparse-attention" and result["answer"] and result["rows"]
    assert all(row["predicted"] is not None for row in result["rows"])
    assert fractions and all(text.startswith("Study: sparse-attention") and total == 100 for text, _, total in fractions)


def test_a_study_stops_when_cancelled_and_an_unknown_one_is_a_message(qtbot, handle):
    handle.progress.connect(lambda text, done, total: handle.cancel() if "measuring" in text else None)
    with qtbot.waitSignal(handle.cancelled, timeout=RUN_TIMEOUT_MS):
        handle.study({"name": "attention-budget", "quick": True, "size": "tiny", "device": "cpu"})
    with qtbot.waitSignal(handle.failed, timeout=RUN_TIMEOUT_MS) as failed:
        handle.study({"name": "no-such-study"})
    assert "Unknown study 'no-such-study'" in failed.args[0] and "mla-vs-gqa" in failed.args[0]
