"""Checkpoint names of the multimodal Gemma 3 (Gemma3ForConditionalGeneration).

The decoder's tensors are the Llama lineage's under `language_model.`; the SigLIP encoder
sits under `vision_tower.` and the projector under `multi_modal_projector.`, whose
projection is stored input-major (a raw [vision width, text width] matrix, not a Linear).
Published checkpoints (google/gemma-3-*) nest the encoder once more, under
`vision_tower.vision_model.`; transformers 5's save_pretrained writes it without that
level. `with_published_aliases` picks whichever a checkpoint holds.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..spec import ArchSpec
from .name_maps import NameMap, llama_lineage

PUBLISHED_ENCODER_PREFIX = ("vision_tower.", "vision_tower.vision_model.")


def _transpose(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.t()


def vision_tower_name(name: str) -> str:
    """Our encoder parameter -> SigLIP's (transformers 5 layout)."""
    parts = name.split(".")
    if parts[1] == "layers":  # vision_tower.layers.N.rest -> vision_tower.encoder.layers.N.rest
        return "vision_tower.encoder." + ".".join(parts[1:])
    return name  # embeddings.*, post_layernorm.*


def gemma3(spec: ArchSpec, our_names: list[str]) -> NameMap:
    decoder_names = [n for n in our_names if not n.startswith(("vision_tower.", "projector."))]
    mapping: NameMap = {}
    for ours, (theirs, transform) in llama_lineage(spec, decoder_names).items():
        mapping[ours] = (theirs if theirs == "lm_head.weight" else f"language_model.{theirs}", transform)
    for name in our_names:
        if name.startswith("vision_tower."):
            mapping[name] = (vision_tower_name(name), None)
        elif name == "projector.norm.weight":
            mapping[name] = ("multi_modal_projector.mm_soft_emb_norm.weight", None)
        elif name == "projector.proj.weight":
            mapping[name] = ("multi_modal_projector.mm_input_projection_weight", _transpose)
    return mapping


def with_published_aliases(name_map: NameMap, has: Callable[[str], bool]) -> NameMap:
    """Where a checkpoint lacks an encoder tensor under transformers 5's name but holds it
    under the published one, read that instead."""
    short, published = PUBLISHED_ENCODER_PREFIX
    resolved: NameMap = {}
    for ours, (theirs, transform) in name_map.items():
        if isinstance(theirs, str) and theirs.startswith(short) and not has(theirs):
            alias = published + theirs[len(short):]
            theirs = alias if has(alias) else theirs
        resolved[ours] = (theirs, transform)
    return resolved


NAME_MAPS = {"gemma3": gemma3}
