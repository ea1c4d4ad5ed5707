"""A study's report folder: report.md (the question with its section of the article, the
setup, the one-line answer, every measured figure beside its predicted twin), data.json
(the whole result), runs/ (each arm's run as a profile snapshot) and the figures as PNG and SVG,
drawn by whoever can draw (the CLI and the window pass the Qt renderer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from ..files import write_atomic
from ..units import human_bytes, human_count
from .study import Figure, StudyResult

# Draws one figure to a path; its suffix (.png, .svg) says how.
Renderer = Callable[[Figure, Path], None]


def run_file(arm: str) -> str:
    """Where an arm's snapshot goes in the report folder: runs/<the label, in safe letters>.json."""
    stem = "".join(c if c.isalnum() else "-" for c in arm.lower())
    return f"runs/{'-'.join(part for part in stem.split('-') if part)}.json"


def write_report(result: StudyResult, folder: Path, render: Renderer | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    # Each arm's run as its own snapshot file, which File > Open reads; data.json names them.
    document = result.to_dict()
    for arm, snapshot in result.snapshots.items():
        if isinstance(snapshot, dict):
            path = folder / run_file(arm)
            path.parent.mkdir(exist_ok=True)
            write_atomic(path, json.dumps(snapshot, indent=1))
            written.append(path)
            document["snapshots"][arm] = run_file(arm)
    data = folder / "data.json"
    write_atomic(data, json.dumps(document, indent=1))
    written.append(data)
    drawn = []
    if render is not None:
        for figure in result.figures:
            for suffix in (".png", ".svg"):
                path = folder / f"{figure.name}{suffix}"
                render(figure, path)
                written.append(path)
            drawn.append(figure)
    report = folder / "report.md"
    write_atomic(report, markdown(result, drawn))
    written.append(report)
    return written


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "bytes":
        return human_bytes(value)
    if unit == "ms":
        return f"{value:.3f} ms"
    if unit == "parameters":
        return human_count(value)
    return f"{value:,.4g} {unit}"


def markdown(result: StudyResult, figures: list[Figure]) -> str:
    if result.quoted:
        asked = [f"> {result.question}", ">", f"> — the Big LLM Architecture Comparison, {result.section}"]
    else:
        asked = [f"**The question** (the Big LLM Architecture Comparison, {result.section}): {result.question}"]
    lines = [f"# {result.title}", "", *asked, "",
             f"**Answer.** {result.answer}", "",
             "## Setup", ""]
    lines += [f"- {item}" for item in result.setup]
    lines += [f"- device: {result.device}; dtype: {result.dtype}; size: {result.size}"
              + ("; quick run: fewer and shorter contexts, fewer steps" if result.quick else ""), ""]
    for figure in figures:
        lines += [f"![{figure.title}]({figure.name}.png)", ""]
    lines += ["## Measured and predicted", "",
              "Predicted: the analysis for bytes, the roofline (the device's measured bandwidth and "
              "FLOP rate) for time.", "",
              "| arm | quantity | at | measured | predicted | measured / predicted |",
              "|---|---|---:|---:|---:|---:|"]
    for row in result.rows:
        ratio = f"{row.measured / row.predicted:.2f}" if row.predicted else "–"
        at = f"{row.x:,.0f}" if row.x == int(row.x) else f"{row.x:,.4g}"
        lines.append(f"| {row.arm} | {row.quantity} | {at} | {_value(row.measured, row.unit)} | "
                     f"{_value(row.predicted, row.unit)} | {ratio} |")
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in result.notes]
    return "\n".join(lines) + "\n"
