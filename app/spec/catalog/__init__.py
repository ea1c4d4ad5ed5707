"""The catalog: every architecture of the comparison at its published size.

An entry is data: the published config.json (text part) with the place it came from.
Its spec is read through `spec_from_hf_config`, the same path a user's own config
takes, so the catalog cannot disagree with the converter. `explore` and `slice` scales
are derived from the full spec (see `scale`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Callable, Literal

from ..arch import ArchSpec
from ..errors import Problem, SpecError

Scale = Literal["full", "explore", "slice"]
SCALES: tuple[str, ...] = ("full", "explore", "slice")


@dataclass(frozen=True, eq=False)
class Entry:
    slug: str  # stable, lowercase with dashes: the name users type
    title: str
    family: str
    source: str  # where every number below was taken from
    config: dict[str, Any] | None = None  # the published config.json, text part
    build: Callable[[], ArchSpec] | None = None  # for releases with no transformers model_type
    published_total: float = 0.0  # headline parameter count, for the 3% check
    published_active: float = 0.0  # MoE: published active parameters per token
    # What the headline counts that the text decoder spec does not build. Each is
    # explained in `notes`, and the 3% check adds it back.
    headline_counts_mtp: bool = False  # the headline includes the MTP modules
    headline_extra_params: float = 0.0  # e.g. a vision encoder, from the model card
    # What the published *active* count leaves out that ArchScope counts (it counts both
    # embedding tables): "input_embedding" (OpenAI's gpt-oss card: a lookup, not compute)
    # or "embeddings" (both tables). Explained in `notes`; the 3% check subtracts it.
    headline_active_excludes: Literal["", "input_embedding", "embeddings"] = ""
    notes: tuple[str, ...] = field(default=())

    def active_comparable_to_headline(self, analysis) -> int:
        """analysis.active_params counted the way this entry's publisher counts."""
        left_out = {"": 0, "input_embedding": analysis.embedding_params,
                    "embeddings": analysis.embedding_params + analysis.head_params}
        return analysis.active_params - left_out[self.headline_active_excludes]


def _entries() -> dict[str, Entry]:
    from . import deepseek, dense, gemma3n, hybrid, moe, vision

    table: dict[str, Entry] = {}
    for module in (dense, moe, deepseek, hybrid, gemma3n, vision):
        for entry in module.ENTRIES:
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
