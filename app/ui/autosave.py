"""When to autosave an edited document: a short while after the editing pauses, and never
later than a bound after the first edit not yet written, so continuous editing is saved too.

It listens to the undo stack itself, after each push, undo or redo has been done (its
`indexChanged`), and asks the stack whether it is clean then; a view's "document changed"
signal comes from inside `push()`, while the stack still reads clean after opening or
saving, and would miss the first edit.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack
from shiboken6 import isValid

# Long enough that a drag of a spin box is one write, not one per value it passes.
AUTOSAVE_IDLE_MS = 800
# An edit is on disk at most this long after it was made, however busy the editing; below
# the two seconds that twenty quick edits (a held Ctrl+Z, a spin box's arrow) take.
AUTOSAVE_LONGEST_MS = 1500


class AutosaveSchedule(QObject):
    """Emits `due` when the unsaved edits of `undo_stack` should be written."""

    due = Signal()

    def __init__(self, undo_stack: QUndoStack, idle_ms: int = AUTOSAVE_IDLE_MS,
                 longest_ms: int = AUTOSAVE_LONGEST_MS, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = undo_stack
        self.idle = QTimer(self, singleShot=True, interval=idle_ms)
        self.deadline = QTimer(self, singleShot=True, interval=longest_ms)
        self.idle.timeout.connect(self._fire)
        self.deadline.timeout.connect(self._fire)
        undo_stack.indexChanged.connect(self._stack_moved)
        undo_stack.cleanChanged.connect(self._clean_changed)

    @property
    def pending(self) -> bool:
        return self.idle.isActive() or self.deadline.isActive()

    def _stack_moved(self, _index: int) -> None:
        # a stack being destroyed with its window clears itself, and says so, on its way out
        if not isValid(self.undo_stack) or self.undo_stack.isClean():
            return
        self.idle.start()  # restarted by every edit ...
        if not self.deadline.isActive():  # ... the deadline only by the first one since a write
            self.deadline.start()

    def _clean_changed(self, clean: bool) -> None:
        if clean:  # saved (or undone back to the saved state): nothing is left to write
            self.cancel()

    def cancel(self) -> None:
        self.idle.stop()
        self.deadline.stop()

    def _fire(self) -> None:
        self.cancel()
        if isValid(self.undo_stack) and not self.undo_stack.isClean():
            self.due.emit()
