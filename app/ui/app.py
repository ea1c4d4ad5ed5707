"""Starting the desktop app, and rendering it to a PNG for `archscope --screenshot`."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _application():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("ArchScope")
        app.setOrganizationName("ArchScope")
    return app


def run_app(entry: str | None = None, compare: str | None = None) -> int:
    app = _application()
    from .main_window import MainWindow

    window = MainWindow(entry=entry or None)
    window.show()
    if compare:
        window.show_compare(True, compare)
    window.offer_recovery()
    return app.exec()


def screenshot(path: str | Path, entry: str | None = None, compare: str | None = None,
               size: tuple[int, int] = (1280, 800)) -> Path:
    """Render the main window with `entry` open (or comparing it with `compare`) to PNG.
    Needs no display: without one it renders offscreen. Nothing is read from or written
    to the user's settings or autosave."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = _application()
    import tempfile

    from PySide6.QtCore import QSettings

    from .main_window import DEFAULT_ENTRY, MainWindow

    with tempfile.TemporaryDirectory() as scratch:
        settings = QSettings(str(Path(scratch) / "settings.ini"), QSettings.IniFormat)
        window = MainWindow(settings=settings, autosave_dir=Path(scratch), entry=entry or DEFAULT_ENTRY)
        window.resize(*size)
        window.show()
        if compare:
            window.show_compare(True, compare)
        for _ in range(3):
            app.processEvents()
        window.fit()
        app.processEvents()
        path = Path(path)
        if not window.grab().save(str(path)):
            raise OSError(f"could not write {path}")
        window.close()
        window.deleteLater()
        app.processEvents()
    return path
