"""Every study, by the name `archscope study NAME` takes."""

from __future__ import annotations

from . import attention_budget, linear_hybrids, mla_vs_gqa, sliding_window, sparse_attention
from .study import Study

STUDIES: dict[str, Study] = {study.name: study for study in (
    mla_vs_gqa.STUDY, sliding_window.STUDY, linear_hybrids.STUDY, sparse_attention.STUDY, attention_budget.STUDY)}
