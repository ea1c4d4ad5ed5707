"""CanvasView: zoom (Ctrl+wheel, Ctrl+=/-), pan (drag the background), fit (F), export
to PNG/SVG, and palette drops onto the slot under the cursor.

A drop is not applied here: the view asks its `drop_handler(key, item)` (the main
window's editor) which returns None when the edit was made, or the reason it was refused.
A layer group from the palette goes between groups, not on a box: the view asks
`insert_handler(key, at)` with the group boundary nearest the cursor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsView, QToolTip

from ..palette_drops import MIME_TYPE
from ..group_templates import is_group_key
from .items import BoxItem, FrameItem, text_drawn_afresh
from .scene import ArchitectureScene

MIN_SCALE, MAX_SCALE = 0.1, 6.0
FIT_LEAST_SCALE = 0.6  # below this a box's text is specks: F scrolls a wider diagram instead


class CanvasView(QGraphicsView):
    message = Signal(str)  # a refused drop's reason, an export's path
    slotSelected = Signal(object)  # the BoxItem selected, or None
    zoomed = Signal()  # the user zoomed (the compare view zooms the other side alike)

    def __init__(self, scene: ArchitectureScene | None = None, parent=None):
        super().__init__(parent)
        self.setScene(scene or ArchitectureScene(self))
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setAcceptDrops(True)
        self.drop_handler: Callable[[str, BoxItem], str | None] | None = None
        self.drop_checker: Callable[[str, BoxItem], str | None] | None = None
        self.insert_handler: Callable[[str, int], str | None] | None = None
        self.insert_checker: Callable[[str, int], str | None] | None = None
        self._hover: BoxItem | None = None
        self.fit_on_change = True
        self.fit_height_scale: float | None = None  # set: fit() fills the height, not below this scale
        self.scene().selectionChanged.connect(self._selection_changed)

    @property
    def arch_scene(self) -> ArchitectureScene:
        return self.scene()

    # --- zoom and pan -------------------------------------------------------------------------

    def zoom(self, factor: float) -> None:
        current = self.transform().m11()
        factor = max(MIN_SCALE / current, min(MAX_SCALE / current, factor))
        self.scale(factor, factor)
        self.zoomed.emit()

    def zoom_in(self) -> None:
        self.zoom(1.25)

    def zoom_out(self) -> None:
        self.zoom(0.8)

    def reset_zoom(self) -> None:
        self.resetTransform()
        self.zoomed.emit()

    def fit(self) -> None:
        if self.fit_height_scale is not None:
            self.fit_height(self.fit_height_scale)
            return
        rect = self.scene().itemsBoundingRect().adjusted(-12, -12, 12, 12)
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.KeepAspectRatio)
        if self.transform().m11() > 1.3:  # a small model is not blown up past legibility
            self.resetTransform()
            self.scale(1.3, 1.3)
            self.centerOn(rect.center())
        elif self.transform().m11() < FIT_LEAST_SCALE:
            # A diagram too wide to fit legibly (Nemotron 3 Nano's three groups, an expanded
            # group) is shown from its input end at a scale its boxes can be read at, and
            # scrolls, rather than shrinking to a strip of specks.
            self.resetTransform()
            self.scale(FIT_LEAST_SCALE, FIT_LEAST_SCALE)
            self.centerOn(rect.center())
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().minimum())

    def fit_height(self, min_scale: float, max_scale: float = 1.0) -> None:
        """Scale the scene's height to the view, never below min_scale (where its text stops
        being readable), and show its left end: a wide diagram is a horizontal scroll."""
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        scale = max(min_scale, min(max_scale, self.viewport().height() / rect.height()))
        self.resetTransform()
        self.scale(scale, scale)
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().minimum())

    def keyPressEvent(self, event) -> None:
        # keys of a standalone view (the compare view's); in the main window the View
        # menu's shortcuts for the same keys act first
        control = bool(event.modifiers() & Qt.ControlModifier)
        actions = {(Qt.Key_F, False): self.fit, (Qt.Key_Equal, True): self.zoom_in, (Qt.Key_Plus, True): self.zoom_in,
                   (Qt.Key_Minus, True): self.zoom_out, (Qt.Key_0, True): self.reset_zoom}
        action = actions.get((event.key(), control))
        if action is not None:
            action()
            event.accept()
            return
        super().keyPressEvent(event)

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.ControlModifier:
            self.zoom(1.0015 ** event.angleDelta().y())
            event.accept()
            return
        super().wheelEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        for item in self.items(event.position().toPoint()):
            if isinstance(item, FrameItem) and item.kind in ("group", "block") and item.group_index >= 0:
                self.arch_scene.toggle_expanded(item.group_index)
                event.accept()
                return
        super().mouseDoubleClickEvent(event)

    def _selection_changed(self) -> None:
        selected = [item for item in self.scene().selectedItems() if isinstance(item, BoxItem)]
        self.slotSelected.emit(selected[0] if selected else None)

    # --- drops --------------------------------------------------------------------------------

    def slot_at(self, position) -> BoxItem | None:
        for item in self.items(position):
            if isinstance(item, BoxItem) and item.slot:
                return item
        return None

    @staticmethod
    def _key(event) -> str:
        data = event.mimeData()
        return bytes(data.data(MIME_TYPE)).decode() if data.hasFormat(MIME_TYPE) else ""

    def _set_hover(self, item: BoxItem | None, state: str = "") -> None:
        if self._hover is not None and self._hover is not item:
            self._hover.set_drop_state("")
        self._hover = item
        if item is not None:
            item.set_drop_state(state)

    def dragEnterEvent(self, event) -> None:
        if self._key(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def _insertion_at(self, event) -> int:
        return self.arch_scene.insertion_index(self.mapToScene(event.position().toPoint()).x())

    def _refuse(self, event, reason: str) -> None:
        QToolTip.showText(self.mapToGlobal(event.position().toPoint()), reason, self)
        event.ignore()

    def dragMoveEvent(self, event) -> None:
        key = self._key(event)
        if key and is_group_key(key):
            at = self._insertion_at(event)
            reason = self.insert_checker(key, at) if self.insert_checker else "this canvas is read-only"
            self.arch_scene.show_insertion(at, refused=bool(reason))
            if reason:
                self._refuse(event, reason)
            else:
                event.acceptProposedAction()
            return
        item = self.slot_at(event.position().toPoint()) if key else None
        if item is None:
            self._set_hover(None)
            event.ignore()
            return
        reason = self.drop_checker(key, item) if self.drop_checker else None
        self._set_hover(item, "refused" if reason else "ok")
        if reason:
            self._refuse(event, reason)
        else:
            event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:
        self._set_hover(None)
        self.arch_scene.show_insertion(None)
        event.accept()

    def dropEvent(self, event) -> None:
        key = self._key(event)
        self.arch_scene.show_insertion(None)
        if key and is_group_key(key):
            handler = self.insert_handler or (lambda _key, _at: "this canvas is read-only")
            self._finish_drop(event, handler(key, self._insertion_at(event)))
            return
        item = self.slot_at(event.position().toPoint()) if key else None
        self._set_hover(None)
        if item is None:
            self.message.emit("Drop a component on a box of a block")
            event.ignore()
            return
        self._finish_drop(event, self.drop_handler(key, item) if self.drop_handler else "this canvas is read-only")

    def _finish_drop(self, event, reason: str | None) -> None:
        if reason:
            self.message.emit(f"Refused: {reason}")
            event.ignore()
        else:
            event.acceptProposedAction()

    # --- export -------------------------------------------------------------------------------

    def export(self, path: str | Path) -> Path:
        """The whole diagram (not just the visible part) as PNG (2x) or SVG, by suffix."""
        path = Path(path)
        rect = self.scene().itemsBoundingRect().adjusted(-20, -20, 20, 20)
        if path.suffix.lower() == ".svg":
            from PySide6.QtSvg import QSvgGenerator

            generator = QSvgGenerator()
            generator.setFileName(str(path))
            generator.setSize(QSize(int(rect.width()), int(rect.height())))
            generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
            generator.setTitle(self.arch_scene.spec.name if self.arch_scene.spec else "ArchScope")
            painter = QPainter(generator)
            with text_drawn_afresh(self.scene()):  # as text, not as the caches' pixmaps
                self.scene().render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
            painter.end()
        else:
            image = QImage(int(rect.width() * 2), int(rect.height() * 2), QImage.Format_ARGB32)
            image.fill(QColor("white"))
            painter = QPainter(image)
            painter.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
            with text_drawn_afresh(self.scene()):  # at the export's 2x, not the screen's scale
                self.scene().render(painter, QRectF(0, 0, image.width(), image.height()), rect)
            painter.end()
            if not image.save(str(path)):
                raise OSError(f"could not write {path}")
        self.message.emit(f"Exported {path}")
        return path
