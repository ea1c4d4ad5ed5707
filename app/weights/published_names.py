"""Where a checkpoint keeps a tensor under another name than the name maps write.

The name maps follow what transformers' save_pretrained writes; some published
checkpoints nest the same tensors one level deeper, or keep a layer's experts fused. A
name the checkpoint lacks is looked up under each published prefix, and the first that
the checkpoint holds is read instead; experts listed one by one that the checkpoint lacks
are read from its fused tensors.
"""

from __future__ import annotations

from typing import Callable

from .names_llama import NameMap, Transform

# (the name maps' prefix, a published checkpoint's prefix for the same tensors)
PUBLISHED_PREFIXES = (
    # google/gemma-3-*: the SigLIP encoder under vision_tower.vision_model.
    ("vision_tower.", "vision_tower.vision_model."),
    # google/gemma-3n-*, Qwen/Qwen3.5-* and Qwen3.6-*: a multimodal wrapper whose decoder is
    # model.language_model; its vision and audio towers (model.vision_tower, model.visual,
    # model.audio_tower) are left unread.
    ("model.", "model.language_model."),
    # moonshotai/Kimi-K2.5 and K2.6 (kimi_k25), mistralai/Mistral-Small-4 (mistral3 around mistral4): the
    # decoder is a causal LM of its own, language_model, its head inside it.
    ("model.", "language_model.model."),
    ("lm_head.", "language_model.lm_head."),
)

# Checkpoints written in transformers 5's own layout (Qwen/Qwen3.5-*, Qwen3.6-* MoE) keep a
# layer's experts as its modules hold them: gate_up_proj [E, 2I, d], the gate half first,
# and down_proj [E, d, I] -- already our stacked [E, out, in]. Per-expert leaf -> (fused
# tensor, which half).
FUSED_EXPERTS = {"gate_proj.weight": ("gate_up_proj", 0), "up_proj.weight": ("gate_up_proj", 1),
                 "down_proj.weight": ("down_proj", None)}


def _held(name: str, has: Callable[[str], bool]) -> str | None:
    """name, or its first published alias, whichever the checkpoint holds."""
    if has(name):
        return name
    for short, published in PUBLISHED_PREFIXES:
        alias = published + name[len(short):]
        if name.startswith(short) and has(alias):
            return alias
    return None


def _half(which: int) -> Transform:
    return lambda tensor: tensor.chunk(2, dim=1)[which]


def _fused(names: tuple[str, ...], has: Callable[[str], bool]) -> tuple[str, Transform] | None:
    """The fused tensor that holds the experts `names` lists one by one, if the checkpoint has it."""
    stem, _, leaf = names[0].partition(".experts.0.")
    if leaf not in FUSED_EXPERTS or any(has(name) for name in names):
        return None
    fused, half = FUSED_EXPERTS[leaf]
    held = _held(f"{stem}.experts.{fused}", has)
    if held is None:
        return None
    return held, (None if half is None else _half(half))


def with_published_names(name_map: NameMap, has: Callable[[str], bool]) -> NameMap:
    resolved: NameMap = {}
    for ours, (theirs, transform) in name_map.items():
        if isinstance(theirs, str):
            theirs = _held(theirs, has) or theirs
        elif transform is None and (fused := _fused(theirs, has)) is not None:
            theirs, transform = fused
        else:  # tensors stacked from several (experts one by one): each under its published prefix
            theirs = tuple(_held(name, has) or name for name in theirs)
        resolved[ours] = (theirs, transform)
    return resolved

