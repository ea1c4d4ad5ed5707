"""The catalog: every architecture of the comparison at its published size.

An entry is data: the published config.json (text part) with the place it came from.
Its spec is read through `spec_from_hf_config`, the same path a user's own config
takes, so the catalog cannot disagree with the converter. `explore` and `slice` scales
are derived from the full spec (see `scale`).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Literal

from ..arch import ArchSpec
from ..errors import Problem, SpecError
from .entry import Entry

Scale = Literal["full", "explore", "slice"]
SCALES: tuple[str, ...] = ("full", "explore", "slice")


def _entries() -> dict[str, Entry]:
    from . import cohere2, deepseek, dense, gemma3n, gemma4, hybrid, ling, moe, vision, windowed_moe

    table: dict[str, Entry] = {}
    for module in (dense, moe, deepseek, hybrid, ling, gemma3n, gemma4, cohere2, vision, windowed_moe):
        for entry in module.ENTRIES:
            assert entry.slug not in table, f"duplicate catalog slug {entry.slug}"
            table[entry.slug] = entry
    from . import deepseek_v4
    for entry in deepseek_v4.ENTRIES:
        assert entry.slug not in table, f"duplicate catalog slug {entry.slug}"
        table[entry.slug] = entry
    return table


_ENTRIES: dict[str, Entry] = {}


def entries() -> list[Entry]:
    if not _ENTRIES:
        _ENTRIES.update(_entries())
    return list(_ENTRIES.values())


def names() -> list[str]:
    return [entry.slug for entry in entries()]


def entry(name: str) -> Entry:
    entries()
    if name not in _ENTRIES:
        close = [slug for slug in _ENTRIES if name.lower() in slug]
        hint = f"; did you mean {', '.join(close[:5])}?" if close else "; `archscope catalog` lists them"
        raise SpecError([Problem("name", f"no catalog entry {name!r}{hint}")])
    return _ENTRIES[name]


@cache
def get(name: str, scale: Scale = "full") -> ArchSpec:
    from ..hf import spec_from_hf_config
    from ..scale import explore, slice_

    if scale not in SCALES:
        raise SpecError([Problem("scale", f"expected one of {', '.join(SCALES)}, found {scale!r}")])
    item = entry(name)
    spec = item.build() if item.build is not None else spec_from_hf_config(item.config)
    spec = replace(spec, name=item.slug, family=item.family, notes=item.notes)
    if scale == "explore":
        return explore(spec)
    if scale == "slice":
        return slice_(spec)
    return spec
