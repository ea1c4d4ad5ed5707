"""A Session owns one model on one device and runs profiled generations on it.

The model comes from any weights source (`load_pretrained`) or from a catalog entry or
spec at a scale with random weights. `run` generates token by token and, per step,
records wall time, per-layer time (the probe, switchable), KV bytes per layer beside the
analysis' prediction, memory and MoE routing -- streaming each step to a callback.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch

from ..defaults import DEFAULT_PROMPT, EXECUTION_MODES
from ..dtypes import RUN_DTYPE_NAMES
from ..model import build_model
from ..model import cpu_kernels
from ..model.held_bytes import matrix_bytes
from ..spec import ArchSpec, catalog
from ..spec.analysis import analyze
from ..spec.roofline import MatrixBytes, Roofs, predict_step
from .fast import CompiledDecode, NeedsAnotherGraph
from .graphs import GraphDecode
from .generate import Sampling, pick_next
from .memory import hardware, sample
from .prefill import prefill_all_but_last_chunk, with_earlier_chunks
from .probe import CancelCheck, Cancelled, LayerTimer
from .slices import SlicePlan, extrapolate_snapshot, memory_budget, plan_slice
from .snapshot import ProfileSnapshot, StepRecord, byte_tokens, model_section
from .vision_track import cross_kv_predicted, encode_timed, place_image, record_step, vision_section

DTYPES = {name: getattr(torch, name) for name in RUN_DTYPE_NAMES}  # app/dtypes.py names them


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device cuda: no CUDA GPU is available to torch here; use --device cpu")
    return torch.device(device)


@dataclass(frozen=True)
class RunConfig:
    prompt: str = DEFAULT_PROMPT
    max_new_tokens: int = 32
    batch: int = 1
    sampling: Sampling = Sampling()
    stop_at_eos: bool = True
    probe: bool = True
    chat: bool = False  # format the prompt with the checkpoint's chat template
    image: str | None = None  # a vision model's PNG; None: a generated test card
    roofs: Roofs | None = None  # the device's measured roofs: each step's predicted times; None: none
    mode: str = "eager"  # "fast": the decode step compiled whole, the probe's marks inside (app/runtime/fast.py)

    def __post_init__(self):
        if self.mode not in EXECUTION_MODES:
            raise ValueError(f"mode {self.mode!r}: expected one of {', '.join(EXECUTION_MODES)}")


@dataclass
class StepUpdate:
    """What a listener gets after every step (plain data, safe to send across threads)."""

    record: StepRecord
    text: str  # the decoded text of batch row 0 so far (empty without a tokenizer)
    done: int  # new tokens so far
    total: int  # new tokens asked for


@dataclass
class Session:
    model: torch.nn.Module
    spec: ArchSpec
    device: torch.device
    dtype: torch.dtype
    name: str
    source: str
    tokenizer: object = None
    notes: list[str] = field(default_factory=list)
    # the low-bit projections' bytes per weight (a GGUF file's kept low-bit, app/model/lowbit.py),
    # for the roofline; None when every weight is in the run's dtype
    matrices: MatrixBytes | None = None
    scale: str = "real weights"  # or the catalog scale of random weights: "explore" | "slice" | "full"
    # the published model a smaller stand-in (explore scale) runs for: its predicted cost
    # goes beside the stand-in's measured one
    published: ArchSpec | None = None
    slice_plan: SlicePlan | None = None  # a slice run's plan: its snapshot extrapolates to the whole model
    # the fast mode's decode step, made by the first fast run: compiled on the CPU, a CUDA graph on a GPU
    fast_step: CompiledDecode | GraphDecode | None = None

    @property
    def weights(self) -> str:
        """How the matrices are held: low-bit where some compute on their stored bits, else float."""
        return "float" if self.matrices is None else "low-bit"

    @classmethod
    def from_arch(cls, name: str | ArchSpec, scale: str = "explore", device: str = "auto",
                  dtype: str = "float32", seed: int = 0, published: ArchSpec | None = None) -> Session:
        """scale: the catalog scale of a name; for a spec, the scale it was made at (its
        label). published: the full model a spec at explore scale stands for (a catalog
        name's own full entry is found without it)."""
        spec = name if isinstance(name, ArchSpec) else catalog.get(name, scale)
        if published is None and isinstance(name, str) and scale == "explore":
            published = catalog.get(name, "full")
        torch_device = resolve_device(device)
        model = build_model(spec, torch_device, DTYPES[dtype], seed)
        return cls(model, spec, torch_device, DTYPES[dtype], spec.name, f"random weights, seed {seed}", scale=scale,
                   published=published)

    @classmethod
    def from_slice(cls, full: ArchSpec, device: str = "auto", dtype: str = "float32", seed: int = 0,
                   budget_bytes: int | None = None) -> Session:
        """One layer of each distinct kind of `full` at its published widths (experts trimmed
        to fit `budget_bytes`, by default most of the device's free memory)."""
        torch_device = resolve_device(device)
        budget = budget_bytes if budget_bytes is not None else memory_budget(torch_device)
        plan = plan_slice(full, budget, DTYPES[dtype].itemsize)
        session = cls.from_arch(plan.spec, "slice", device, dtype, seed)
        session.notes.extend(plan.notes)
        session.slice_plan = plan
        return session

    @classmethod
    def from_source(cls, source: str, device: str = "auto", dtype: str = "float32", progress=None,
                    weights: str = "native") -> Session:
        """weights: a GGUF file's matrices kept low-bit ("native") or expanded ("dequantize")."""
        from ..weights import load_pretrained

        torch_device = resolve_device(device)
        loaded = load_pretrained(source, device=torch_device, dtype=DTYPES[dtype], progress=progress,
                                 weights=weights)
        matrices = matrix_bytes(loaded.model)
        return cls(loaded.model, loaded.spec, torch_device, DTYPES[dtype], loaded.spec.name, str(source),
                   loaded.tokenizer, notes=list(loaded.notes), matrices=matrices)

    # --- prompt -------------------------------------------------------------------------

    def encode(self, prompt: str, chat: bool = False, cancelled: Callable[[], bool] = lambda: False) -> list[int]:
        if self.tokenizer is not None:
            if chat and hasattr(self.tokenizer, "apply_chat_template"):
                from ..weights.chat_template import TemplateCancelled

                try:  # a hostile template can run until its budget ends: cancel reaches into it
                    return self.tokenizer.apply_chat_template(prompt, cancelled=cancelled)
                except TemplateCancelled:
                    raise Cancelled() from None
            return self.tokenizer.encode(prompt)
        return byte_tokens(prompt, self.spec.vocab_size)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids) if self.tokenizer is not None else ""

    def stop_ids(self) -> set[int]:
        ids = getattr(self.tokenizer, "eos_token_ids", None) or ()
        return set(ids)

    # --- running ------------------------------------------------------------------------

    def model_info(self) -> dict:
        return model_section(self.spec, self.name, self.source, str(self.dtype).removeprefix("torch."),
                             str(self.device), self.weights, self.matrices)

    def _published_prediction(self, config: RunConfig, context: int, element: int) -> dict:
        """The roofline's least decode step of the published model this stand-in runs for,
        at the run's final context, batch and dtype, on the same roofs."""
        step = predict_step(self.published, config.roofs, "decode", 1, context, config.batch, element)
        return {"name": self.published.name, "context": context, "predicted_decode_ms": round(step.total_ms, 4),
                "layers": self.published.num_layers, "d_model": self.published.d_model}

    def _fast_decode(self, config: RunConfig, capacity: int, observer, progress) -> tuple[object, list[str]]:
        """The decode step a run uses, and what to note: the fast mode's (compiled now on the
        CPU if this batch and capacity are new; captured once the run's cache exists on a
        GPU, by _capture), the model itself in eager mode or when compiling fails."""
        if config.mode != "fast" or self.spec.vision is not None:
            notes = ["fast mode: a vision model runs eagerly (its image steps are not compiled)"] \
                if config.mode == "fast" else []
            return self.model, notes
        if self.fast_step is None:
            self.fast_step = GraphDecode(self.model) if self.device.type == "cuda" else CompiledDecode(self.model)
        try:
            seconds = self.fast_step.prepare(config.batch, capacity, observer, progress)
        except Cancelled:
            raise
        except Exception as error:  # noqa: BLE001 -- any compiler failure: the run goes on eagerly
            self.fast_step = None
            return self.model, [_eager_instead(error)]
        notes = [f"fast mode: decode step compiled in {seconds:.1f} s"] if seconds else []
        notes += [f"fast mode: part of the step runs eagerly ({reason})" for reason in self.fast_step.eager_parts]
        return self.fast_step, notes

    def _capture(self, decode, config: RunConfig, cache, observer) -> tuple[object, list[str]]:
        """On a GPU, the fast mode's CUDA graph, captured over this run's cache and probe."""
        if not isinstance(decode, GraphDecode) or config.max_new_tokens < 2:  # (< 2: no decode step to replay)
            return decode, []
        try:
            seconds = decode.capture(config.batch, cache, observer)
        except Cancelled:
            raise
        except Exception as error:  # noqa: BLE001 -- a step that cannot be captured runs eagerly
            return self.model, [_eager_instead(error)]
        return decode, [f"fast mode: decode step captured in a CUDA graph in {seconds:.2f} s"]

    @torch.no_grad()
    def run(self, config: RunConfig, on_step: Callable[[StepUpdate], None] | None = None,
            cancelled: Callable[[], bool] = lambda: False,
            on_progress: Callable[[str, int, int], None] | None = None) -> ProfileSnapshot:
        """Generate and measure. Raises probe.Cancelled when `cancelled()` turns true;
        the steps so far are lost with it, the session stays usable. on_progress(what,
        done, total): work before the first step (compiling the fast mode's step)."""
        prompt_ids = self.encode(config.prompt, config.chat, cancelled)
        image = None
        if self.spec.vision is not None:
            prompt_ids, image = place_image(self.spec, prompt_ids, config.image, config.batch,
                                            after_first=self.tokenizer is not None, cancelled=cancelled)
        elif config.image is not None:
            raise ValueError(f"{self.name} has no vision front-end; it takes no image")
        total_len = len(prompt_ids) + config.max_new_tokens
        observer = LayerTimer(self.spec.num_layers, self.device, cancelled) if config.probe else CancelCheck(cancelled)
        recording = config.probe and hasattr(self.model, "record_routing")
        if recording:  # before compiling: the compiled step counts routes as the run will
            self.model.record_routing(True)
        if self.device.type == "cpu":
            _load_cpu_kernels(_announce(on_progress))
        try:  # before the run's cache: compiling steps through a scratch cache of the same size
            decode, mode_notes = self._fast_decode(config, total_len, observer, _announce(on_progress))
            cache = self.model.new_cache(config.batch, total_len)  # it refuses a batch or length that cannot fit
            decode, capture_notes = self._capture(decode, config, cache, observer)
            mode_notes += capture_notes
        except BaseException:
            if recording:
                self.model.record_routing(False)
            raise
        input_ids = torch.tensor([prompt_ids] * config.batch, device=self.device)
        analysis = analyze(self.spec)
        rows = analysis.layers
        element = self.model.dtype.itemsize
        # cross-attention layers hold the image's keys and values from the prefill on
        image_kv = cross_kv_predicted(analysis, config.batch, element) if image is not None else [0] * len(rows)
        if recording:
            self.model.record_routing(True)  # from zero again, after the scratch steps
        generator = torch.Generator().manual_seed(config.sampling.seed) if config.sampling.temperature > 0 else None
        stops = self.stop_ids() if config.stop_at_eos else set()
        steps: list[StepRecord] = []
        generated: list[int] = []
        try:
            token_input = input_ids
            images = {}
            if image is not None:  # the encoder's own track, before the prefill
                images["image_features"] = encode_timed(self.model, image, self.device, self.dtype)
            for index in range(config.max_new_tokens):
                start = time.perf_counter()
                earlier_chunks = []
                if index == 0 and image is None:  # an image's features go in one piece with its tokens
                    token_input, earlier_chunks = prefill_all_but_last_chunk(self.model, token_input, cache, observer,
                                                                              config.probe)
                if index == 0:
                    logits = self.model(token_input, cache=cache, last_only=True, observer=observer, **images)
                else:
                    if cancelled():  # a compiled step looks at the flag only as it starts
                        raise Cancelled()
                    if decode is not self.model:
                        try:
                            logits = decode(token_input, cache, observer)
                        except NeedsAnotherGraph as error:  # compiling now would stall the run
                            decode = self.model
                            mode_notes.append(f"fast mode: from step {index} on the run is eager: {error}")
                    if decode is self.model:
                        logits = self.model(token_input, cache=cache, observer=observer)
                token = pick_next(logits[:, -1], config.sampling, generator)
                observer.mark(self.spec.num_layers, "sample")
                token_ids = token[:, 0].tolist()  # the one synchronization of the step
                wall_ms = (time.perf_counter() - start) * 1e3
                times = with_earlier_chunks(observer.resolve(), earlier_chunks) if config.probe else None
                seq_len = cache.position
                steps.append(StepRecord(
                    index=index, phase="prefill" if index == 0 else "decode", seq_len=seq_len,
                    wall_ms=round(wall_ms, 4),
                    layer_ms=times.layer_ms if times else [], mixer_ms=times.mixer_ms if times else [],
                    ffn_ms=times.ffn_ms if times else [],
                    kv_bytes=cache.layer_nbytes(),
                    kv_bytes_predicted=[config.batch * row.kv_bytes_at(seq_len, element) + extra
                                        for row, extra in zip(rows, image_kv)],
                    memory=sample(self.device),
                    routing={str(k): v for k, v in self.model.take_routing_counts().items()} if recording else {},
                    tokens=token_ids,
                    head_ms=times.head_ms if times else 0.0, sample_ms=times.sample_ms if times else 0.0,
                ))
                if config.roofs is not None:
                    new = len(prompt_ids) if index == 0 else 1
                    predicted = predict_step(self.spec, config.roofs, steps[-1].phase, new, seq_len - new,
                                             config.batch, element, steps[-1].routing or None, self.matrices)
                    steps[-1].predicted_ms = [round(ms, 4) for ms in predicted.layer_ms]
                    steps[-1].predicted_head_ms = round(predicted.head_ms, 4)
                    steps[-1].predicted_sample_ms = round(predicted.sample_ms, 4)
                    steps[-1].predicted_step_ms = round(predicted.total_ms, 4)
                if image is not None:
                    record_step(image, cache, analysis, seq_len, config.batch, element)
                generated.append(token_ids[0])
                if on_step is not None:
                    on_step(StepUpdate(steps[-1], self.decode(generated), index + 1, config.max_new_tokens))
                if stops and all(t in stops for t in token_ids):
                    break
                token_input = token
        finally:
            if recording:
                self.model.record_routing(False)
            if isinstance(decode, GraphDecode):
                decode.release()  # the graph holds this run's cache: the next run may need its memory
        run = {"prompt_tokens": len(prompt_ids), "new_tokens": len(steps), "batch": config.batch,
               "max_new_tokens": config.max_new_tokens, "sampling": asdict(config.sampling),
               "mode": "fast" if decode is not self.model else "eager",
               "probe": config.probe, "stop_at_eos": config.stop_at_eos, "scale": self.scale,
               # the calling thread's count: the window's worker leaves a core to the window
               "threads": torch.get_num_threads(),
               "prompt": config.prompt, "completion": self.decode(generated),
               "roofs": config.roofs.to_dict() if config.roofs is not None else None}
        if self.published is not None and config.roofs is not None and steps:
            # at the context of the run's last step, as that step's own prediction was made
            run["published"] = self._published_prediction(config, steps[-1].seq_len - 1, element)
        snapshot = ProfileSnapshot(self.model_info(), hardware(self.device), run, steps,
                                   notes=list(self.notes) + mode_notes)
        if self.slice_plan is not None:
            snapshot.extra["extrapolation"] = extrapolate_snapshot(self.slice_plan, snapshot, element)
        if image is not None:
            snapshot.extra["vision"] = vision_section(image, analysis, sum(steps[-1].kv_bytes), config.batch)
        return snapshot


def _eager_instead(error: Exception) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"fast mode unavailable, this run is eager: {type(error).__name__}: {first[:300]}"


def _load_cpu_kernels(progress) -> None:
    """Our CPU kernels (app/model/kernels: decode attention, low-bit products), built at a
    machine's first run; where they cannot be, torch's own ops serve instead."""
    if cpu_kernels.loaded():
        return
    if progress is not None and cpu_kernels.needs_build():
        progress("Building the CPU kernels (once per machine)")
    cpu_kernels.unavailable()


def _announce(on_progress):
    """A one-line progress callback as (what, 0, 0): work with no count of its own (a busy bar)."""
    if on_progress is None:
        return None
    return lambda what: on_progress(what, 0, 0)
