"""Checkpoint names of Gemma 4's text model (google/gemma-4-*, and what transformers'
save_pretrained writes for gemma4_text and gemma4_unified_text).

The Llama lineage's sandwich-norm names for attention, MLP and norms; Gemma 3n's names for
the per-layer embeddings (the same modules under the same names); and per layer the
learned output scalar, a buffer the checkpoint stores as `layer_scalar`.
"""

from __future__ import annotations

from ..spec import ArchSpec
from .names_gemma3n import gemma3n
from .names_llama import NameMap


def gemma4(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping = gemma3n(spec, our_names)
    for index, layer in enumerate(spec.layers):
        if layer.scaled_output:
            mapping[f"layers.{index}.output_scale"] = (f"model.layers.{index}.layer_scalar", None)
    return mapping


NAME_MAPS = {"gemma4_text": gemma4, "gemma4_unified_text": gemma4}
