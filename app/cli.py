"""Headless commands: `archscope catalog`, `archscope show NAME`, `archscope profile`,
`archscope calibrate`, `archscope study`.

Run with no command, `archscope` is the desktop app's entry point; with no display (or
until the window lands) it profiles the default embedded model headless instead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

from . import __version__
from .dtypes import BYTES_PER_VALUE
from .spec import SpecError, catalog
from .spec.analysis import analyze
from .spec.serialize import spec_to_dict
from .spec.spec_file import load_spec
from .spec.summary import LONG_CONTEXTS, catalog_row, layer_rows
from .terminal import printable, table
from .units import human_bytes, human_count


def cmd_catalog(args) -> int:
    dtype_bytes = BYTES_PER_VALUE[args.dtype]
    rows = [catalog_row(catalog.get(name, args.scale), dtype_bytes) | {
        "title": catalog.entry(name).title, "source": catalog.entry(name).source} for name in catalog.names()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    headers = ["name", "family", "layers", "d_model", "heads/kv", "attention", "experts (act/shared)",
               "total", "active", f"KV/token ({args.dtype})", *(f"KV @{n // 1024}k" for n in LONG_CONTEXTS)]
    cells = []
    for row in rows:
        experts = f"{row['experts']} ({row['experts_active']}/{row['experts_shared']})" if row["experts"] else "-"
        cells.append([
            row["name"], row["family"], str(row["layers"]), str(row["d_model"]),
            f"{row['heads']}/{row['kv_heads']}" if row["heads"] else "-",  # no layer attends (xLSTM)
            row["attention"], experts,
            human_count(row["total_params"]), human_count(row["active_params"]),
            human_bytes(row["kv_bytes_per_token"]),
            *(human_bytes(row[f"kv_bytes_at_{n // 1024}k"]) for n in LONG_CONTEXTS),
        ])
    print(table(headers, cells, right={2, 3, 7, 8, 9, 10, 11}))
    return 0


def cmd_show(args) -> int:
    spec = load_spec(args.name, args.scale)
    dtype_bytes = BYTES_PER_VALUE[args.dtype]
    summary = catalog_row(spec, dtype_bytes)
    layers = layer_rows(spec, dtype_bytes)
    analysis = analyze(spec)
    if args.json:
        print(json.dumps({"summary": summary, "layers": layers, "spec": spec_to_dict(spec)}, indent=2))
        return 0
    if args.name in catalog.names():
        entry = catalog.entry(args.name)
        print(f"{entry.title} [{args.scale}] - {entry.family}")
        print(f"source: {entry.source}")
        for note in entry.notes:
            print(f"note: {note}")
    else:
        print(printable(f"{spec.name} [{spec.model_type or 'custom'}]"))
    print(f"params: {human_count(analysis.total_params)} total, {human_count(analysis.active_params)} active per "
          f"token; embedding {human_count(analysis.embedding_params)}, output head "
          f"{human_count(analysis.head_params) if analysis.head_params else 'tied'}"
          + (f"; MTP modules ~{human_count(analysis.mtp_params)} (not counted)" if analysis.mtp_params else "")
          + (f"; per-layer embeddings {human_count(analysis.per_layer_embedding_params)} (can stay in host "
             f"memory: {human_count(analysis.accelerator_params)} on the accelerator)"
             if analysis.per_layer_embedding_params else ""))
    print(f"KV cache ({args.dtype}): {human_bytes(summary['kv_bytes_per_token'])}/token, "
          + ", ".join(f"{human_bytes(summary[f'kv_bytes_at_{n // 1024}k'])} at {n // 1024}k" for n in LONG_CONTEXTS)
          + (f" (incl. {human_bytes(analysis.state_bytes(dtype_bytes))} constant state)"
             if analysis.state_bytes(dtype_bytes) else ""))
    print(f"FLOPs/token at 4k context: {human_count(analysis.flops_per_token(4096))}")
    if analysis.vision is not None:
        print(vision_line(analysis, dtype_bytes))
    print()
    cells = [[str(r["index"]), r["mixer"], r["ffn"], human_count(r["params"]), human_count(r["active_params"]),
              human_bytes(r["kv_bytes_per_token"]), str(r["window"] or "-"),
              human_bytes(r["state_bytes"]) if r["state_bytes"] else "-"] for r in layers]
    print(table(["layer", "mixer", "feed-forward", "params", "active", "KV/token", "window", "state"], cells,
                right={0, 3, 4, 5, 6, 7}))
    return 0


def vision_line(analysis, dtype_bytes: int) -> str:
    """The image path in one line: encoder and projector, cost per image, its cache."""
    vision = analysis.vision
    image_kv = sum(analysis.image_kv_bytes_at(vision.tokens_per_image, range(vision.tokens_per_image), dtype_bytes))
    where = (f"{vision.tokens_per_image} image tokens in the text" if vision.method == "unified"
             else "keys and values in the cross-attention layers")
    return (f"vision ({vision.method.replace('_', '-')}): encoder {human_count(vision.encoder_params)} + projector "
            f"{human_count(vision.projector_params)} params (in the totals), {human_count(vision.flops_per_image)} "
            f"FLOPs/image; an image's KV: {human_bytes(image_kv)} ({where})")


def has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def qt_problem() -> str:
    """Why a window cannot open here, or "" when it can. Qt aborts the whole process when
    its platform plugin cannot load (e.g. missing xcb libraries), so ask a child first."""
    import importlib.util
    import subprocess

    if importlib.util.find_spec("PySide6") is None:
        return "PySide6 is not installed"
    probe = "from PySide6.QtWidgets import QApplication; QApplication([])"
    # In the PyInstaller bundle sys.executable is ArchScope itself, which answers --qt-probe.
    command = [sys.executable, "--qt-probe"] if getattr(sys, "frozen", False) else [sys.executable, "-c", probe]
    try:
        # QT_DEBUG_PLUGINS: Qt then names the library its platform plugin could not load
        result = subprocess.run(command, capture_output=True, text=True, timeout=30,
                                env={**os.environ, "QT_DEBUG_PLUGINS": "1"})
    except subprocess.TimeoutExpired:
        return "the display did not answer within 30 s"
    if result.returncode != 0:
        return "Qt cannot open a window here" + qt_failure_reason(result.stderr)
    return ""


_MISSING_LIBRARY = re.compile(r"(lib[\w.+-]+\.so[\d.]*): cannot open shared object file")


def qt_failure_reason(stderr: str) -> str:
    """What Qt said that a person can act on: the libraries it could not load, else the line
    that names what is needed, else its last line -- as " (...)", or "" when it said nothing."""
    missing = list(dict.fromkeys(_MISSING_LIBRARY.findall(stderr)))
    if missing:
        return f" (missing {', '.join(missing)}: install the packages that provide them)"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    needed = [line for line in lines if " is needed" in line]
    chosen = needed[0] if needed else lines[-1] if lines else ""
    return f" ({chosen})" if chosen else ""


def cmd_app(args) -> int:
    if args.selftest:
        from .selftest import run_selftest

        return run_selftest()
    if args.run_tokens and not args.screenshot:
        raise ValueError("--run N goes with --screenshot FILE.png (it captures the dashboard after the run)")
    for name in filter(None, (args.open, args.compare)):
        if not (args.run_tokens and name == args.open and name not in catalog.names()):
            catalog.entry(name)  # an unknown name fails here, with suggestions
    if args.screenshot:
        from .ui.app import screenshot

        written = screenshot(args.screenshot, args.open, args.compare, run_tokens=args.run_tokens)
        print(f"archscope: wrote {written}")
        return 0
    reason = qt_problem() if has_display() else "no display found"
    if not reason:
        from .ui.app import run_app

        return run_app(args.open, args.compare)
    from .defaults import DEFAULT_MODEL
    from .profile_cli import cmd_profile

    print(f"archscope: {reason}; profiling {DEFAULT_MODEL} headless instead.", file=sys.stderr)
    return cmd_profile(build_parser().parse_args(["profile"]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archscope", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"archscope {__version__}")
    parser.add_argument("--open", metavar="NAME", help="desktop app: open this catalog entry (with --run, also "
                        "a model source: embedded:NAME, a folder, a .gguf file or a Hub id)")
    parser.add_argument("--compare", metavar="OTHER", help="desktop app: compare --open NAME with OTHER")
    parser.add_argument("--screenshot", metavar="FILE.png",
                        help="render the window (offscreen without a display) to a PNG and exit")
    parser.add_argument("--selftest", action="store_true",
                        help="open the window (offscreen without a display), profile 8 tokens of the embedded "
                             "default model, check the snapshot; exit 0, or 1 with the reason")
    parser.add_argument("--run", metavar="N", type=int, default=0, dest="run_tokens",
                        help="with --screenshot: first generate N tokens (random weights at explore scale for a "
                             "catalog name) and capture the dashboard")
    commands = parser.add_subparsers(dest="command")

    def scale_and_dtype(sub):
        sub.add_argument("--scale", choices=catalog.SCALES, default="full", help="catalog scale (default: full)")
        sub.add_argument("--dtype", choices=list(BYTES_PER_VALUE), default="bfloat16",
                         help="element type for KV-cache bytes (default: bfloat16)")
        sub.add_argument("--json", action="store_true", help="machine-readable output")

    listing = commands.add_parser("catalog", help="every architecture with its key figures")
    scale_and_dtype(listing)
    listing.set_defaults(run=cmd_catalog)
    show = commands.add_parser("show", help="one architecture in full, layer by layer")
    show.add_argument("name", help="catalog name, a spec .json, or a Hugging Face config.json")
    scale_and_dtype(show)
    show.set_defaults(run=cmd_show)
    from .parallel_cli import cmd_parallel_profile, wants_parallel
    from .profile_cli import add_arguments, cmd_profile

    profile = commands.add_parser("profile", help="generate with the profiler on and write a snapshot")
    add_arguments(profile)
    profile.set_defaults(run=lambda args: cmd_parallel_profile(args) if wants_parallel(args) else cmd_profile(args))
    from .calibrate_cli import add_arguments as calibrate_arguments, cmd_calibrate

    calibrate = commands.add_parser("calibrate", help="measure this device's roofs (memory bandwidth, matmul "
                                    "FLOP/s per dtype) and save them for the roofline")
    calibrate_arguments(calibrate)
    calibrate.set_defaults(run=cmd_calibrate)
    from .study_cli import add_arguments as study_arguments, cmd_study

    study = commands.add_parser("study", help="answer one of the comparison article's questions by measurement "
                                "and write its report (--list: the studies)")
    study_arguments(study)
    study.set_defaults(run=cmd_study)
    return parser


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv) == ["--qt-probe"]:  # qt_problem()'s child in the bundle
        from PySide6.QtWidgets import QApplication

        QApplication(sys.argv[:1])
        return 0
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) if args.command else cmd_app(args)
    except BrokenPipeError:  # `archscope catalog | head` (an OSError: caught before those)
        # what is still buffered would fail again as Python exits
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (SpecError, ValueError, OSError) as error:  # WeightsError and NotEnoughMemory are ValueErrors
        print("\n".join(f"archscope: {printable(line)}" for line in str(error).splitlines() or [""]),
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
