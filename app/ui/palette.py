"""The component palette: every drop-able component, grouped by kind, dragged onto
the canvas as MIME data naming its palette key."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem

from . import theme
from .components import MIME_TYPE, PALETTE

CATEGORY_TITLES = {"attention": "Attention", "linear": "Linear / state-space mixers", "ffn": "Feed-forward",
                   "norm": "Normalization", "position": "Positions and QK-norm"}
KEY_ROLE = Qt.UserRole + 1


class PaletteWidget(QTreeWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.setRootIsDecorated(False)
        self.setIndentation(10)
        self.setToolTip("Drag a component onto a box of the canvas to replace it")
        categories: dict[str, QTreeWidgetItem] = {}
        for item in PALETTE:
            parent_item = categories.get(item.category)
            if parent_item is None:
                parent_item = QTreeWidgetItem(self, [CATEGORY_TITLES[item.category]])
                parent_item.setFlags(Qt.ItemIsEnabled)
                font = parent_item.font(0)
                font.setBold(True)
                parent_item.setFont(0, font)
                categories[item.category] = parent_item
            child = QTreeWidgetItem(parent_item, [item.title])
            child.setData(0, KEY_ROLE, item.key)
            child.setToolTip(0, item.tooltip)
            kind = {"mla": "mla", "sliding": "sliding", "moe": "moe", "moe_shared": "moe"}.get(
                item.key, theme.CATEGORY_KIND[item.category])
            child.setBackground(0, QBrush(theme.fill(kind)))
            child.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
        self.expandAll()

    def mimeTypes(self) -> list[str]:
        return [MIME_TYPE]

    def mimeData(self, items) -> QMimeData:
        data = QMimeData()
        keys = [item.data(0, KEY_ROLE) for item in items if item.data(0, KEY_ROLE)]
        if keys:
            data.setData(MIME_TYPE, keys[0].encode())
            data.setText(keys[0])
        return data

    @staticmethod
    def mime_for(key: str) -> QMimeData:
        """What a drag of palette item `key` carries (tests build drops with it)."""
        data = QMimeData()
        data.setData(MIME_TYPE, key.encode())
        data.setText(key)
        return data
