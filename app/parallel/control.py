"""What the process that started a parallel run says to its ranks while they run, and what
they tell it back, through two files in a directory of its own: a stop flag the parent
creates when the user cancels, and a progress file to which rank 0 adds a line per step.

Files, because the ranks are processes spawned by torchrun's agent, which hands them only
picklable arguments, and both directions are one bit or one count. The ranks read the flag
at every step boundary and agree on it through one all-reduce, so they all stop after the
same step and no rank is left waiting in a collective for one that has gone.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

POLL_S = 0.1  # how often the parent looks at the cancel request and the progress file


class RunStopped(Exception):
    """Raised in a rank when the run was cancelled: every rank raises it at the same step."""


@dataclass(frozen=True)
class RankControl:
    """The ranks' side: picklable, handed to every rank with its jobs."""

    directory: str

    @property
    def stop_flag(self) -> Path:
        return Path(self.directory) / "stop"

    @property
    def progress(self) -> Path:
        return Path(self.directory) / "progress"

    def check(self, group=None) -> None:
        """At a step boundary, on every rank together: raise RunStopped when the run was
        cancelled on any rank's reading of the flag (the all-reduce makes it one answer)."""
        stop = torch.tensor([1 if self.stop_flag.exists() else 0])
        dist.all_reduce(stop, op=dist.ReduceOp.MAX, group=group)
        if stop.item():
            raise RunStopped()

    def step_done(self) -> None:
        """Rank 0, after each step: one more line in the progress file."""
        with open(self.progress, "a") as progress:
            progress.write(".\n")


class RunControl:
    """The parent's side, for the length of one run: a watcher thread that creates the stop
    flag once `cancel` is set and calls on_step(done, total) as rank 0's count grows."""

    def __init__(self, total_steps: int, cancel: threading.Event | None = None, on_step=None):
        self._directory = tempfile.TemporaryDirectory(prefix="archscope-ranks-")
        self.ranks = RankControl(self._directory.name)
        self.total_steps = total_steps
        self.cancel = cancel
        self.on_step = on_step
        self._done = threading.Event()
        self._reported = 0
        self._watcher = threading.Thread(target=self._watch, name="archscope-rank-watcher", daemon=True)

    def __enter__(self) -> RunControl:
        self._watcher.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._watcher.join()
        self._report()  # the last steps, done between the final poll and the ranks' end
        self._directory.cleanup()

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def _watch(self) -> None:
        while not self._done.wait(POLL_S):
            if self.cancelled and not self.ranks.stop_flag.exists():
                self.ranks.stop_flag.touch()
            self._report()

    def _report(self) -> None:
        if self.on_step is None:
            return
        try:
            done = os.path.getsize(self.ranks.progress) // 2  # ".\n" a step
        except OSError:
            return
        if done > self._reported:
            self._reported = done
            self.on_step(min(done, self.total_steps), self.total_steps)
