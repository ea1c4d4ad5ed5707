"""`archscope profile`: run a model with the profiler and write its snapshot files."""

from __future__ import annotations

import argparse
import datetime
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from .defaults import DEFAULT_BATCH_SWEEP_CONTEXT, DEFAULT_MODEL, DEFAULT_PROMPT, EXECUTION_MODES, WEIGHTS_CHOICES
from .dtypes import RUN_DTYPE_NAMES
from .runtime.figures import (decode_rate_text, decode_step_time, decode_text, decode_tokens_per_s, execution_text,
                              scale_note, threads_text)
from .spec.spec_file import load_spec
from .terminal import printable, table
from .units import human_bytes


if TYPE_CHECKING:  # the runtime imports torch: only a profile run pays for it, not every start
    from .runtime.session import Session, StepUpdate


def add_arguments(parser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", help=f"weights: a local HF directory, a Hub repo id, a .gguf file or "
                                         f"embedded:NAME (default {DEFAULT_MODEL})")
    source.add_argument("--arch", help="a catalog name (random weights), or a spec .json file")
    parser.add_argument("--scale", choices=("explore", "slice", "full"), default="explore",
                        help="catalog scale for --arch (default: explore)")
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument("--chat", action="store_true", help="format the prompt with the model's chat template")
    parser.add_argument("--image", help="a vision model's image (PNG); without it, a generated test card")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--ignore-eos", action="store_true",
                        help="run every step even after the model ends its text (end-of-sequence token)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--temperature", type=float, default=0.0, help="0: greedy (default)")
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--dtype", choices=RUN_DTYPE_NAMES, default="float32")
    parser.add_argument("--threads", type=positive_int,
                        help="torch's CPU thread count for the run (default: torch's own, one per core)")
    parser.add_argument("--no-probe", action="store_true", help="no per-layer timing or routing (overhead baseline)")
    parser.add_argument("--weights", choices=WEIGHTS_CHOICES, default="native",
                        help="a GGUF file's quantized matrices: native keeps them in their low bits and multiplies "
                             "them as stored, as llama.cpp does (default; CPU); dequantize expands them to --dtype")
    parser.add_argument("--mode", choices=EXECUTION_MODES, default="eager",
                        help="eager: each op dispatched from Python (default); fast: the decode step compiled "
                             "with torch.compile on the CPU (once, seconds to a minute), a CUDA graph on a GPU; "
                             "per-layer timing kept")
    parser.add_argument("--sweep", help="also measure decode at these context lengths, e.g. 256,1024,4096")
    parser.add_argument("--batch-sweep", type=batch_sizes, metavar="B1,B2,...",
                        help="also measure decode at these batch sizes, e.g. 1,4,16,64 "
                             f"(after {DEFAULT_BATCH_SWEEP_CONTEXT} tokens of synthetic context)")
    parser.add_argument("--tp", type=positive_int, default=1,
                        help="tensor-parallel ranks: heads and MLP columns split over N ranks (random weights)")
    parser.add_argument("--ep", type=positive_int, default=1,
                        help="expert-parallel ranks: each MoE layer's experts placed over N ranks")
    parser.add_argument("--out", help="snapshot JSON (default: profiles/NAME-TIME.json)")
    parser.add_argument("--csv", help="also write a CSV, a row per step and layer")
    parser.add_argument("--trace", help="also write a Chrome trace (open in Perfetto or chrome://tracing)")


def positive_int(text: str) -> int:
    import argparse

    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: expected a whole number of at least 1")
    return value


def batch_sizes(text: str) -> list[int]:
    """--batch-sweep's value: positive whole numbers separated by commas, sorted, once each."""
    sizes = set()
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            size = int(part)
        except ValueError:
            size = 0
        if size < 1:
            raise argparse.ArgumentTypeError(f"expected batch sizes of 1 or more separated by commas "
                                             f"(e.g. 1,4,16,64), got {part.strip()!r} in {text!r}")
        sizes.add(size)
    if not sizes:
        raise argparse.ArgumentTypeError(f"expected at least one batch size (e.g. 1,4,16,64), got {text!r}")
    return sorted(sizes)


class ProgressBar:
    """One line on stderr, redrawn in place: a bar, tokens so far, the decode speed so far
    (the summary's definition, see runtime/figures.py)."""

    def __init__(self, stream=None, width: int = 30):
        self.stream, self.width = stream or sys.stderr, width  # looked up now: sys.stderr may be replaced
        self.decode_wall_ms: list[float] = []

    def loading(self, done: int, total: int) -> None:
        self._draw(done, total, "loading")

    def working(self, what: str, done: int, total: int) -> None:
        """Work before the first step, such as compiling: said once, on its own line."""
        if self.stream.isatty():
            self.stream.write(f"{what}\u2026\n")
            self.stream.flush()

    def step(self, update: StepUpdate) -> None:
        record = update.record
        if record.phase == "decode":
            self.decode_wall_ms.append(record.wall_ms)
        rate = decode_tokens_per_s(self.decode_wall_ms, len(record.tokens) or 1)
        self._draw(update.done, update.total, decode_rate_text(rate) if rate else "prefill")

    def _draw(self, done: int, total: int, label: str) -> None:
        if not self.stream.isatty():
            return
        filled = int(self.width * done / max(total, 1))
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {label}")
        self.stream.flush()

    def close(self) -> None:
        if self.stream.isatty():
            self.stream.write("\n")


def open_session(args, progress: ProgressBar) -> Session:
    from .runtime.session import Session

    if not args.arch:
        return Session.from_source(args.model or DEFAULT_MODEL, device=args.device, dtype=args.dtype,
                                   progress=progress.loading, weights=args.weights)
    if args.scale == "slice":
        return Session.from_slice(load_spec(args.arch, "full"), device=args.device, dtype=args.dtype, seed=args.seed)
    spec = load_spec(args.arch, args.scale)
    published = load_spec(args.arch, "full") if args.scale == "explore" else None
    return Session.from_arch(spec, args.scale, device=args.device, dtype=args.dtype, seed=args.seed,
                             published=published)


def summary_table(snapshot) -> str:
    steps = snapshot.steps
    timed = [s for s in steps if s.phase == "decode" and s.layer_ms] or [s for s in steps if s.layer_ms]
    predicted = [s for s in timed if s.predicted_ms]

    def mean(values) -> float | None:
        return sum(values) / len(values) if values else None

    def ms(value: float | None) -> str:
        return f"{value:.3f}" if value is not None else "-"

    rows = []
    for layer, kinds in enumerate(snapshot.model["layers"]):
        measured = mean([s.layer_ms[layer] for s in timed])
        least = mean([s.predicted_ms[layer] for s in predicted])
        rows.append([str(layer), kinds["mixer"], kinds["ffn"], ms(measured),
                     ms(mean([s.mixer_ms[layer] for s in timed])), ms(mean([s.ffn_ms[layer] for s in timed])),
                     ms(least), roofline_fraction(least, measured),
                     human_bytes(steps[-1].kv_bytes[layer]), human_bytes(steps[-1].kv_bytes_predicted[layer])])
    return table(["layer", "mixer", "feed-forward", "decode ms", "mixer ms", "ffn ms", "roofline ms", "of roofline",
                  "KV now", "KV predicted"], rows, right={0, 3, 4, 5, 6, 7, 8, 9})


def roofline_fraction(predicted_ms: float | None, measured_ms: float | None) -> str:
    """How close a measured time came to the roofline's least time, as a percentage."""
    if predicted_ms is None or not measured_ms:
        return "-"
    return f"{100 * predicted_ms / measured_ms:.0f}%"


def roofline_line(snapshot) -> str | None:
    """The decode step's least time on the run's roofs beside its measured time."""
    roofs = snapshot.run.get("roofs")
    decode = [s for s in snapshot.steps if s.phase == "decode" and s.predicted_ms]
    if not roofs or not decode:
        return None
    least = sum(s.predicted_step_ms or 0.0 for s in decode) / len(decode)
    measured = sum(s.wall_ms for s in decode) / len(decode)
    return (f"roofline: a decode step needs at least {least:.3f} ms on this device's roofs "
            f"({roofs['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s, {roofs['flops_per_s'] / 1e9:.1f} GFLOP/s "
            f"{roofs['dtype']}); it took {measured:.3f} ms: {roofline_fraction(least, measured)} of roofline")


def device_roofs(session, dtype: str):
    """The device's saved roofs for this dtype, or -- on a device never calibrated at this
    thread count -- the quick calibration's, measured now and saved."""
    from .runtime.calibrate import calibrate_and_save, saved_roofs
    from .runtime.roofs_file import RoofsFileError

    try:
        roofs = saved_roofs(session.device, dtype)
    except RoofsFileError as error:
        print(f"note: {error}; measuring the roofs again", file=sys.stderr)
        roofs = None
    if roofs is None:
        print("measuring this device's roofs (quick, a few seconds; `archscope calibrate` measures in full)",
              file=sys.stderr)
        calibrate_and_save(session.device, quick=True)
        roofs = saved_roofs(session.device, dtype)
    return roofs


def run_lines(snapshot) -> list[str]:
    """The run's figures in words: speed (or why there is none), threads, the step's shares."""
    summary, run = snapshot.summary(), snapshot.run
    model = snapshot.model
    decode_steps = sum(step.phase == "decode" for step in snapshot.steps)
    speed = decode_text(run, summary["decode_tokens_per_s"], decode_steps, "--ignore-eos runs every step")
    threads = f", {threads_text(run['threads'])}" if "threads" in run else ""
    threads += f", {execution_text(run)}" if execution_text(run) else ""
    weights = ", low-bit weights" if model.get("weights") == "low-bit" else ""
    lines = [f"{model['name']} on {model['device']} ({model['dtype']}{weights}{threads}): prefill {summary['prefill_ms']:.1f} ms, "
             f"{speed}, KV {summary['kv_bytes_final']} bytes (predicted {summary['kv_bytes_final_predicted']})"]
    step_time = decode_step_time(snapshot.steps)
    shares = step_time.shares()
    if shares is not None:
        phase = "decode step" if any(s.phase == "decode" and s.layer_ms for s in snapshot.steps) else "prefill"
        lines.append(f"{phase}: {shares.text()}")
    note = scale_note(run, model)
    if note:
        lines.append(note)
    return lines


def batch_sweep_table(points: list[dict]) -> str:
    """One row per batch size: time per step and per token, tokens/s, each layer kind's
    time per token, memory, KV bytes and the roofline's time per token where known."""
    kinds = list(dict.fromkeys(kind for point in points for kind in point["kind_ms"]))
    rows = []
    for point in points:
        predicted = point.get("predicted_ms_per_token")
        rows.append([str(point["batch"]), f"{point['decode_ms']:.2f}", f"{point['ms_per_token']:.3f}",
                     f"{point['tokens_per_s']:.1f}",
                     *(f"{point['kind_ms'][kind] / point['batch']:.3f}" if kind in point["kind_ms"] else "-"
                       for kind in kinds),
                     human_bytes(point["memory_bytes"]), human_bytes(point["kv_bytes"]),
                     f"{predicted:.3f}" if predicted is not None else "-"])
    headers = ["batch", "ms/step", "ms/token", "tokens/s", *(f"{kind} ms/token" for kind in kinds), "memory", "KV",
               "predicted ms/token"]
    return table(headers, rows, right=set(range(len(headers))))


def say(text: str = "") -> None:
    """Print a result line; names and generated text come from files: escaped."""
    print(printable(text, keep_newlines=True))


def default_out(name: str) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-._" else "-" for c in name)
    return Path("profiles") / f"{safe}-{stamp}.json"


def cmd_profile(args) -> int:
    from .runtime.generate import Sampling
    from .runtime.session import RunConfig
    from .runtime.export import export

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)  # this thread's count: the run happens on it
    progress = ProgressBar()
    session = open_session(args, progress)
    plan = session.slice_plan
    config = RunConfig(prompt=args.prompt, max_new_tokens=args.max_new_tokens, batch=args.batch,
                       sampling=Sampling(args.temperature, args.top_k, args.top_p, args.seed),
                       stop_at_eos=not args.ignore_eos, probe=not args.no_probe, chat=args.chat, image=args.image,
                       roofs=device_roofs(session, args.dtype), mode=args.mode)
    snapshot = session.run(config, on_step=progress.step, on_progress=progress.working)
    progress.close()
    if args.sweep:
        from .runtime.sweep import context_sweep

        contexts = [int(value) for value in args.sweep.split(",") if value.strip()]
        points = context_sweep(session, contexts, probe=not args.no_probe)
        snapshot.extra["sweep"] = [asdict(point) for point in points]
    if args.batch_sweep:
        from .runtime.batch_sweep import batch_sweep

        points = batch_sweep(session, args.batch_sweep, context=DEFAULT_BATCH_SWEEP_CONTEXT, probe=not args.no_probe,
                             roofs=config.roofs)
        snapshot.extra["batch_sweep"] = [asdict(point) for point in points]
    out = Path(args.out) if args.out else default_out(session.name)
    written = export(snapshot, out, args.csv, args.trace)
    if snapshot.run["completion"]:
        say(f"{snapshot.run['prompt']}\u2192{snapshot.run['completion']}\n")
    say(summary_table(snapshot))
    say()
    say("\n".join(run_lines(snapshot)))
    roofline = roofline_line(snapshot)
    if roofline:
        say(roofline)
    if plan is not None:
        estimate = snapshot.extra["extrapolation"]
        say(f"whole {plan.full.name} from its slice: {estimate['decode_ms_per_token']:.1f} ms per token "
              f"({estimate['decode_tokens_per_s']:.2f} tokens/s), weights {estimate['weight_bytes'] / 2**30:.1f} GiB")
        for note in plan.notes:
            say(f"note: {note}")
    for point in snapshot.extra.get("sweep", []):
        say(f"context {point['context_len']:>7}: decode {point['decode_ms']:.2f} ms/token, KV {point['kv_bytes']} "
              f"bytes (predicted {point['kv_bytes_predicted']})")
    if snapshot.extra.get("batch_sweep"):
        print(f"\nbatch sweep, decode after {DEFAULT_BATCH_SWEEP_CONTEXT} tokens of context:")
        print(batch_sweep_table(snapshot.extra["batch_sweep"]))
        if all(point.get("predicted_ms_per_token") is None for point in snapshot.extra["batch_sweep"]):
            print("(no roofline prediction: run `archscope calibrate` on this device first)")
    vision = snapshot.extra.get("vision")
    if vision:
        holder = (f"{vision['image_tokens']} image tokens hold" if vision["method"] == "unified"
                  else "the cross-attention layers hold its")
        say(f"image ({vision['image']}): encoder {vision['encoder_ms']:.1f} ms, {holder} "
              f"{sum(vision['image_kv_bytes'])} KV bytes ({100 * vision['image_kv_share']:.1f}% of the cache; "
              f"predicted {sum(vision['image_kv_bytes_predicted'])})")
    for path in written:
        say(f"wrote {path}")
    return 0
