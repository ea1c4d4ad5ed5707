"""One definition of every figure a run reports, and its wording.

The snapshot's summary, the CLI, the window's status line, the dashboard and the canvas
all read their tokens/s, their shares of the step and their notes from here, so one run
shows one figure everywhere. Torch-free and Qt-free: the UI imports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


def decode_tokens_per_s(decode_wall_ms: Iterable[float], batch: int) -> float:
    """Tokens the decode steps made (one per batch row each) over the seconds they took.
    Not the mean of per-step rates: that weighs a fast step as much as a slow one and
    comes out higher than what a user waits for."""
    walls = list(decode_wall_ms)
    seconds = sum(walls) / 1e3
    return round(len(walls) * batch / seconds, 3) if seconds > 0 else 0.0


def decode_rate_text(rate: float) -> str:
    """The words every surface shows the decode rate in (the same decimals everywhere)."""
    return f"decode {rate:.1f} tokens/s"


def threads_text(threads: int) -> str:
    return f"{threads} thread" + ("" if threads == 1 else "s")


def execution_text(run: Mapping) -> str:
    """How the run's steps ran, where it is not the default: "fast mode", else ""."""
    return "fast mode" if run.get("mode") == "fast" else ""


def decode_text(run: Mapping, rate: float, decode_steps: int, run_every_step: str) -> str:
    """"decode 5.7 tokens/s", or in words why no decode step ran; run_every_step: how this
    surface turns the end-of-text stop off (said when that stop is what ended the run)."""
    if decode_steps:
        return decode_rate_text(rate)
    if run.get("max_new_tokens", 2) <= 1:
        return "no decode step ran: one new token was asked for, and the prefill makes it"
    return ("no decode step ran: the model ended its text after the prefill"
            + (f" ({run_every_step})" if run.get("stop_at_eos", True) else ""))


def _field(step, name: str, default):
    """A step's field, from a StepRecord or from its snapshot dict (the UI holds dicts)."""
    if isinstance(step, Mapping):
        return step.get(name, default) or default
    return getattr(step, name, default) or default


@dataclass
class StepShares:
    """Fractions of the step's wall time; with `rest` they sum to 1."""

    mixer: list[float]  # per layer
    ffn: list[float]  # per layer
    head: float  # final norm, output head, logit scale / soft-cap
    sample: float  # picking the next token from the logits
    rest: float  # the embedding, Python between layers, reading the token back: all that is not timed

    @property
    def layers(self) -> float:
        return sum(self.mixer) + sum(self.ffn)

    def text(self) -> str:
        return (f"layers {self.layers:.0%}, output head {self.head:.0%}, sampling {self.sample:.0%}, "
                f"rest {self.rest:.0%} of step")


@dataclass
class StepTime:
    """The timed parts of one or more steps, summed; `shares()` divides them by the wall time."""

    wall_ms: float = 0.0
    mixer_ms: list[float] = field(default_factory=list)
    ffn_ms: list[float] = field(default_factory=list)
    head_ms: float = 0.0
    sample_ms: float = 0.0
    steps: int = 0

    def add(self, step) -> None:
        """A StepRecord or its dict; a step the probe did not time is left out."""
        mixer, ffn = _field(step, "mixer_ms", []), _field(step, "ffn_ms", [])
        if not mixer:
            return
        if not self.mixer_ms:
            self.mixer_ms, self.ffn_ms = [0.0] * len(mixer), [0.0] * len(ffn)
        if len(mixer) != len(self.mixer_ms):
            return  # another model's step: it cannot be summed with these
        self.mixer_ms = [a + b for a, b in zip(self.mixer_ms, mixer)]
        self.ffn_ms = [a + b for a, b in zip(self.ffn_ms, ffn)]
        self.wall_ms += _field(step, "wall_ms", 0.0)
        self.head_ms += _field(step, "head_ms", 0.0)
        self.sample_ms += _field(step, "sample_ms", 0.0)
        self.steps += 1

    def shares(self) -> StepShares | None:
        if not self.steps:
            return None
        timed = sum(self.mixer_ms) + sum(self.ffn_ms) + self.head_ms + self.sample_ms
        # On a GPU the parts are device time and the wall is the host's; should the parts
        # ever outrun it, they are the whole step and nothing is left over.
        whole = max(self.wall_ms, timed) or 1.0
        return StepShares([t / whole for t in self.mixer_ms], [t / whole for t in self.ffn_ms],
                          self.head_ms / whole, self.sample_ms / whole, (whole - timed) / whole)


def decode_step_time(steps: Iterable) -> StepTime:
    """The timed decode steps summed; the prefill when no decode step was timed. The same
    steps that summary()'s layer means and the dashboard's canvas tint read."""
    decode, prefill = StepTime(), StepTime()
    for step in steps:
        (decode if _field(step, "phase", "") == "decode" else prefill).add(step)
    return decode if decode.steps else prefill


def scale_note(run: Mapping, model: Mapping) -> str:
    """What a run's shares stand for when it was not the published model itself."""
    if run.get("scale") != "explore":
        return ""
    spec = model.get("spec") or {}
    layers = len(model.get("layers") or spec.get("layers") or [])
    note = (f"explore scale: {layers} layers, width {spec.get('d_model', '?')} -- "
            "shares are of the stand-in, not the published model")
    published = run.get("published")
    if published:
        note += (f"; the published {published['name']} ({published['layers']} layers, width "
                 f"{published['d_model']}) needs at least {published['predicted_decode_ms']:.1f} ms per decode "
                 "step on this device (roofline); slice scale times its real widths")
    return note
