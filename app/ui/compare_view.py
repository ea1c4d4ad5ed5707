"""The compare view: two architectures side by side, block by block, the boxes that
differ outlined, and a delta table below with the rows that differ highlighted."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..spec import ArchSpec, catalog
from .canvas import CanvasView
from .compare_model import PRESETS, delta_rows, differing_slots, preset_title

DIFFERS_BACKGROUND = "#fff0e6"


class CompareView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.preset = QComboBox()
        self.preset.addItem("Preset pairs from the article…", None)
        for pair in PRESETS:
            self.preset.addItem(preset_title(pair), pair)
        self.preset.setToolTip("The comparisons the article makes")
        self.left_name, self.right_name = QComboBox(), QComboBox()
        for combo in (self.left_name, self.right_name):
            for name in catalog.names():
                combo.addItem(catalog.entry(name).title, name)
            combo.setToolTip("Any catalog entry")
        for combo in (self.preset, self.left_name, self.right_name):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
        bar.addWidget(self.preset, 2)
        bar.addWidget(self.left_name, 1)
        bar.addWidget(QLabel("vs"))
        bar.addWidget(self.right_name, 1)
        layout.addLayout(bar)
        splitter = QSplitter(Qt.Vertical)
        canvases = QSplitter(Qt.Horizontal)
        self.left, self.right = CanvasView(), CanvasView()
        for view in (self.left, self.right):
            view.setAcceptDrops(False)
            canvases.addWidget(view)
        splitter.addWidget(canvases)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["", "A", "B"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(20)
        splitter.addWidget(self.table)
        splitter.setSizes([430, 260])
        layout.addWidget(splitter, 1)
        self.rows = []
        self.specs: tuple[ArchSpec, ArchSpec] | None = None
        self.preset.activated.connect(self._preset_chosen)
        self.left_name.activated.connect(self._names_chosen)
        self.right_name.activated.connect(self._names_chosen)

    def _preset_chosen(self, index: int) -> None:
        pair = self.preset.itemData(index)
        if pair:
            self.compare_names(*pair)

    def _names_chosen(self, _index: int = 0) -> None:
        self.compare_names(self.left_name.currentData(), self.right_name.currentData())

    def compare_names(self, a: str, b: str) -> None:
        for combo, name in ((self.left_name, a), (self.right_name, b)):
            combo.setCurrentIndex(combo.findData(name))
        self.compare(catalog.get(a), catalog.get(b))

    def compare(self, a: ArchSpec, b: ArchSpec) -> None:
        self.specs = (a, b)
        for combo, spec in ((self.left_name, a), (self.right_name, b)):
            index = combo.findData(spec.name)
            if index >= 0:
                combo.setCurrentIndex(index)
        self.left.arch_scene.set_spec(a)
        self.right.arch_scene.set_spec(b)
        marks_a, marks_b = differing_slots(a, b)
        for view, marks in ((self.left, marks_a), (self.right, marks_b)):
            for item in view.arch_scene.slot_items:
                item.highlighted = (item.group_index, item.run_index, item.slot) in marks
                item.update()
        self.rows = delta_rows(a, b)
        self.table.setHorizontalHeaderLabels(["", a.name, b.name])
        self.table.setRowCount(len(self.rows))
        bold = QFont()
        bold.setBold(True)
        for index, row in enumerate(self.rows):
            cells = [QTableWidgetItem(row.field), QTableWidgetItem(row.text_a), QTableWidgetItem(row.text_b)]
            for column, cell in enumerate(cells):
                cell.setToolTip(cell.text())
                if row.differs:
                    cell.setBackground(QBrush(QColor(DIFFERS_BACKGROUND)))
                    if column:
                        cell.setFont(bold)
                self.table.setItem(index, column, cell)
        self.fit()

    def fit(self) -> None:
        self.left.fit()
        self.right.fit()

    def highlighted_fields(self) -> list[str]:
        """The delta table's highlighted rows, read back from the widget."""
        return [self.table.item(i, 0).text() for i in range(self.table.rowCount())
                if self.table.item(i, 1).background().color() == QColor(DIFFERS_BACKGROUND)]

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()
