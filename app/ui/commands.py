"""Every edit of a spec as a QUndoCommand with a human text(), pushed on the
document's one undo stack.

Specs are frozen, so a command keeps the spec before and after: undo is exact,
whatever the edit touched.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtGui import QUndoCommand

from ..spec import ArchSpec
from ..spec.components import Layer
from ..spec.on_device import with_ffn_fraction
from .document import SpecDocument
from .grouping import Group, ffn_label, mixer_label


def replace_path(obj: Any, path: str, value: Any) -> Any:
    """A copy of a frozen dataclass with the dotted field `path` set to value."""
    name, _, rest = path.partition(".")
    if not rest:
        return dataclasses.replace(obj, **{name: value})
    inner = getattr(obj, name)
    if inner is None:
        raise ValueError(f"{name} is not set, so {rest} cannot be changed")
    return dataclasses.replace(obj, **{name: replace_path(inner, rest, value)})


def get_path(obj: Any, path: str) -> Any:
    for name in path.split("."):
        obj = getattr(obj, name)
    return obj


class SpecEdit(QUndoCommand):
    """Replace the document's spec by `after`; undo puts `before` back."""

    def __init__(self, document: SpecDocument, after: ArchSpec, text: str):
        super().__init__(text)
        self.document = document
        self.before = document.spec
        self.after = after

    def redo(self) -> None:
        self.document._set_spec(self.after)

    def undo(self) -> None:
        self.document._set_spec(self.before)


def _with_layers(spec: ArchSpec, indices, change) -> ArchSpec:
    layers = list(spec.layers)
    for index in indices:
        layers[index] = change(layers[index])
    return spec.with_layers(layers)


def _plural(indices) -> str:
    return f" in {len(indices)} layers" if len(indices) > 1 else f" in layer {indices[0]}"


class ReplaceMixer(SpecEdit):
    def __init__(self, document: SpecDocument, indices: list[int], mixer, name: str = ""):
        old = mixer_label(document.spec.layers[indices[0]].mixer)
        after = _with_layers(document.spec, indices, lambda layer: dataclasses.replace(layer, mixer=mixer))
        super().__init__(document, after, f"Replace {old} with {name or mixer_label(mixer)}")


class ReplaceFeedForward(SpecEdit):
    def __init__(self, document: SpecDocument, indices: list[int], ffn, name: str = ""):
        old = ffn_label(document.spec.layers[indices[0]].ffn)
        after = _with_layers(document.spec, indices, lambda layer: dataclasses.replace(layer, ffn=ffn))
        super().__init__(document, after, f"Replace {old} feed-forward with {name or ffn_label(ffn)}")


class ReplaceLayers(SpecEdit):
    """Several fields of the same layers at once (a norm placement, a position scheme)."""

    def __init__(self, document: SpecDocument, indices: list[int], layer: Layer, text: str):
        after = _with_layers(document.spec, indices, lambda _: layer)
        super().__init__(document, after, text)


class MergingEdit(SpecEdit):
    """An edit that absorbs the next one of its kind on the same key (a spin box's or a
    slider's steps), so that one drag or one typed value is one undo."""

    ID = 0  # QUndoStack asks mergeWith only of commands with the same id: one per subclass
    key: object = None

    def id(self) -> int:
        return self.ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if type(other) is not type(self) or other.key != self.key:
            return False
        self.after = other.after
        self.setText(other.text())
        return True


class SetLayerField(MergingEdit):
    """One field (a dotted path inside the layer) in every layer of a block."""

    ID = 1

    def __init__(self, document: SpecDocument, indices: list[int], path: str, value: Any):
        after = _with_layers(document.spec, indices, lambda layer: replace_path(layer, path, value))
        super().__init__(document, after, f"Set {path.split('.')[-1]} to {value}{_plural(indices)}")
        self.key = (tuple(indices), path)


class SetSpecField(MergingEdit):
    ID = 2

    def __init__(self, document: SpecDocument, path: str, value: Any):
        super().__init__(document, replace_path(document.spec, path, value), f"Set {path} to {value}")
        self.key = path


class SetFfnFraction(MergingEdit):
    """The MatFormer slider: the nested model at a fraction of the trained FFN width."""

    ID = 3

    def __init__(self, document: SpecDocument, fraction: float):
        super().__init__(document, with_ffn_fraction(document.spec, fraction),
                         f"MatFormer width {fraction:.0%}")


# --- layer groups -----------------------------------------------------------------------


def _group_layers(spec: ArchSpec, group: Group) -> list[Layer]:
    return list(spec.layers[group.start:group.stop])


class SetGroupRepeat(SpecEdit):
    def __init__(self, document: SpecDocument, group_index: int, repeat: int):
        spec, group = document.spec, document.groups[group_index]
        if repeat < 1:
            raise ValueError("a group repeats at least once")
        if len(group.runs) == 1:  # a run of identical layers: its count is the layer count
            period = [group.runs[0].layer]
        else:
            period = list(spec.layers[group.start:group.start + group.period])
        layers = list(spec.layers[:group.start]) + period * repeat + list(spec.layers[group.stop:])
        super().__init__(document, spec.with_layers(layers), f"Repeat {group.label()} {repeat} times")


class InsertGroup(SpecEdit):
    """Insert layers before group `at` (at == len(groups): after the last one)."""

    def __init__(self, document: SpecDocument, at: int, layers: list[Layer], text: str = ""):
        spec, groups = document.spec, document.groups
        position = groups[at].start if at < len(groups) else spec.num_layers
        new = list(spec.layers[:position]) + list(layers) + list(spec.layers[position:])
        super().__init__(document, spec.with_layers(new), text or f"Insert {len(layers)} layers")


class RemoveGroup(SpecEdit):
    def __init__(self, document: SpecDocument, group_index: int):
        spec, group = document.spec, document.groups[group_index]
        new = list(spec.layers[:group.start]) + list(spec.layers[group.stop:])
        super().__init__(document, spec.with_layers(new), f"Remove {group.label()}")


class MoveGroup(SpecEdit):
    """Swap group `group_index` with its neighbour `offset` (-1: earlier, +1: later)."""

    def __init__(self, document: SpecDocument, group_index: int, offset: int):
        spec, groups = document.spec, document.groups
        other = group_index + offset
        if not 0 <= other < len(groups) or offset not in (-1, 1):
            raise ValueError("a group moves past one neighbour at a time")
        first, second = sorted((group_index, other))
        a, b = groups[first], groups[second]
        new = (list(spec.layers[:a.start]) + _group_layers(spec, b) + _group_layers(spec, a)
               + list(spec.layers[b.stop:]))
        direction = "earlier" if offset < 0 else "later"
        super().__init__(document, spec.with_layers(new), f"Move {groups[group_index].label()} {direction}")
