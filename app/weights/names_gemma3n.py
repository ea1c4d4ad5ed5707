"""Checkpoint names of Gemma 3n's text model (google/gemma-3n-E2B / E4B, and what
transformers' save_pretrained writes for gemma3n_text).

The Llama lineage's sandwich-norm names for attention, MLP and norms, plus Gemma 3n's own
modules, kept under the names its checkpoints use: the per-layer embedding table and its
projection at the model level, the AltUp stream projections, and per layer the LAuReL
branch, the AltUp coefficients and the per-layer input gate.
"""

from __future__ import annotations

from ..spec import ArchSpec
from .names_llama import NameMap, llama_lineage

# Our module path -> the checkpoint's, for the modules the Llama lineage does not have.
MODEL_LEVEL = {
    "per_layer_embedding.table": "model.embed_tokens_per_layer",
    "per_layer_embedding.model_projection": "model.per_layer_model_projection",
    "per_layer_embedding.projection_norm": "model.per_layer_projection_norm",
    "altup_streams.projections": "model.altup_projections",
    "altup_streams.unembed_projections": "model.altup_unembed_projections",
}
PER_LAYER = {
    "per_layer_input.gate": "per_layer_input_gate",
    "per_layer_input.projection": "per_layer_projection",
    "per_layer_input.norm": "post_per_layer_input_norm",
    "laurel": "laurel",
    "altup": "altup",
}


def gemma3n(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping: NameMap = {}
    rest = []
    for name in our_names:
        parts = name.split(".")
        theirs = None
        for ours, checkpoint in MODEL_LEVEL.items():
            if name.startswith(ours + "."):
                theirs = checkpoint + name[len(ours):]
        if parts[0] == "layers":
            inner = ".".join(parts[2:])
            for ours, checkpoint in PER_LAYER.items():
                if inner.startswith(ours + "."):
                    theirs = f"model.layers.{parts[1]}.{checkpoint}{inner[len(ours):]}"
        if theirs is None:
            rest.append(name)
        else:
            mapping[name] = (theirs, None)
    mapping.update(llama_lineage(spec, rest))
    return mapping


NAME_MAPS = {"gemma3n_text": gemma3n}
