"""Checkpoint names of the multimodal models: Gemma 3 (Gemma3ForConditionalGeneration)
and Llama 3.2 Vision (MllamaForConditionalGeneration).

The decoder's tensors are the Llama lineage's under `language_model.`; the SigLIP encoder
sits under `vision_tower.` and the projector under `multi_modal_projector.`, whose
projection is stored input-major (a raw [vision width, text width] matrix, not a Linear).
Published checkpoints (google/gemma-3-*) nest the encoder once more, under
`vision_tower.vision_model.`; transformers 5's save_pretrained writes it without that
level (`published_names` picks whichever a checkpoint holds).

mllama keeps the Llama lineage's names under `language_model.` (its cross-attention layers'
attention as cross_attn, with the two tanh gates beside it), the tiled encoder under
`vision_model.` and the projector, a plain biased Linear, as `multi_modal_projector`.
"""

from __future__ import annotations

import torch

from ..spec import ArchSpec
from ..spec.mixers import CrossAttention
from .names_llama import NameMap, llama_lineage


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


# --- Llama 3.2 Vision (mllama) ----------------------------------------------------------------

# Our tiled encoder's modules -> MllamaVisionModel's (under vision_model.)
MLLAMA_ENCODER_NAMES = {
    "position_embedding": "gated_positional_embedding.embedding",
    "tile_positions.embedding.weight": "gated_positional_embedding.tile_embedding.weight",
    "tile_positions.gate": "gated_positional_embedding.gate",
    "pre_tile.embedding.weight": "pre_tile_positional_embedding.embedding.weight",
    "pre_tile.gate": "pre_tile_positional_embedding.gate",
    "post_tile.embedding.weight": "post_tile_positional_embedding.embedding.weight",
    "post_tile.gate": "post_tile_positional_embedding.gate",
    "pre_norm": "layernorm_pre",
    "post_norm": "layernorm_post",
}
MLLAMA_ENCODER_LAYER_NAMES = {"layer_norm1": "input_layernorm", "layer_norm2": "post_attention_layernorm",
                              "self_attn.out_proj": "self_attn.o_proj"}


def mllama_encoder_name(rest: str) -> str:
    """A parameter of our tiled encoder (the part after vision_tower.) -> its checkpoint name."""
    parts = rest.split(".")
    if parts[0] in ("layers", "global_layers"):
        stack = "transformer" if parts[0] == "layers" else "global_transformer"
        inner = ".".join(parts[2:])
        for ours, theirs in MLLAMA_ENCODER_LAYER_NAMES.items():
            if inner.startswith(ours + "."):
                inner = theirs + inner[len(ours):]
        return f"vision_model.{stack}.layers.{parts[1]}.{inner}"
    for ours, theirs in MLLAMA_ENCODER_NAMES.items():
        if rest == ours or rest.startswith(ours + "."):
            return "vision_model." + theirs + rest[len(ours):]
    return "vision_model." + rest  # patch_embedding.weight, class_embedding


def mllama(spec: ArchSpec, our_names: list[str]) -> NameMap:
    decoder_names = [n for n in our_names if not n.startswith(("vision_tower.", "projector."))]
    mapping: NameMap = {}
    for ours, (theirs, transform) in llama_lineage(spec, decoder_names).items():
        parts = ours.split(".")
        if parts[0] == "layers" and parts[2] == "mixer" and isinstance(spec.layers[int(parts[1])].mixer, CrossAttention):
            leaf = ".".join(parts[3:])
            gates = {"attention_gate": "cross_attn_attn_gate", "ffn_gate": "cross_attn_mlp_gate"}
            theirs = f"model.layers.{parts[1]}." + (gates[leaf] if leaf in gates else f"cross_attn.{leaf}")
        mapping[ours] = (f"language_model.{theirs}", transform)
    for name in our_names:
        if name.startswith("vision_tower."):
            mapping[name] = (mllama_encoder_name(name.removeprefix("vision_tower.")), None)
        elif name.startswith("projector."):
            mapping[name] = ("multi_modal_projector." + name.removeprefix("projector."), None)
    return mapping


NAME_MAPS = {"gemma3": gemma3, "mllama": mllama}
