"""Starting ranks. `run_local` starts them on this machine with torchrun's own launcher
(torch.distributed.run's elastic agent, called in-process: `elastic_launch`), each rank a
child process of this one that joins the process group from the environment the agent sets
(RANK, WORLD_SIZE, MASTER_ADDR, ...), exactly as under `torchrun`. Gloo on the CPU, NCCL on
GPUs, one GPU per rank.

Rank 0 gathers every rank's record of the run and hands it back as its return value, which
the agent returns here. A rank that fails stops the others (the agent watches them all) and
raises RankFailed here, naming the rank and its error. A run can be cancelled and followed
step by step from here (app/parallel/control.py): the ranks stop together at their next step
boundary, and Cancelled is raised here once they have all ended.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from contextlib import contextmanager

import torch
import torch.distributed as dist

from ..runtime.probe import Cancelled
from .comm import Comm
from .control import RankControl, RunControl, RunStopped
from .run import ParallelJob, run_rank

STOPPED = "stopped"  # what rank 0 hands back for a cancelled run


def backend_for(device: str) -> str:
    return "nccl" if device.startswith("cuda") else "gloo"


class RankFailed(RuntimeError):
    """One or more ranks of a parallel run ended with an error: each named with it."""


def init_from_environment(device: str = "cpu") -> Comm:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, MASTER_ADDR, ...); on a
    GPU each rank takes the device of its LOCAL_RANK."""
    if device.startswith("cuda"):
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend_for(device))
    return Comm()


def _run_jobs(jobs: list[ParallelJob], control: RankControl | None = None) -> list[list[dict]] | str | None:
    """One rank's part of `run_local` (torchrun's agent calls it in each child): every job in
    turn, then rank 0 gathers the records -- by job, then by rank -- and returns them
    (STOPPED when the run was cancelled)."""
    torch.set_num_threads(max(job.threads for job in jobs))
    comm = init_from_environment(jobs[0].device)
    try:
        try:
            results = [run_rank(job, comm, control) for job in jobs]
        except RunStopped:
            return STOPPED if comm.rank == 0 else None
        gathered = [None] * comm.world_size if comm.rank == 0 else None
        dist.gather_object(results, gathered, dst=0)
        if comm.rank != 0:
            return None
        return [[ranks[index] for ranks in gathered] for index in range(len(jobs))]
    finally:
        dist.destroy_process_group()


@contextmanager
def _launcher_quiet():
    """The agent's own logging (its settings, a SIGTERM to the other ranks, the failing
    rank's traceback) stays out of the terminal: RankFailed says what failed. And the agent
    installs signal handlers in the main thread (SIGINT then raises its SignalException):
    those of this process come back when the ranks are done."""
    loggers = [logging.getLogger(name) for name in ("torch.distributed.elastic", "torch.multiprocessing")]
    levels = [logger.level for logger in loggers]
    main = threading.current_thread() is threading.main_thread()
    handlers = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)} if main else {}
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
        for number, handler in handlers.items():
            signal.signal(number, handler)


def launch(entrypoint, args: tuple, world_size: int):
    """Run `entrypoint(*args)` on `world_size` ranks of this machine through torchrun's
    agent; rank 0's return value. RankFailed names each rank that raised."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    # torchrun --standalone: a rendezvous on a free local port; no restarts (a failure is
    # a failure to report, not to retry)
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=world_size, rdzv_backend="c10d",
                          rdzv_endpoint="localhost:0", run_id=f"archscope-{uuid.uuid4().hex[:12]}", max_restarts=0,
                          monitor_interval=0.1, start_method="spawn")
    with _launcher_quiet():
        try:
            # (the agent wraps the entrypoint in record(), which hands a rank's error back)
            returned = elastic_launch(config, entrypoint)(*args)
        except ChildFailedError as error:
            raise RankFailed("\n".join(_failure_lines(error))) from None
    return returned[0]


def _failure_lines(error) -> list[str]:
    lines = []
    for rank, failure in sorted(error.failures.items()):
        message = failure.message
        if isinstance(message, dict):
            message = message.get("message", "")
        text = str(message).strip() or f"exit code {failure.exitcode}"
        lines.append(f"rank {rank} failed: {text.splitlines()[-1] if text else text}")
    return lines or [str(error)]


def run_local(jobs: ParallelJob | list[ParallelJob], cancel: threading.Event | None = None,
              on_step=None) -> list[dict] | list[list[dict]]:
    """Run a job (or several, one after the other in the same ranks: starting ranks costs
    seconds) on the ranks its plan spans, each a child process of this one started by
    torchrun's agent. Every rank's record (`run_rank`'s) in rank order -- for each job,
    when given a list. A failing rank raises RankFailed here.

    cancel: set it (from any thread) to stop the ranks at their next step boundary; this
    then raises Cancelled once every rank has ended. on_step(done, total): called from a
    watcher thread as rank 0 finishes each step of all the jobs."""
    several = isinstance(jobs, (list, tuple))
    jobs = list(jobs) if several else [jobs]
    sizes = {max(job.tp, job.ep) for job in jobs}
    if len(sizes) != 1:
        raise ValueError(f"jobs run together must span as many ranks; these span {sorted(sizes)}")
    total = sum(job.decode_steps + 1 for job in jobs)
    with RunControl(total, cancel, on_step) as control:
        by_job = launch(_run_jobs, (jobs, control.ranks), sizes.pop())
    if by_job == STOPPED:
        raise Cancelled()
    return by_job if several else by_job[0]
