"""A profile run as data: its steps, and the snapshot document (schema
"archscope.profile/1", see docs/DESIGN.md) that every exporter writes from."""

from __future__ import annotations

import datetime
import statistics
from dataclasses import asdict, dataclass, field

from .. import __version__
from ..spec import ArchSpec
from ..spec.analysis import analyze
from ..spec.roofline import MatrixBytes
from ..spec.serialize import spec_to_dict
from .figures import decode_tokens_per_s

PROFILE_SCHEMA = "archscope.profile/1"


def model_section(spec: ArchSpec, name: str, source: str, dtype: str, device: str, weights: str = "float",
                  matrices: MatrixBytes | None = None) -> dict:
    """A snapshot's "model": what ran (its spec whole), its parameters, dtype and device, how
    its weights were held ("float" in dtype, or "low-bit": a GGUF file's matrices as stored,
    with their bytes per weight), and each layer's mixer and feed-forward kinds."""
    analysis = analyze(spec)
    section = {
        "name": name, "source": source, "spec": spec_to_dict(spec),
        "params_total": analysis.total_params, "params_active": analysis.active_params,
        "dtype": dtype, "device": device, "weights": weights,
        "layers": [{"mixer": row.mixer, "ffn": row.ffn} for row in analysis.layers],
    }
    if matrices is not None:
        section["matrix_bytes"] = matrices.to_dict()
    return section


def byte_tokens(prompt: str, vocab_size: int) -> list[int]:
    """Random weights have no vocabulary: the prompt's UTF-8 bytes stand in for tokens."""
    return [byte % vocab_size for byte in prompt.encode("utf-8")] or [0]


@dataclass
class StepRecord:
    index: int
    phase: str  # "prefill" | "decode"
    seq_len: int  # tokens in the context after this step
    wall_ms: float
    layer_ms: list[float]  # empty when the probe is off
    mixer_ms: list[float]
    ffn_ms: list[float]
    kv_bytes: list[int]  # measured from the cache, per layer
    kv_bytes_predicted: list[int]  # the analysis' figure for the same length, per layer
    memory: dict[str, int]
    routing: dict[str, list[int]] = field(default_factory=dict)  # MoE layer index -> tokens per expert
    tokens: list[int] = field(default_factory=list)  # the token ids this step produced (batch row 0 first)
    # after the last block: final norm + output head (+ logit scale / soft-cap), then picking
    # the token; 0.0 when the probe is off, and in snapshots written before they were timed
    head_ms: float = 0.0
    sample_ms: float = 0.0
    # the roofline's least time of each layer, of the head and of sampling at this step,
    # on the run's measured roofs (app/spec/roofline.py); empty / None without roofs
    predicted_ms: list[float] = field(default_factory=list)
    predicted_head_ms: float | None = None
    predicted_sample_ms: float | None = None
    predicted_step_ms: float | None = None  # the whole step: layers, embedding, head and sampling


@dataclass
class ProfileSnapshot:
    model: dict
    hardware: dict
    run: dict
    steps: list[StepRecord]
    created: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat())
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # optional sections: "sweep", "extrapolation"

    @classmethod
    def from_dict(cls, document: dict) -> ProfileSnapshot:
        """A snapshot document (as to_dict writes it, or as read back from JSON) as an object
        again; the summary is recomputed from the steps."""
        known = {"schema", "created", "app_version", "model", "hardware", "run", "steps", "summary", "notes"}
        fields = StepRecord.__dataclass_fields__
        steps = [StepRecord(**{k: v for k, v in step.items() if k in fields}) for step in document.get("steps", [])]
        return cls(document["model"], document.get("hardware", {}), document.get("run", {}), steps,
                   created=document.get("created", ""), notes=list(document.get("notes", [])),
                   extra={k: v for k, v in document.items() if k not in known})

    def summary(self) -> dict:
        prefill = [s for s in self.steps if s.phase == "prefill"]
        decode = [s for s in self.steps if s.phase == "decode"]
        batch = self.run.get("batch", 1)
        timed = [s for s in (decode or self.steps) if s.layer_ms]
        layer_means = [round(statistics.fmean(column), 4) for column in zip(*(s.layer_ms for s in timed))]
        device_peak = max((s.memory.get("allocated", 0) for s in self.steps), default=0)
        rss_peak = max((s.memory.get("rss", 0) for s in self.steps), default=0)
        return {
            "prefill_ms": round(sum(s.wall_ms for s in prefill), 3),
            "decode_tokens_per_s": decode_tokens_per_s([s.wall_ms for s in decode], batch),
            # Where the model runs: the GPU's allocated bytes (0 on the CPU), else the process.
            "peak_memory_bytes": device_peak or rss_peak,
            "peak_rss_bytes": rss_peak,
            "kv_bytes_final": sum(self.steps[-1].kv_bytes) if self.steps else 0,
            "kv_bytes_final_predicted": sum(self.steps[-1].kv_bytes_predicted) if self.steps else 0,
            "layer_ms_mean": layer_means,
        }

    def to_dict(self) -> dict:
        return {
            "schema": PROFILE_SCHEMA,
            "created": self.created,
            "app_version": __version__,
            "model": self.model,
            "hardware": self.hardware,
            "run": self.run,
            "steps": [asdict(step) for step in self.steps],
            "summary": self.summary(),
            "notes": self.notes,
            **self.extra,
        }
