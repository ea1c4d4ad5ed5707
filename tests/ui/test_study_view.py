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


def test_the_studies_menu_runs_one_on_the_worker_and_shows_it_in_the_study_dock(qtbot, open_window):
    from PySide6.QtWidgets import QDockWidget

    window = open_window("gpt2-small")
    menu = next(action.menu() for action in window.menuBar().actions() if action.text() == "&Studies")
    titles = [action.text() for action in menu.actions() if action.text()]
    assert titles[0] == "&Quick runs" and window.quick_studies.isChecked()
    assert any("(§16)" in title for title in titles) and len(titles) == 1 + len(STUDIES)
    window.run_panel.device.setCurrentIndex(window.run_panel.device.findData("cpu"))
    with qtbot.waitSignal(window.runs.studied, timeout=120_000):
        window.runs.run_study("sparse-attention", quick=True, size="tiny")
        assert window.runs.busy
    dock = window.findChild(QDockWidget, "studyDock")
    assert dock.isVisible() and not window.runs.busy
    texts = " ".join(label.text() for label in window.study_view.widget().findChildren(QLabel))
    assert "Answer." in texts and "sparse" in texts.lower()
