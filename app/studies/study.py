"""The vocabulary of a study: what it runs (arms), what it found (rows of measured and
predicted figures, figures drawn from them, a one-line answer), and how it is told to run.

A study is plain code over the spec and the runtime: it builds the models it needs,
measures them with `measure.py`, and returns a `StudyResult` that `report.py` writes and
the window draws. Nothing here imports Qt.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

from ..spec import ArchSpec


@dataclass(frozen=True)
class Settings:
    quick: bool = False  # smaller contexts and fewer steps: minutes on a 2-core CPU
    device: str = "auto"
    dtype: str = "float32"
    # "published": the arms at their published widths (what a study is for); "tiny": at the
    # explore scale's widths, so a test runs every study end to end in seconds
    size: str = "published"
    progress: Callable[[str, float], None] = lambda text, fraction: None
    cancelled: Callable[[], bool] = lambda: False


@dataclass(frozen=True)
class Arm:
    """One model a study runs: its label in tables and legends, and its spec."""

    label: str
    spec: ArchSpec
    note: str = ""  # how it was made, said in the report's setup


@dataclass
class Row:
    """One figure a study measured, with its predicted twin (None: no prediction exists,
    e.g. the device has no calibration; the report says why)."""

    arm: str
    quantity: str  # "kv_bytes_per_token", "attention_ms", ...
    x: float  # the swept value: context length, batch size
    measured: float
    predicted: float | None
    unit: str  # "bytes", "ms", "tokens/s"


@dataclass
class Series:
    label: str
    x: list[float]
    y: list[float]
    predicted: bool = False  # drawn dashed: the roofline's or the analysis' figure


@dataclass
class Figure:
    name: str  # the file stem: "kv-bytes"
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    log_x: bool = False
    log_y: bool = False


@dataclass
class StudyResult:
    study: str
    title: str
    section: str  # where the article asks it: "§1.1"
    question: str  # the article's words when `quoted`, else the question in ours
    answer: str  # one sentence, from the rows
    setup: list[str]
    rows: list[Row]
    figures: list[Figure]
    device: str
    dtype: str
    quick: bool
    size: str
    notes: list[str] = field(default_factory=list)
    # per arm: its run as a profile snapshot (runs.py); in data.json, the file report.py wrote it to
    snapshots: dict = field(default_factory=dict)
    quoted: bool = True  # the question is the article's own sentence

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(document: dict) -> StudyResult:
        """A result as data.json holds it."""
        fields = dict(document)
        fields["rows"] = [Row(**row) for row in document["rows"]]
        fields["figures"] = [Figure(**{**figure, "series": [Series(**series) for series in figure["series"]]})
                             for figure in document["figures"]]
        return StudyResult(**fields)

    def rows_of(self, quantity: str, arm: str | None = None) -> list[Row]:
        return [row for row in self.rows if row.quantity == quantity and (arm is None or row.arm == arm)]


@dataclass(frozen=True)
class Listing:
    """What the Studies menu and `archscope study --list` show of a study (listing.py):
    plain words, so the window lists the studies without loading torch."""

    name: str  # what `archscope study NAME` takes
    title: str
    section: str  # where the article asks it
    summary: str  # one line


@dataclass(frozen=True)
class Study:
    listing: Listing
    question: str
    run: Callable[[Settings], StudyResult]
    answer: Callable[[StudyResult], str]  # the one-line answer, from a result's rows alone

    name = property(lambda self: self.listing.name)
    title = property(lambda self: self.listing.title)
    section = property(lambda self: self.listing.section)
    summary = property(lambda self: self.listing.summary)
