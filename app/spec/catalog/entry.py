"""One catalog entry: a published model as data (its config.json and where it came from).

A module of its own so that the family modules (dense, moe, ...) import it and the
catalog package imports them, with no cycle between the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from ..arch import ArchSpec


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
    # How near the count must come to the headline: 3%, unless the only published figure is a
    # name rounded further (Granite 4.1's "30B"), which `notes` then says
    headline_tolerance: float = 0.03
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
