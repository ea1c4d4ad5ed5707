"""How long each study's --quick run takes, against the issue's target of two minutes on a
2-core CPU. Runs every study (or those named) one after the other, reports written to a
temporary folder, figures drawn offscreen.

    python bench/studies_quick.py [NAME ...] [--device cpu] [--dtype float32]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_S = 120.0


def main() -> int:
    from app.studies.registry import STUDIES
    from app.studies.study import Settings
    from app.study_cli import write_with_figures

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="studies to time (default: all)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()
    names = args.names or list(STUDIES)
    print(f"{'study':<34} {'seconds':>8}  of the {TARGET_S:.0f} s target")
    slowest = 0.0
    with tempfile.TemporaryDirectory() as out:
        for name in names:
            began = time.perf_counter()
            result = STUDIES[name].run(Settings(quick=True, device=args.device, dtype=args.dtype))
            write_with_figures(result, Path(out) / name)
            seconds = time.perf_counter() - began
            slowest = max(slowest, seconds)
            print(f"{name:<34} {seconds:8.1f}  {seconds / TARGET_S:.0%}", flush=True)
    print(f"slowest: {slowest:.1f} s, {slowest / TARGET_S:.0%} of the target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
