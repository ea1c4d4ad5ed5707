"""A study's result in the window: its question, its one-line answer, its figures and notes,
and a button that writes the report folder (report.md, data.json, each arm's run as a snapshot, PNG and
SVG figures)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..studies.report import write_report
from ..studies.study import StudyResult
from . import theme
from .study_figures import figure_widget, render_figure

FIGURE_HEIGHT = 260  # pixels: a figure's axes and legend legible at any dock width
EMPTY_TEXT = ("Run a study from the Studies menu: each answers one of the comparison's questions by "
              "measuring the models it needs on this machine.")


class StudyView(QScrollArea):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        # The text wraps and the figures stack to the dock's width: it scrolls down, never across.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.result: StudyResult | None = None
        self._show_empty()

    def _show_empty(self) -> None:
        note = QLabel(EMPTY_TEXT)
        note.setWordWrap(True)
        note.setAlignment(Qt.AlignCenter)
        note.setStyleSheet(f"color: {theme.MUTED_TEXT}; padding: 24px;")
        self.setWidget(note)

    def show_result(self, document: dict) -> None:
        """Draw a study's result (as the worker hands it over, or as data.json holds it)."""
        self.result = result = StudyResult.from_dict(document)
        page = QWidget()
        column = QVBoxLayout(page)
        title = QLabel(f"<b>{result.title}</b> &nbsp; <span style='color:{theme.MUTED_TEXT}'>"
                       f"{result.section}{' · quick' if result.quick else ''} · {result.device}</span>")
        question = QLabel(f"<i>{result.question}</i>")
        answer = QLabel(f"<b>Answer.</b> {result.answer}")
        for label in (title, question, answer):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            column.addWidget(label)
        for figure in result.figures:
            widget = figure_widget(figure)
            widget.setMinimumSize(0, FIGURE_HEIGHT)
            column.addWidget(widget)
        if result.notes:
            notes = QLabel("<br>".join(result.notes))
            notes.setWordWrap(True)
            notes.setStyleSheet(f"color: {theme.MUTED_TEXT};")
            column.addWidget(notes)
        save = QPushButton("Save report…")
        save.setToolTip("Write report.md, data.json, each arm's run (a snapshot File > Open shows) and the figures "
                        "(PNG and SVG) to a folder")
        save.clicked.connect(self.save_dialog)
        column.addWidget(save, alignment=Qt.AlignRight)
        self.setWidget(page)

    def save_report(self, folder: str | Path) -> list[Path]:
        return write_report(self.result, Path(folder), render_figure)

    def save_dialog(self) -> None:
        if self.result is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Save the study's report in")
        if not folder:
            return
        target = Path(folder) / self.result.study
        try:
            written = self.save_report(target)
        except OSError as error:
            QMessageBox.warning(self, "Report not saved", f"Could not write the report to {target}: {error}")
            return
        QMessageBox.information(self, "Report saved", f"Wrote {len(written)} files to {target}")
