"""`archscope study`: run one of the comparison article's studies and write its report."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_OUT = Path("studies")


def add_arguments(parser) -> None:
    parser.add_argument("name", nargs="?", help="the study to run (see --list)")
    parser.add_argument("--list", action="store_true", help="describe every study in one line and exit")
    parser.add_argument("--quick", action="store_true",
                        help="shorter contexts and fewer steps: each study in under two minutes on a 2-core CPU")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default="float32")
    parser.add_argument("--out", metavar="DIR", type=Path, default=DEFAULT_OUT,
                        help=f"where the report folder goes: DIR/NAME/ (default: {DEFAULT_OUT}/)")


def cmd_study(args) -> int:
    from .studies.registry import STUDIES  # torch loads only when a command needs it
    from .studies.study import Settings

    if args.list or not args.name:
        width = max(len(name) for name in STUDIES)
        sections = max(len(study.section) for study in STUDIES.values())
        for name, study in STUDIES.items():
            print(f"{name:<{width}}  {study.section:<{sections}}  {study.summary}")
        return 0
    study = STUDIES.get(args.name)
    if study is None:
        raise ValueError(f"unknown study {args.name!r}; expected one of {', '.join(STUDIES)} "
                         "(archscope study --list)")

    def progress(text: str, fraction: float) -> None:
        print(f"archscope: {args.name}: {text}", file=sys.stderr)

    result = study.run(Settings(quick=args.quick, device=args.device, dtype=args.dtype,
                                        progress=progress))
    written = write_with_figures(result, args.out / args.name)
    print(result.answer)
    print(f"archscope: wrote {written[-1]} ({len(written)} files)")
    return 0


def write_with_figures(result, folder: Path) -> list[Path]:
    """The report with its figures drawn by Qt (offscreen when there is no display)."""
    from .studies.report import write_report

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtWidgets import QApplication

        from .ui.study_figures import render_figure
    except ImportError as error:  # a bare GPU host: the numbers still matter
        print(f"archscope: the figures are left out ({error.name} is not installed); report.md and data.json "
              "are written", file=sys.stderr)
        return write_report(result, folder)

    _app = QApplication.instance() or QApplication(sys.argv[:1])
    return write_report(result, folder, render_figure)
