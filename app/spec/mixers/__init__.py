"""Token mixers, one module per kind, and the registry everything else dispatches through.

A kind's module holds its spec dataclass and every answer the rest of ArchScope asks of
it (`MIXER_ANSWERS`): its parameters, cache and FLOPs, its roofline cost, its validation
and explore-scale rules, and its words. Its torch module sits beside it in `app/model`
(`app/model/build.MIXER_MODULES`), its canvas colours in `app/ui/theme.KIND_COLOURS`.
Adding a kind: write its module here, list it below, and tests/spec/test_mixer_answers.py
says what it still lacks.
"""

from __future__ import annotations

from .attention import Attention
from .cca import CompressedConvAttention
from .cross_attention import CrossAttention
from .gated_deltanet import GatedDeltaNet
from .gated_short_conv import GatedShortConv
from .kimi_delta import KimiDeltaAttention
from .lightning import LightningAttention
from .mamba2 import Mamba2
from .mla import MultiHeadLatentAttention, SparseIndexer
from .mlstm import MLSTM
from .compressed import CompressedAttention, CompressedIndexer

Mixer = (
    Attention
    | MultiHeadLatentAttention
    | GatedDeltaNet
    | KimiDeltaAttention
    | Mamba2
    | LightningAttention
    | GatedShortConv
    | CrossAttention
    | MLSTM
    | CompressedConvAttention
    | CompressedAttention
)
MIXER_TYPES: tuple[type, ...] = (
    Attention,
    MultiHeadLatentAttention,
    GatedDeltaNet,
    KimiDeltaAttention,
    Mamba2,
    LightningAttention,
    GatedShortConv,
    CrossAttention,
    MLSTM,
    CompressedConvAttention,
    CompressedAttention,
)
MIXER_KINDS: dict[str, type] = {kind.kind: kind for kind in MIXER_TYPES}

# What every mixer kind answers for itself, each in its own class body: a kind that lacks
# an answer fails tests/spec/test_mixer_answers.py at once instead of counting as 0 or
# drawing as a grey box.
MIXER_ANSWERS = (
    # facts
    "kind", "attends_to_context", "recurrent", "cache_window", "is_local", "position_kind",
    # the analysis
    "params", "vector_params", "per_image_params", "kv_values_per_token", "kv_values_per_image",
    "state_values", "score_flops_per_token",
    # the roofline
    "point_kind", "step_cost",
    # validation and explore scale
    "check", "explored",
    # words: the canvas box, a group header, the layer table, the catalog's pattern; colours
    "title", "box_lines", "label", "describe", "pattern_label", "canvas_style",
)


def known_mixer(mixer):
    """The mixer itself, or TypeError naming it when it is no kind this version knows: a
    question about an unknown mixer has no answer, not 0."""
    if not isinstance(mixer, MIXER_TYPES):
        raise TypeError(f"unknown mixer {type(mixer).__name__}: expected one of "
                        f"{', '.join(kind.__name__ for kind in MIXER_TYPES)}")
    return mixer


__all__ = ["Attention", "CompressedConvAttention", "CrossAttention", "GatedDeltaNet", "GatedShortConv", "KimiDeltaAttention", "LightningAttention",
           "Mamba2", "MLSTM", "MultiHeadLatentAttention", "SparseIndexer", "Mixer", "MIXER_TYPES", "MIXER_KINDS",
           "MIXER_ANSWERS", "known_mixer", "CompressedAttention", "CompressedIndexer"]
