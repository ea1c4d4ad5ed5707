"""Starting ranks: in this process's children on one machine (tests and bench/parallel.py:
torch.multiprocessing's spawn and a rendezvous file), or as one of the processes that
torch.distributed.run (torchrun) started, from the environment it sets.

Gloo on the CPU, NCCL on GPUs. Rank 0 gathers every rank's record of the run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from .comm import Comm
from .run import ParallelJob, run_rank


def backend_for(device: str) -> str:
    return "nccl" if device.startswith("cuda") else "gloo"


def init_from_environment(device: str = "cpu") -> Comm:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, MASTER_ADDR, ...); on a
    GPU each rank takes the device of its LOCAL_RANK."""
    if device.startswith("cuda"):
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend_for(device))
    return Comm()


def _rank_main(rank: int, world_size: int, jobs: list[ParallelJob], folder: str) -> None:
    torch.set_num_threads(max(job.threads for job in jobs))
    dist.init_process_group(backend_for(jobs[0].device), init_method=f"file://{folder}/rendezvous", rank=rank,
                            world_size=world_size)
    try:
        comm = Comm()
        results = [run_rank(job, comm) for job in jobs]
        gathered = [None] * world_size if rank == 0 else None
        dist.gather_object(results, gathered, dst=0)
        if rank == 0:
            # by job, then by rank
            torch.save([[ranks[index] for ranks in gathered] for index in range(len(jobs))],
                       Path(folder) / "ranks.pt")
    finally:
        dist.destroy_process_group()


def run_local(jobs: ParallelJob | list[ParallelJob]) -> list[dict] | list[list[dict]]:
    """Run a job (or several, one after the other in the same ranks: starting ranks costs
    seconds) on the ranks its plan spans, each a child process of this one. Every rank's
    record (`run_rank`'s) in rank order -- for each job, when given a list. A failing rank
    raises here."""
    several = isinstance(jobs, (list, tuple))
    jobs = list(jobs) if several else [jobs]
    sizes = {max(job.tp, job.ep) for job in jobs}
    if len(sizes) != 1:
        raise ValueError(f"jobs run together must span as many ranks; these span {sorted(sizes)}")
    with tempfile.TemporaryDirectory(prefix="archscope-ranks-") as folder:
        world_size = sizes.pop()
        mp.spawn(_rank_main, args=(world_size, jobs, folder), nprocs=world_size, join=True)
        # Only tensors, lists, dicts and numbers: the safe loader reads them.
        by_job = torch.load(Path(folder) / "ranks.pt", weights_only=True)
    return by_job if several else by_job[0]
