"""The component palette: every drop-able component, grouped by kind, dragged onto
the canvas as MIME data naming its palette key; and the layer groups (whole patterns
of layers, sized from the open spec) that a drag inserts between the canvas's groups."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem

from ..spec import ArchSpec
from . import theme
from .palette_drops import MIME_TYPE, PALETTE
from .group_templates import GROUP_KINDS, GROUP_PREFIX, templates_for

GROUPS_TITLE = "Layer groups"
GROUP_COLOUR_KIND = {"dense": "ffn", "moe": "moe", "sliding": "sliding", "linear": "linear"}
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
        self.setToolTip("Drag a component onto a box of the canvas to replace it, "
                        "or a layer group between two groups to insert it")
        groups = self._category(GROUPS_TITLE)
        self.group_items: dict[str, QTreeWidgetItem] = {}
        for key, title, tooltip in GROUP_KINDS:
            self.group_items[GROUP_PREFIX + key] = self._child(groups, GROUP_PREFIX + key, title, tooltip,
                                                               GROUP_COLOUR_KIND[key])
        categories: dict[str, QTreeWidgetItem] = {}
        for item in PALETTE:
            if item.category not in categories:
                categories[item.category] = self._category(CATEGORY_TITLES[item.category])
            kind = {"mla": "mla", "sliding": "sliding", "moe": "moe", "moe_shared": "moe"}.get(
                item.key, theme.CATEGORY_KIND[item.category])
            self._child(categories[item.category], item.key, item.title, item.tooltip, kind)
        self.expandAll()

    def _category(self, title: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self, [title])
        item.setFlags(Qt.ItemIsEnabled)
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        return item

    def _child(self, parent: QTreeWidgetItem, key: str, title: str, tooltip: str, kind: str) -> QTreeWidgetItem:
        child = QTreeWidgetItem(parent, [title])
        child.setData(0, KEY_ROLE, key)
        child.setToolTip(0, tooltip)
        child.setBackground(0, QBrush(theme.fill(kind)))
        child.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
        return child

    def set_spec(self, spec: ArchSpec) -> None:
        """Say what each layer group would insert into `spec` (its pattern, sized from the
        model). The items stay the same objects: a drag from one may still be running."""
        for template in templates_for(spec):
            item = self.group_items[template.key]
            item.setText(0, f"{template.title}\n{template.pattern}")
            item.setToolTip(0, f"{template.tooltip}\nInserts {template.pattern} ({len(template.layers)} layers, "
                               "sized from this model); drop it between two groups of the canvas")

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
