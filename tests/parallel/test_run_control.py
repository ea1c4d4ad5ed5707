"""Cancelling a parallel run: the ranks stop together at a step boundary, the caller hears
Cancelled, and no rank process outlives the run."""

import threading

import psutil
import pytest

from app.parallel.control import RankControl, RunControl
from app.parallel.launch import run_local
from app.parallel.run import ParallelJob
from app.runtime.probe import Cancelled
from app.spec import catalog


def test_cancel_stops_every_rank_and_leaves_no_process_behind():
    spec = catalog.get("qwen3-0.6b", "explore")
    job = ParallelJob(spec, 2, 1, ((1, 2, 3),), decode_steps=400, keep_logits=False)
    cancel = threading.Event()
    seen = []

    def on_step(done, total):
        seen.append(done)
        if done >= 2:
            cancel.set()

    before = {child.pid for child in psutil.Process().children(recursive=True)}
    with pytest.raises(Cancelled):
        run_local(job, cancel=cancel, on_step=on_step)
    assert seen and 2 <= seen[-1] < 401, seen  # it ran, and stopped well before its end
    # (multiprocessing's resource tracker, started with the first spawned process, stays by design)
    left = [child for child in psutil.Process().children(recursive=True)
            if child.pid not in before and "resource_tracker" not in " ".join(child.cmdline())]
    gone, alive = psutil.wait_procs(left, timeout=10)
    assert not alive, f"rank processes outlived the cancelled run: {alive}"


def test_the_watcher_reports_progress_and_raises_the_stop_flag(tmp_path):
    cancel = threading.Event()
    reports = []
    with RunControl(5, cancel, lambda done, total: reports.append((done, total))) as control:
        ranks = control.ranks
        assert isinstance(ranks, RankControl)
        ranks.step_done()
        ranks.step_done()
        cancel.set()
        for _ in range(50):  # the watcher looks every POLL_S
            if ranks.stop_flag.exists():
                break
            threading.Event().wait(0.05)
        assert ranks.stop_flag.exists()
    assert reports[-1] == (2, 5)
