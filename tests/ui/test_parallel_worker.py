"""A parallel run through the model worker: its ranks run as child processes and it ends as a
normal run does -- finished with the snapshot (its "ranks" section included), failed naming
the field that does not split, or cancelled with every rank gone."""

import psutil
import pytest

from app.spec import catalog
from app.spec.serialize import spec_to_dict
from app.worker import WorkerHandle

RUN_TIMEOUT_MS = 180_000  # generous: two ranks spawn, import torch and build; only a hang should trip it


@pytest.fixture
def handle(qtbot):
    handle = WorkerHandle()
    yield handle
    handle.shutdown()


def settings(tp: int, ep: int = 1, max_new_tokens: int = 2) -> dict:
    return {"spec": spec_to_dict(catalog.get("qwen3-0.6b", "explore")), "scale": "explore", "tp": tp, "ep": ep,
            "prompt": "hello", "max_new_tokens": max_new_tokens, "device": "cpu"}


def rank_processes() -> list[psutil.Process]:
    """This process' descendants that run a rank (torchrun's agent spawns them through
    multiprocessing; its resource tracker, which outlives them by design, is not one)."""
    ranks = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                ranks.append(child)
        except psutil.NoSuchProcess:
            pass
    return ranks


def test_a_tp2_run_finishes_with_a_section_per_rank_and_counts_its_steps(qtbot, handle):
    shown = []
    handle.progress.connect(lambda what, done, total: shown.append((what, done, total)))
    with qtbot.waitSignal(handle.finished, timeout=RUN_TIMEOUT_MS) as finished:
        handle.parallel_run(settings(tp=2))
    document = finished.args[0]
    assert document["schema"] == "archscope.profile/1" and len(document["steps"]) == 2
    ranks = document["ranks"]
    assert (ranks["tp"], ranks["ep"], ranks["world_size"]) == (2, 1, 2)
    assert [len(ranked["steps"]) for ranked in ranks["per_rank"]] == [2, 2]
    assert shown[0][0].startswith("starting 2 ranks") and shown[0][2] == 0  # a busy bar while they start
    assert ("ranks", 2, 2) in shown


def test_a_split_that_does_not_divide_fails_naming_the_field(qtbot, handle):
    with qtbot.waitSignal(handle.failed, timeout=RUN_TIMEOUT_MS) as failed:
        handle.parallel_run(settings(tp=3))
    assert "layers[0].mixer.num_heads 8 does not split over 3 ranks" in failed.args[0]


def test_cancel_reaches_the_ranks_and_none_is_left(qtbot, handle):
    counted = []
    handle.progress.connect(lambda what, done, total: counted.append(done) if what == "ranks" else None)
    with qtbot.waitSignal(handle.cancelled, timeout=RUN_TIMEOUT_MS):
        handle.parallel_run(settings(tp=2, max_new_tokens=100_000))
        qtbot.waitUntil(lambda: bool(counted), timeout=RUN_TIMEOUT_MS)
        assert rank_processes(), "the ranks should be running"
        handle.cancel()
    assert counted[-1] < 100_000
    assert rank_processes() == []
