"""The catalog browser: every entry, a search box and feature filters."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..spec import ArchSpec, catalog
from ..spec.mixers import known_mixer
from ..units import human_count

FEATURES = ("MoE", "MLA", "sliding window", "linear attention", "NoPE", "shared expert")


def features(spec: ArchSpec) -> set[str]:
    found = set()
    for layer in spec.layers:
        mixer, ffn = layer.mixer, layer.ffn
        if layer.ffn_kind == "moe":
            found.add("MoE")
            if ffn.shared is not None:
                found.add("shared expert")
        if mixer is None:
            continue
        known_mixer(mixer)
        if layer.mixer_kind == "mla":
            found.add("MLA")
        if mixer.is_local:
            found.add("sliding window")
        if mixer.recurrent:
            found.add("linear attention")
        if mixer.position_kind == "NoPE" and not spec.learned_positions:
            found.add("NoPE")
    return found


@cache
def _entry_summary(name: str) -> tuple[str, frozenset[str], str]:
    spec = catalog.get(name)
    entry = catalog.entry(name)
    from ..spec.analysis import analyze

    analysis = analyze(spec)
    size = human_count(analysis.total_params)
    if analysis.active_params != analysis.total_params:
        size += f" / {human_count(analysis.active_params)} active"
    return entry.title, frozenset(features(spec)), f"{entry.family} · {spec.num_layers} layers · {size}"


class CatalogBrowser(QWidget):
    entryActivated = Signal(str)  # a catalog slug

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search models…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Filter by name or family")
        layout.addWidget(self.search)
        grid = QGridLayout()
        grid.setSpacing(2)
        self.filters: dict[str, QCheckBox] = {}
        for index, feature in enumerate(FEATURES):
            box = QCheckBox(feature)
            box.setToolTip(f"Only models with {feature}")
            grid.addWidget(box, index // 2, index % 2)
            box.toggled.connect(self.refilter)
            self.filters[feature] = box
        layout.addLayout(grid)
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        # a title wider than the dock ends in "…" (the tooltip has it whole), not cut mid-letter
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.ElideRight)
        layout.addWidget(self.list, 1)
        for name in catalog.names():
            title, _, detail = _entry_summary(name)
            item = QListWidgetItem(title)
            item.setData(Qt.UserRole, name)
            item.setToolTip(f"{title}\n{name}\n{detail}")
            self.list.addItem(item)
        self.search.textChanged.connect(self.refilter)
        self.list.itemActivated.connect(lambda item: self.entryActivated.emit(item.data(Qt.UserRole)))
        self.list.itemClicked.connect(lambda item: self.entryActivated.emit(item.data(Qt.UserRole)))

    def visible_names(self) -> list[str]:
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())
                if not self.list.item(i).isHidden()]

    def select(self, name: str | None) -> None:
        """Highlight the entry `name`, or none (the canvas holds a model that is no entry)."""
        self.list.setCurrentRow(-1)
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.UserRole) == name:
                self.list.setCurrentRow(i)

    def refilter(self) -> None:
        text = self.search.text().strip().lower()
        wanted = {feature for feature, box in self.filters.items() if box.isChecked()}
        for i in range(self.list.count()):
            item = self.list.item(i)
            name = item.data(Qt.UserRole)
            title, found, detail = _entry_summary(name)
            matches = not text or text in name or text in title.lower() or text in detail.lower()
            item.setHidden(not (matches and wanted <= found))
