"""Structural rules of an ArchSpec: every broken rule, reported at its field path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import on_device
from .checks import Checker
from .errors import Problem
from .ffn import FEED_FORWARD_TYPES
from .limits import size_problems
from .mixers import MIXER_TYPES
from .vision import vision_problems

if TYPE_CHECKING:  # only named in annotations: ArchSpec itself calls `validate`
    from .arch import ArchSpec


def validate(spec: ArchSpec) -> list[Problem]:
    """Return every problem found; an empty list means the spec can be built."""
    bounds = size_problems(spec)
    if bounds:  # the rules below multiply and compare sizes: only bounded ones
        return bounds
    check = Checker(spec.d_model)
    check.positive(spec, "", "vocab_size", "d_model")
    check.non_negative(spec, "", "learned_positions", "max_context", "mtp_layers", "final_logit_softcap")
    check.positive(spec, "", "output_logit_scale", "embedding_multiplier")
    if not spec.name.strip():
        check.add("name", "must not be empty")
    if not spec.layers:
        check.add("layers", "a model needs at least one layer")
    check.norm(spec.final_norm, "final_norm")
    for index, layer in enumerate(spec.layers):
        path = f"layers[{index}]"
        if layer.mixer is None and layer.ffn is None:
            check.add(path, "a layer needs a mixer, a feed-forward network, or both")
        check.norm(layer.norm, f"{path}.norm")
        for name in ("mixer_residual", "ffn_residual"):
            scale = getattr(layer, name)
            if scale is not None:
                check.finite(scale, f"{path}.{name}", "alpha", "beta")
        if layer.parallel:
            _check_parallel(check, layer, path)
        if layer.mixer is not None:
            _check_part(check, layer.mixer, MIXER_TYPES, "mixer", f"{path}.mixer")
        if layer.ffn is not None:
            _check_part(check, layer.ffn, FEED_FORWARD_TYPES, "feed-forward", f"{path}.ffn")
        if getattr(layer.ffn, "shortcut", False):
            _check_shortcut(check, spec, index, path)
    if spec.ngram_embedding is not None:
        spec.ngram_embedding.check(check, "ngram_embedding", spec.vocab_size)
    if spec.hyper_connections is not None:
        spec.hyper_connections.check(check, "hyper_connections")
    check.problems.extend(on_device.problems(spec))
    if spec.vision is not None:
        for path, message in vision_problems(spec.vision):
            check.add(path, message)
    crossing = [i for i, layer in enumerate(spec.layers) if getattr(layer.mixer, "kind", "") == "cross_attention"]
    if crossing and (spec.vision is None or spec.vision.method != "cross_attention"):
        check.add(f"layers[{crossing[0]}].mixer", "cross-attention needs a vision front-end of method "
                  "'cross_attention' to attend to")
    return check.problems


def _check_parallel(check: Checker, layer, path: str) -> None:
    """A parallel block feeds one normed input to both sublayers and adds both outputs to
    the plain residual: it needs both, Pre-Norm, and unweighted residual sums."""
    where = f"{path}.parallel"
    if layer.mixer is None or layer.ffn is None:
        check.add(where, "a parallel block needs both a mixer and a feed-forward network")
    if layer.norm_placement != "pre":
        check.add(where, f"a parallel block normalizes its shared input only (Pre-Norm), found norm_placement "
                  f"{layer.norm_placement!r}")
    if layer.residual_from_norm or layer.mixer_residual is not None or layer.ffn_residual is not None \
            or layer.laurel_rank:
        check.add(where, "a parallel block adds both outputs to the plain residual: no residual weights, "
                  "normed residual or LAuReL branch")


def _check_shortcut(check: Checker, spec: ArchSpec, index: int, path: str) -> None:
    """A shortcut MoE's output joins at the end of the next layer: there must be one, and
    the MoE must read this layer's own normed input (Pre-Norm, not a parallel block)."""
    where = f"{path}.ffn.shortcut"
    if index == len(spec.layers) - 1:
        check.add(where, "joins the residual after the next layer, but this is the last layer")
    layer = spec.layers[index]
    if layer.parallel or layer.norm_placement != "pre" or layer.residual_from_norm or layer.ffn_residual is not None:
        check.add(where, "a shortcut MoE reads its layer's Pre-Norm input and joins a plain residual sum: "
                  "no parallel block, post-norm or weighted residual")


def _check_part(check: Checker, part, kinds: tuple[type, ...], what: str, path: str) -> None:
    """Each mixer and feed-forward kind checks its own fields; a kind this version does
    not know is not valid by default."""
    if isinstance(part, kinds):
        part.check(check, path)
    else:
        check.add(path, f"unknown {what} kind {type(part).__name__}")


def new_problems(before: ArchSpec, after: ArchSpec) -> list[Problem]:
    """The problems an edit from `before` to `after` adds: a spec opened with problems can
    still be edited, one step that adds none at a time."""
    known = set(validate(before))
    return [problem for problem in validate(after) if problem not in known]
