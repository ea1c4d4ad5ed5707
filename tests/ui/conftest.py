"""Fixtures the window and canvas tests share."""

import gc

import pytest
from PySide6.QtCore import QSettings

from app.ui.canvas import CanvasView
from app.ui.dashboard import Dashboard
from app.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def no_unexpected_dialogs(monkeypatch):
    """A message box nobody answers would hang the suite offscreen: one a test did not
    expect fails it at once with its text (a test that expects one patches it itself)."""
    from PySide6.QtWidgets import QMessageBox

    def unexpected(*args, **kwargs):
        texts = [str(arg) for arg in args[1:] if isinstance(arg, str)]
        raise AssertionError(f"unexpected dialog: {' | '.join(texts)}")

    for name in ("warning", "critical", "information", "question"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(unexpected))


@pytest.fixture
def view(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    return view


@pytest.fixture
def dashboard(qtbot):
    """A Dashboard with its dock widgets, not in a window."""
    board = Dashboard()
    for _title, widget, _name in board.docks():
        qtbot.addWidget(widget)
    yield board
    # Deleted here, in the main thread. Left to the cyclic collector, the QObject could be
    # freed in a later test's model thread, and Qt objects must be deleted in their own.
    board.deleteLater()


@pytest.fixture
def open_window(qtbot, tmp_path):
    """open_window(entry): a shown main window with that catalog entry, fitted, with
    settings and autosave in the test's own folder."""
    def open_(entry: str) -> MainWindow:
        # Earlier tests' Qt garbage is collected here, in the main thread, before this
        # window's model thread starts running the collector.
        gc.collect()
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
        window = MainWindow(settings=settings, autosave_dir=tmp_path / "data", entry=entry)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.fit()
        return window

    return open_
