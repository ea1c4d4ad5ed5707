"""A parallel profile from a spec to a snapshot: refuse a split that does not divide (naming
the field), choose the device and the threads per rank, start the ranks, and write what
they return as one ProfileSnapshot. `archscope profile --tp/--ep` and the window's worker
both run it, so the two cannot drift apart."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

import torch

from ..runtime.generate import Sampling
from ..runtime.memory import hardware
from ..runtime.snapshot import ProfileSnapshot, byte_tokens
from ..spec import ArchSpec
from ..spec.spec_file import spec_from_file
from ..weights.errors import WeightsError
from ..weights.tokenizer import tokenizer_from_directory
from .launch import backend_for, run_local
from .plan import PlanError, plan_problems
from .run import ParallelJob
from .snapshot import parallel_snapshot


def parallel_device(requested: str, world_size: int) -> str:
    """cuda when asked (or, for auto, when there is a GPU for every rank), else cpu.
    requested: "auto", "cpu", "cuda" or "cuda:N" (the window's device list; the ranks take
    one GPU each from the first, so N only says that a GPU was asked for)."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    wants_cuda = requested.startswith("cuda")
    if wants_cuda and gpus < world_size:
        raise ValueError(f"--device cuda: {world_size} ranks need {world_size} GPUs (one each), found {gpus}; "
                         f"--device cpu runs them on gloo")
    return "cuda" if wants_cuda or (requested == "auto" and gpus >= world_size) else "cpu"


def threads_per_rank(world_size: int, cores: int | None = None) -> int:
    """The ranks share the machine's cores: each gets an equal part, at least one."""
    return max(1, (cores or os.cpu_count() or 1) // world_size)


def starting_line(world_size: int, backend: str, threads: int) -> str:
    return f"starting {world_size} ranks ({backend}, {threads} thread{'s' if threads != 1 else ''} each)"


def profile_parallel(spec: ArchSpec, tp: int, ep: int, *, prompt_text: str, scale: str, batch: int = 1,
                     max_new_tokens: int, seed: int = 0, dtype: str = "float32", device_request: str = "auto",
                     threads: int | None = None, sampling: Sampling = Sampling(),
                     cancel: threading.Event | None = None, on_step: Callable[[int, int], None] | None = None,
                     on_start: Callable[[str], None] | None = None,
                     checkpoint: str | None = None) -> ProfileSnapshot:
    """Run `spec` (random weights of `seed`) split over max(tp, ep) local ranks and return
    the snapshot with its "ranks" section. scale: the catalog scale the spec is at, for the
    snapshot. threads: torch threads per rank (None: an equal share of the cores).
    checkpoint: a Hugging Face model directory whose config gives `spec` (checkpoint_spec):
    each rank reads its share of its weights, and its tokenizer, where it has one, reads
    the prompt and writes the completion.

    PlanError (every field that does not split) before any rank starts; RankFailed naming
    each rank that raised; Cancelled when `cancel` was set (the ranks stop together at their
    next step). on_step(done, total) as rank 0 finishes each step; on_start(line) once, with
    the line saying how many ranks start, on which backend and with how many threads."""
    problems = plan_problems(spec, tp, ep)
    if problems:
        raise PlanError([f"{spec.name} does not split as --tp {tp} --ep {ep} asks:", *problems])
    world_size = max(tp, ep)
    device = parallel_device(device_request, world_size)
    threads = threads or threads_per_rank(world_size)
    tokenizer = tokenizer_from_directory(Path(checkpoint)) if checkpoint is not None else None
    prompt = tuple(tokenizer.encode(prompt_text) if tokenizer is not None else byte_tokens(prompt_text, spec.vocab_size))
    # the prefill makes the first new token; each decode step one more
    job = ParallelJob(spec, tp, ep, (prompt,) * batch, max_new_tokens - 1, seed=seed, device=device, dtype=dtype,
                      threads=threads, sampling=sampling, keep_logits=False, checkpoint=checkpoint)
    backend = backend_for(device)
    if on_start is not None:
        on_start(starting_line(world_size, backend, threads))
    ranks = run_local(job, cancel=cancel, on_step=on_step)
    completion = ""
    if tokenizer is not None:  # the first sequence's new tokens (every row runs the same prompt)
        completion = tokenizer.decode([step["next_tokens"][0] for step in ranks[0]["steps"]])
    return parallel_snapshot(job, ranks, hardware(device), prompt_text, scale, backend, completion)


def checkpoint_spec(directory: str | Path) -> ArchSpec:
    """The spec a Hugging Face model directory's config.json gives (spec_from_file's reading);
    WeightsError naming the path when it is not a directory a parallel run can read (GGUF
    files, Hub ids: not yet), or has no config.json."""
    path = Path(directory)
    if not path.is_dir():
        raise WeightsError(f"{directory}: a parallel run reads a local Hugging Face model directory "
                           "(config.json + safetensors); GGUF files, embedded models and Hub ids not yet")
    if not (path / "config.json").is_file():
        raise WeightsError(f"{path}: no config.json (expected a Hugging Face model directory)")
    return spec_from_file(path / "config.json").spec  # (a SpecError names the file and field)
