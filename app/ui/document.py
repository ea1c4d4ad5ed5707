"""The document being edited: the current ArchSpec, its undo stack and file path.

Views never change the spec directly: they push a command (see `commands`) on
`undo_stack`, whose redo/undo call `_set_spec`, and redraw on `changed`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from ..spec import ArchSpec
from .grouping import Group, group_layers


class SpecDocument(QObject):
    changed = Signal()  # the spec changed (an edit, an undo, or a new document)
    loaded = Signal()  # a different document replaced this one

    def __init__(self, spec: ArchSpec, path: Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self._spec = spec
        self._groups: list[Group] | None = None
        self.path = path

    @property
    def spec(self) -> ArchSpec:
        return self._spec

    @property
    def groups(self) -> list[Group]:
        if self._groups is None:
            self._groups = group_layers(self._spec.layers)
        return self._groups

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    def load(self, spec: ArchSpec, path: Path | None = None) -> None:
        """A new document: the history of the old one is dropped."""
        self.undo_stack.clear()
        self.path = path
        self._set_spec(spec)
        self.loaded.emit()

    def _set_spec(self, spec: ArchSpec) -> None:
        self._spec = spec
        self._groups = None
        self.changed.emit()
