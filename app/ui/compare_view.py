"""The compare view: two architectures side by side, block by block, the boxes that
differ outlined, and a delta table below with the rows that differ highlighted.

Wide models (Llama 4's four-block period, Nemotron 3's long Mamba pattern) are not
shrunk to fit: both diagrams are drawn compact, the n-th block of one at the same x as
the n-th block of the other, scaled to the height of the view (never below a readable
scale), and scroll together.
"""

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
# Below this scale the boxes' 8 pt detail lines drop under ~8 pixels: the view scrolls instead.
MIN_READABLE_SCALE = 0.8
ALIGN_PASSES = 32  # each pass settles at least one more pair of blocks
SCENE_MARGIN = 16.0
MIN_TABLE_HEIGHT = 180  # eight rows of the delta table stay in sight


class CompareView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.preset = QComboBox()
        self.preset.addItem("Article pairs…", None)
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
            combo.setMinimumContentsLength(12)
        splitter = QSplitter(Qt.Vertical)
        self.canvases = QSplitter(Qt.Horizontal)
        self.left, self.right = CanvasView(), CanvasView()
        for side, view, combo in (("A", self.left, self.left_name), ("B", self.right, self.right_name)):
            view.setAcceptDrops(False)
            view.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOn)  # a steady height to fit to
            view.fit_height_scale = MIN_READABLE_SCALE  # F and the View menu's fit keep text readable
            view.arch_scene.compact = True
            view.arch_scene.expandedChanged.connect(self._layout)
            column = QWidget()
            column_layout = QVBoxLayout(column)
            column_layout.setContentsMargins(0, 0, 0, 0)
            column_layout.setSpacing(2)
            header = QHBoxLayout()
            label = QLabel(side)
            label.setObjectName("sectionTitle")
            header.addWidget(label)
            header.addWidget(combo, 1)
            if side == "B":
                header.addWidget(self.preset, 1)
            column_layout.addLayout(header)
            column_layout.addWidget(view, 1)
            self.canvases.addWidget(column)
        self._link_scrolling()
        splitter.addWidget(self.canvases)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["", "A", "B"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setWordWrap(True)  # a long layer pattern wraps rather than being cut
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setMinimumHeight(MIN_TABLE_HEIGHT // 2)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([470, 220])
        self.splitter = splitter
        splitter.splitterMoved.connect(lambda *_: self.fit())
        self.canvases.splitterMoved.connect(lambda *_: self.fit())
        layout.addWidget(splitter, 1)
        self.rows = []
        self.specs: tuple[ArchSpec, ArchSpec] | None = None
        self.preset.activated.connect(self._preset_chosen)
        self.left_name.activated.connect(self._names_chosen)
        self.right_name.activated.connect(self._names_chosen)

    def _link_scrolling(self) -> None:
        """The views share scene rects and scale, so equal scroll values show the same
        blocks side by side."""
        for bar in ("horizontalScrollBar", "verticalScrollBar"):
            a, b = getattr(self.left, bar)(), getattr(self.right, bar)()
            a.valueChanged.connect(b.setValue)
            b.valueChanged.connect(a.setValue)
        for one, other in ((self.left, self.right), (self.right, self.left)):
            one.zoomed.connect(lambda one=one, other=other: self._zoom_alike(one, other))

    def _zoom_alike(self, one: CanvasView, other: CanvasView) -> None:
        other.setTransform(one.transform())
        for bar in ("horizontalScrollBar", "verticalScrollBar"):
            getattr(other, bar)().setValue(getattr(one, bar)().value())

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
        self.left.arch_scene.set_marks(marks_a)
        self.right.arch_scene.set_marks(marks_b)
        self._layout()
        self._fill_table(a, b)
        self.fit()

    def _fill_table(self, a: ArchSpec, b: ArchSpec) -> None:
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
        self.table.resizeRowsToContents()

    def _layout(self) -> None:
        """Line the blocks of the two diagrams up by rank (the pairing the highlights
        use), then give both scenes the same rect so that their scroll positions agree."""
        scenes = (self.left.arch_scene, self.right.arch_scene)
        if any(scene.spec is None for scene in scenes):
            return
        for scene in scenes:
            if scene.block_lefts:
                scene.block_lefts = []
                scene.rebuild()
        for _ in range(ALIGN_PASSES):
            lefts = [scene.placed_lefts for scene in scenes]
            target = [max(pair) for pair in zip(*lefts)]
            if all(placed[:len(target)] == target for placed in lefts):
                break
            for scene in scenes:
                scene.block_lefts = target
                scene.rebuild()
        union = scenes[0].itemsBoundingRect().united(scenes[1].itemsBoundingRect())
        union.adjust(-SCENE_MARGIN, -SCENE_MARGIN, SCENE_MARGIN, SCENE_MARGIN)
        for scene in scenes:
            scene.setSceneRect(union)
        self._share_space()
        self.fit()

    def _share_space(self) -> None:
        """The canvases as tall as their diagrams at full size (no taller: the delta table
        gets the rest) and equally wide."""
        total = sum(self.splitter.sizes())
        if total <= 0:
            return
        view = self.left
        chrome = (self.canvases.height() - view.viewport().height()) if self.canvases.height() else 60
        wanted = int(view.sceneRect().height()) + chrome + 2
        canvases = max(min(wanted, total - MIN_TABLE_HEIGHT), int(total * 0.5))
        self.splitter.setSizes([canvases, total - canvases])
        width = sum(self.canvases.sizes())
        self.canvases.setSizes([width // 2, width - width // 2])

    def fit(self) -> None:
        for view in (self.left, self.right):
            view.fit()

    def highlighted_fields(self) -> list[str]:
        """The delta table's highlighted rows, read back from the widget."""
        return [self.table.item(i, 0).text() for i in range(self.table.rowCount())
                if self.table.item(i, 1).background().color() == QColor(DIFFERS_BACKGROUND)]

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.specs is not None:
            self._share_space()
        self.table.resizeRowsToContents()
        self.fit()
