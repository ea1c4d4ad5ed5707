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
        app.setWindowIcon(application_icon())
    return app


def application_icon():
    from PySide6.QtGui import QIcon

    from ..resources import icon_files

    icon = QIcon()
    for path in icon_files():
        icon.addFile(str(path))
    return icon


def start_window(entry: str | None = None, compare: str | None = None):
    """The main window as the desktop app starts it: shown, with the unsaved edits of a
    session that ended without saving offered back, and what an export killed midway left
    behind finished or removed."""
    _application()
    from .main_window import MainWindow

    window = MainWindow(entry=entry or None)
    window.show()
    if compare:
        window.show_compare(True, compare)
    window.offer_recovery()
    window.finish_interrupted_export()
    return window


def run_app(entry: str | None = None, compare: str | None = None) -> int:
    app = _application()
    window = start_window(entry, compare)  # noqa: F841 -- held until the app quits
    return app.exec()


RUN_TIMEOUT_S = 900


def screenshot(path: str | Path, entry: str | None = None, compare: str | None = None,
               size: tuple[int, int] | None = None, run_tokens: int = 0) -> Path:
    """Render the main window with `entry` open (or comparing it with `compare`) to PNG;
    with run_tokens, after generating that many tokens (a catalog entry with random weights
    at explore scale, or `entry` as a model source), so the dashboard shows the run.
    Needs no display: without one it renders offscreen. Nothing is read from or written
    to the user's settings or autosave."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = _application()
    import tempfile

    from PySide6.QtCore import QSettings

    from ..spec import catalog
    from .main_window import DEFAULT_ENTRY, MainWindow

    source = entry if run_tokens and entry and entry not in catalog.names() else None
    with tempfile.TemporaryDirectory() as scratch:
        settings = QSettings(str(Path(scratch) / "settings.ini"), QSettings.IniFormat)
        window = MainWindow(settings=settings, autosave_dir=Path(scratch),
                            entry=DEFAULT_ENTRY if source else entry or DEFAULT_ENTRY)
        window.resize(*(size or ((1600, 1000) if run_tokens else (1280, 800))))
        window.show()
        if compare:
            window.show_compare(True, compare)
        for _ in range(3):
            app.processEvents()
        if run_tokens:
            run_and_wait(window, run_tokens, source)
        window.fit()
        app.processEvents()
        path = Path(path)
        if not window.grab().save(str(path)):
            raise OSError(f"could not write {path}")
        window.close()
        window.deleteLater()
        app.processEvents()
    return path


def run_and_wait(window, tokens: int, source: str | None = None, timeout_s: float = RUN_TIMEOUT_S,
                 stop_at_eos: bool = True) -> dict:
    """Run the window's run panel (the canvas architecture at explore scale, or `source`)
    for `tokens` tokens and wait for the end; the finished snapshot, or RuntimeError with
    the run's failure."""
    from PySide6.QtCore import QEventLoop, QTimer

    panel = window.run_panel
    if source is None:
        panel.set_source("canvas")
        panel.scale.setCurrentIndex(panel.scale.findData("explore"))
    elif source.startswith("embedded:"):
        panel.set_source(source)
    else:
        kind = "gguf" if source.endswith(".gguf") else "directory" if Path(source).is_dir() else "hub"
        panel.set_source(kind, source)
    panel.max_new_tokens.setValue(tokens)
    panel.stop_at_eos.setChecked(stop_at_eos)
    failures: list[str] = []
    loop = QEventLoop()
    window.runs.failed.connect(failures.append)
    window.runs.busyChanged.connect(lambda busy: busy or loop.quit())
    QTimer.singleShot(int(timeout_s * 1e3), loop.quit)
    panel.request_run()
    if panel.message.text() and not window.runs.busy:
        raise RuntimeError(panel.message.text())  # the panel refused a field
    if window.runs.busy:
        loop.exec()
    if failures:
        raise RuntimeError(failures[-1])
    if window.runs.busy:
        window.runs.stop()
        raise RuntimeError(f"the run did not finish within {timeout_s:.0f} s")
    return window.runs.snapshot
