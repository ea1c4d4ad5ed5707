"""Gemma 3n's on-device tricks as spec data: per-layer embeddings, AltUp, MatFormer
nesting, and the rules that tie them (and KV sharing, LAuReL, activation sparsity, which
live on the layer's own components) to the rest of a spec.

Per-layer embeddings (PLE): a second token table holding a small vector per layer; each
layer mixes its slice into the residual streams. The table is large but only looked up,
so it can stay in host memory -- the analysis reports it apart from the rest.
AltUp (Baykal et al., 2023): the residual is widened to several streams; a layer computes
on one, predicts the others from it beforehand and corrects them afterwards.
MatFormer (Devvrit et al., 2023): every FFN is trained so that its first neurons form a
smaller model on their own (Gemma 3n E2B is E4B's FFNs at half width, with fewer layers).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from .errors import Problem
from .ffn import MLP

if TYPE_CHECKING:
    from .arch import ArchSpec


@dataclass(frozen=True)
class PerLayerEmbedding:
    """Gemma 3n: `width` values per layer and token (hidden_size_per_layer_input, 256),
    from a table of `vocab_size` rows (vocab_size_per_layer_input) plus a projection of
    the token embedding; gated into each layer with `activation`."""

    width: int
    vocab_size: int
    activation: Literal["silu", "gelu", "gelu_tanh"] = "gelu_tanh"


@dataclass(frozen=True)
class AltUp:
    """AltUp with `num_inputs` residual streams (Gemma 3n: 4); the layers compute on the
    first. correct_scale: the corrected first stream is scaled by a learned vector before
    it gates the per-layer input (altup_correct_scale)."""

    num_inputs: int = 4
    correct_scale: bool = True


@dataclass(frozen=True)
class MatFormer:
    """The FFN width the model was trained at (its largest nested model). Each layer's
    MLP.intermediate_size is the slice in use -- at most this -- so the analysis and the
    builder follow a slid width with nothing else to read."""

    full_intermediate_size: int


# --- KV sharing ----------------------------------------------------------------------------


def kv_sources(spec: ArchSpec) -> list[int | None]:
    """For each layer, the layer whose keys and values it reuses (None: its own). A
    sharing layer reads the last earlier layer of the same kind -- same window, same kv
    heads -- that computes its own, as Gemma 3n's last layers do."""
    sources: list[int | None] = []
    for index, layer in enumerate(spec.layers):
        mixer = layer.mixer
        if not (_attention(mixer) and mixer.shared_kv):
            sources.append(None)
            continue
        source = None
        for earlier in range(index - 1, -1, -1):
            other = spec.layers[earlier].mixer
            if _attention(other) and not other.shared_kv and _same_kv(other, mixer):
                source = earlier
                break
        sources.append(source if source is not None else -1)  # -1: no source (a validation problem)
    return sources


def _attention(mixer) -> bool:
    """Softmax attention, the one kind that can share another layer's keys and values."""
    return getattr(mixer, "kind", None) == "attention"


def _same_kv(a, b) -> bool:
    return (a.sliding_window, a.chunk_size, a.num_kv_heads, a.head_dim, a.v_dim) == \
        (b.sliding_window, b.chunk_size, b.num_kv_heads, b.head_dim, b.v_dim)


def kv_source_layers(spec: ArchSpec) -> set[int]:
    """The layers whose keys and values a later layer reuses."""
    return {source for source in kv_sources(spec) if source is not None and source >= 0}


# --- MatFormer -----------------------------------------------------------------------------

MATFORMER_STEP = 8  # widths stay multiples of 8, like the explore scale's


def ffn_fraction(spec: ArchSpec) -> float:
    """The FFN width in use relative to the trained width, over all MLP layers (1.0 when
    the spec has no MatFormer nesting)."""
    if spec.matformer is None:
        return 1.0
    widths = [layer.ffn.intermediate_size for layer in spec.layers if isinstance(layer.ffn, MLP)]
    if not widths:
        return 1.0
    return sum(widths) / (len(widths) * spec.matformer.full_intermediate_size)


def with_ffn_fraction(spec: ArchSpec, fraction: float) -> ArchSpec:
    """The nested model at this fraction of the trained FFN width, every MLP layer alike
    (the MatFormer slider)."""
    if spec.matformer is None:
        raise ValueError(f"{spec.name} has no MatFormer nesting to slide")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"a MatFormer fraction is in (0, 1], found {fraction}")
    full = spec.matformer.full_intermediate_size
    width = min(full, max(MATFORMER_STEP, round(full * fraction / MATFORMER_STEP) * MATFORMER_STEP))
    layers = [replace(layer, ffn=replace(layer.ffn, intermediate_size=width)) if isinstance(layer.ffn, MLP)
              else layer for layer in spec.layers]
    return spec.with_layers(layers)


# --- rules ---------------------------------------------------------------------------------


def problems(spec: ArchSpec) -> list[Problem]:
    """What breaks the on-device parts of a spec, at field paths like validation's."""
    found: list[Problem] = []
    ple, altup = spec.per_layer_embedding, spec.altup
    if ple is not None:
        for name in ("width", "vocab_size"):
            if getattr(ple, name) < 1:
                found.append(Problem(f"per_layer_embedding.{name}", f"must be positive, found {getattr(ple, name)}"))
        # Gemma 3n feeds the AltUp streams after the first; Gemma 4, without AltUp, its one stream
        if altup is not None and altup.num_inputs < 2:
            found.append(Problem("per_layer_embedding", "feeds the AltUp streams after the first; with altup it "
                                 "needs num_inputs of at least 2"))
    if altup is not None and altup.num_inputs < 1:
        found.append(Problem("altup.num_inputs", f"must be positive, found {altup.num_inputs}"))
    if spec.matformer is not None and spec.matformer.full_intermediate_size < 1:
        found.append(Problem("matformer.full_intermediate_size",
                             f"must be positive, found {spec.matformer.full_intermediate_size}"))
    sources = kv_sources(spec)
    for index, layer in enumerate(spec.layers):
        path = f"layers[{index}]"
        if layer.laurel_rank < 0:
            found.append(Problem(f"{path}.laurel_rank", f"must be zero or positive, found {layer.laurel_rank}"))
        if isinstance(layer.ffn, MLP):
            sparsity = layer.ffn.activation_sparsity
            if not 0.0 <= sparsity < 1.0:
                found.append(Problem(f"{path}.ffn.activation_sparsity", f"must be in [0, 1), found {sparsity}"))
            elif sparsity and not layer.ffn.gated:
                found.append(Problem(f"{path}.ffn.activation_sparsity", "sparsifies the gate; the MLP has none"))
            full = spec.matformer.full_intermediate_size if spec.matformer is not None else 0
            if full and layer.ffn.intermediate_size > full:
                found.append(Problem(f"{path}.ffn.intermediate_size", f"{layer.ffn.intermediate_size} exceeds "
                                     f"the MatFormer's trained width {full}"))
        if sources[index] == -1:
            found.append(Problem(f"{path}.mixer.shared_kv", "no earlier layer of the same kind (window, kv heads, "
                                 "head size) computes keys and values to share"))
    return found


def shrunk(spec: ArchSpec, ratio: float, multiple) -> dict:
    """The explore scale's replacements for these parts (widths shrunk by `ratio`, rounded
    by `multiple`), as keyword arguments for dataclasses.replace."""
    changes: dict = {}
    if spec.per_layer_embedding is not None:
        ple = spec.per_layer_embedding
        changes["per_layer_embedding"] = replace(ple, width=multiple(ple.width * ratio),
                                                 vocab_size=min(ple.vocab_size, spec.vocab_size))
    if spec.matformer is not None:
        changes["matformer"] = MatFormer(multiple(spec.matformer.full_intermediate_size * ratio))
    return changes
