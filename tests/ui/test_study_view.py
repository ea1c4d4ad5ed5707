"""A study's result in the window: the question, the answer and the figures as drawn plots,
and a report folder saved from it."""

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

from app.studies.registry import STUDIES
from app.studies.study import Settings
from app.ui.study_view import EMPTY_TEXT, StudyView


def test_the_view_shows_the_answer_and_figures_and_saves_the_report(qtbot, tmp_path):
    view = StudyView()
    qtbot.addWidget(view)
    assert EMPTY_TEXT in view.widget().text()
    result = STUDIES["sliding-window-latency"].run(Settings(quick=True, size="tiny", device="cpu"))
    view.show_result(result.to_dict())
    texts = " ".join(label.text() for label in view.widget().findChildren(QLabel))
    assert result.answer in texts and result.question in texts
    plots = view.widget().findChildren(pg.GraphicsLayoutWidget)
    assert len(plots) == len(result.figures) == 2
    written = view.save_report(tmp_path / "report")
    names = {path.name for path in written}
    assert {"report.md", "data.json", "kv-cache.png", "kv-cache.svg", "decode-time.png", "decode-time.svg"} <= names
