"""One rank's part of a parallel run: build the model, cut the rank's share, prefill a
prompt and decode, recording for every step the per-layer time, each collective (layer,
operation, payload bytes, milliseconds), the bytes the rank's cache holds, its memory and
the tokens its MoE layers routed.

Every rank builds only its share (app/parallel/build.py): its weights those of the
single-process model of the same seed (build_model's), sliced, or its slices of a
checkpoint's, read from the files all ranks share. All ranks see the same
tokens; the logits, computed whole on every rank (the same on all), are kept by rank 0 only,
and every rank picks the same next token from them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
import torch.distributed as dist

from ..runtime.generate import Sampling, pick_next
from ..runtime.memory import sample
from ..spec import ArchSpec
from .build import build_share, load_share
from .comm import Comm
from .control import RankControl
from .plan import plan_for


@dataclass(frozen=True)
class ParallelJob:
    spec: ArchSpec
    tp: int
    ep: int
    prompt: tuple[tuple[int, ...], ...]  # [batch][tokens], the same on every rank
    decode_steps: int
    # the tokens fed at each decode step, [batch][decode_steps] (so that runs compare step
    # by step); None: each rank picks the greedy token from its logits (the same on all)
    forced: tuple[tuple[int, ...], ...] | None = None
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    threads: int = 1  # torch threads per rank (ranks share the machine's cores)
    # the next token when not forced: greedy by default; sampled, every rank draws from a
    # generator of the same seed, so all pick the same token
    sampling: Sampling = Sampling()
    keep_logits: bool = True  # rank 0 returns each step's logits (the parity tests read them)
    # a Hugging Face model directory (config.json + safetensors) whose config gives `spec`: each
    # rank reads its share of the weights from it; None: random weights of `seed`
    checkpoint: str | None = None


class LayerClock:
    """A model observer (app/model/step.LayerObserver) that notes perf_counter at every mark:
    per layer, the whole block, its mixer and its feed-forward, in milliseconds. Exact on the
    CPU, where the work is done when the mark is made (a GPU run would want the probe's
    CUDA events, app/runtime/probe.py)."""

    def __init__(self, num_layers: int):
        self.num_layers = num_layers
        self.marks: dict[tuple[int, str], float] = {}

    def mark(self, layer: int, point: str, at: float | None = None) -> None:
        self.marks[(layer, point)] = time.perf_counter() if at is None else at

    def mark_in_graph(self, x: torch.Tensor, layer: int, point: str) -> torch.Tensor:
        return x  # eager runs only

    def take(self) -> dict[str, list[float]]:
        def between(layer: int, first: str, last: str) -> float:
            return (self.marks[(layer, last)] - self.marks[(layer, first)]) * 1e3

        layers = range(self.num_layers)
        times = {"layer_ms": [between(i, "start", "ffn") for i in layers],
                 "mixer_ms": [between(i, "start", "mixer") for i in layers],
                 "ffn_ms": [between(i, "mixer", "ffn") for i in layers]}
        last = self.num_layers - 1
        # the final norm and the output head, after the last block (the model marks "head")
        times["head_ms"] = (self.marks[(self.num_layers, "head")] - self.marks[(last, "ffn")]) * 1e3 \
            if (self.num_layers, "head") in self.marks and last >= 0 else 0.0
        self.marks.clear()
        return times


@torch.no_grad()
def run_rank(job: ParallelJob, comm: Comm, control: RankControl | None = None) -> dict:
    """This rank's steps: {"rank", "steps": [{"phase", "tokens" (fed in), "seq_len" (after the
    step), "wall_ms", "layer_ms", "mixer_ms", "ffn_ms", "head_ms", "sample_ms", "collectives":
    [CollectiveRecord as a dict], "kv_bytes": [per layer], "memory" (app/runtime/memory.sample),
    "routing": {layer: tokens per expert this rank routed}, "next_tokens": [batch],
    "logits" (rank 0, keep_logits): [batch, tokens, vocab] float32}]}. With a control, every
    rank reads its stop flag together before each step (RunStopped when it is set) and rank 0
    counts each step done."""
    dtype = getattr(torch, job.dtype)
    plan = plan_for(job.spec, job.tp, job.ep)
    if job.checkpoint is not None:
        model = load_share(plan, comm, job.checkpoint, device=job.device, dtype=dtype)
    else:
        model = build_share(plan, comm, device=job.device, dtype=dtype, seed=job.seed)
    prompt = torch.tensor(job.prompt, dtype=torch.long, device=job.device)
    batch = prompt.shape[0]
    cache = model.new_cache(batch, prompt.shape[1] + job.decode_steps)
    clock = LayerClock(len(model.layers))
    generator = torch.Generator().manual_seed(job.sampling.seed) if job.sampling.temperature > 0 else None
    comm.take()  # nothing from building counts
    model.record_routing(True)
    steps = []
    tokens = prompt
    for index in range(job.decode_steps + 1):
        # The ranks finish building at different times: the first step starts together, so
        # that its first collective does not count the wait for the slowest rank's build.
        # (Reading the stop flag is itself a collective: it keeps the ranks in step.)
        if control is not None:
            control.check(comm.group)
        elif index == 0:
            dist.barrier(group=comm.group)
        began = time.perf_counter()
        logits = model(tokens, cache=cache, observer=clock)
        picked = time.perf_counter()
        next_tokens = pick_next(logits[:, -1], job.sampling, generator)
        next_ids = next_tokens[:, 0].tolist()
        done = time.perf_counter()
        step = {"phase": "prefill" if index == 0 else "decode", "tokens": tokens.shape[1],
                "seq_len": cache.position, "wall_ms": (done - began) * 1e3, **clock.take(),
                "sample_ms": (done - picked) * 1e3, "collectives": [asdict(record) for record in comm.take()],
                "kv_bytes": cache.layer_nbytes(), "memory": sample(job.device),
                "routing": model.take_routing_counts(), "next_tokens": next_ids}
        if comm.rank == 0 and job.keep_logits:
            step["logits"] = logits.float().cpu()
        steps.append(step)
        if control is not None and comm.rank == 0:
            control.step_done()
        if index == job.decode_steps:
            break
        if job.forced is not None:
            tokens = torch.tensor(job.forced, dtype=torch.long, device=job.device)[:, index:index + 1]
        else:
            tokens = next_tokens
    model.record_routing(False)
    return {"rank": comm.rank, "steps": steps}
