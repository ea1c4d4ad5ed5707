"""Every study, by the name `archscope study NAME` takes."""

from __future__ import annotations

from . import mla_vs_gqa, sliding_window
from .study import Study

STUDIES: dict[str, Study] = {study.name: study for study in (mla_vs_gqa.STUDY, sliding_window.STUDY)}
