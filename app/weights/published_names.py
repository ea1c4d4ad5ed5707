"""Where a checkpoint keeps a tensor under another prefix than the name maps write.

The name maps follow what transformers' save_pretrained writes; some published
checkpoints nest the same tensors one level deeper. A name the checkpoint lacks is looked
up under each published prefix, and the first that the checkpoint holds is read instead.
"""

from __future__ import annotations

from typing import Callable

from .names_llama import NameMap

# (the name maps' prefix, a published checkpoint's prefix for the same tensors)
PUBLISHED_PREFIXES = (
    # google/gemma-3-*: the SigLIP encoder under vision_tower.vision_model.
    ("vision_tower.", "vision_tower.vision_model."),
    # google/gemma-3n-*: a multimodal wrapper whose decoder is model.language_model; its
    # vision and audio towers (model.vision_tower, model.audio_tower) are left unread.
    ("model.", "model.language_model."),
)


def with_published_names(name_map: NameMap, has: Callable[[str], bool]) -> NameMap:
    resolved: NameMap = {}
    for ours, (theirs, transform) in name_map.items():
        if isinstance(theirs, str) and not has(theirs):
            for short, published in PUBLISHED_PREFIXES:
                alias = published + theirs[len(short):]
                if theirs.startswith(short) and has(alias):
                    theirs = alias
                    break
        resolved[ours] = (theirs, transform)
    return resolved
