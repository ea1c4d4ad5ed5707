"""`archscope calibrate`: measure this device's roofs and save them for later runs."""

from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--threads", type=int, help="CPU threads to measure with (default: torch's, all cores)")
    parser.add_argument("--quick", action="store_true", help="a couple of seconds instead of the full measurement")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_calibrate(args) -> int:
    from .runtime.calibrate import calibrate_and_save  # torch loads only when a command needs it

    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads: expected 1 or more, got {args.threads}")

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\rcalibrating {done}/{total}")
            sys.stderr.flush()

    calibration, saved = calibrate_and_save(args.device, args.threads, args.quick, progress)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if saved.note:
        print(f"archscope: {saved.note}", file=sys.stderr)
    if args.json:
        print(json.dumps(calibration.to_dict() | {"saved_to": str(saved.path)}, indent=2))
        return 0
    for line in report_lines(calibration):
        print(line)
    print(f"saved to {saved.path}")
    return 0


def report_lines(calibration) -> list[str]:
    """The measured rates, then the roofs they give, with the ridge point of each dtype."""
    threads = f", {calibration.threads} thread{'s' if calibration.threads != 1 else ''}" if calibration.threads else ""
    lines = [f"{calibration.device}{threads}", "reads (bytes read / best time):"]
    for kind, rate in calibration.read_bytes_per_s.items():
        lines.append(f"  {kind:<24}{rate / 1e9:8.1f} GB/s")
    float32_rate = calibration.read_bytes_per_s.get("float32 matrix-vector")
    bfloat16_rate = calibration.read_bytes_per_s.get("bfloat16 matrix-vector")
    if float32_rate and bfloat16_rate:
        lines.append(f"  bfloat16 matrix-vector reads at {100 * bfloat16_rate / float32_rate:.0f}% of float32's")
    lines.append(f"bandwidth roof: {calibration.bandwidth_bytes_per_s / 1e9:.1f} GB/s (the fastest sustained read)")
    lines.append("matmul roofs:")
    for dtype, roofs in calibration.roofs().items():
        lines.append(f"  {dtype:<10}{roofs.flops_per_s / 1e9:9.1f} GFLOP/s   ridge {roofs.ridge_intensity:6.2f} "
                     f"FLOPs/byte   (best at {calibration.matmul_size[dtype]}x{calibration.matmul_size[dtype]})")
    return lines
