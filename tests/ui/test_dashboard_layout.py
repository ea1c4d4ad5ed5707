"""The dashboard as a first start lays it out: at 1280x800 and at 1600x1000, before and
after a run, every plot of every dock (each tab raised in turn) has a view box a person can
read, and no axis title or legend runs past the plot it belongs to."""

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF, QSettings
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDockWidget

from app.ui.app import run_and_wait
from app.ui.dashboard.plots import EXPORT_SIZE, TOO_SMALL_TEXT
from app.ui.main_window import MainWindow

LEGIBLE_VIEW_PX = 120  # a view box's least height: below it ticks collide and a heatmap's rows blur


def plots_of(view) -> list[pg.PlotItem]:
    return [item for item in view.layout.items if isinstance(item, pg.PlotItem)]


def inside(inner: QRectF, outer: QRectF, slack: float = 1.0) -> bool:
    return outer.adjusted(-slack, -slack, slack, slack).contains(inner)


def title_fits(title: QRectF, axis: QRectF, side: str, visible: QRectF) -> bool:
    """An axis title is whole when it lies in the visible scene and no longer than its axis
    (pyqtgraph draws a longer one past the axis' ends, into the next plot or off the view)."""
    along = (title.top() >= axis.top() - 1 and title.bottom() <= axis.bottom() + 1) if side == "left" else (
        title.left() >= axis.left() - 1 and title.right() <= axis.right() + 1)
    return along and inside(title, visible)


def layout_problems(window: MainWindow, qtbot) -> list[str]:
    """What a person would not be able to read, per dock with its tab raised."""
    problems = []
    for view in window.dashboard.plots:
        dock = window.findChild(QDockWidget, view.object_name)
        dock.raise_()
        qtbot.wait(100)  # the raised tab takes the tab group's size
        if view.too_small.isVisible():
            problems.append(f"{view.title}: says it is too small ({view.widget.width()}x{view.widget.height()})")
        visible = view.widget.mapToScene(view.widget.viewport().rect()).boundingRect()
        for plot in plots_of(view):
            box = plot.getViewBox().sceneBoundingRect()
            if box.height() < LEGIBLE_VIEW_PX:
                problems.append(f"{view.title}: a view box {box.width():.0f}x{box.height():.0f} px")
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                label = axis.label
                if axis.isVisible() and label.isVisible() and label.toPlainText().strip():
                    if not title_fits(label.sceneBoundingRect(), axis.sceneBoundingRect(), name, visible):
                        problems.append(f"{view.title}: the {name} title {label.toPlainText()!r} is clipped")
            legend = plot.legend
            if legend is not None and legend.items and legend.isVisible():
                if not inside(legend.sceneBoundingRect(), plot.getViewBox().sceneBoundingRect()):
                    problems.append(f"{view.title}: the legend runs past its plot")
    return problems


@pytest.fixture
def first_start(qtbot, tmp_path):
    """A window as a first start shows it: no saved layout."""
    windows = []

    def open_(width: int, height: int) -> MainWindow:
        settings = QSettings(str(tmp_path / f"first-{width}.ini"), QSettings.IniFormat)
        window = MainWindow(settings=settings, autosave_dir=tmp_path / "data", entry="deepseek-v3")
        qtbot.addWidget(window)
        window.resize(width, height)
        window.show()
        qtbot.waitExposed(window)
        window.run_panel.device.setCurrentIndex(window.run_panel.device.findData("cpu"))
        windows.append(window)
        return window

    yield open_
    for window in windows:
        window.runs.shutdown()


@pytest.mark.parametrize("size", [(1280, 800), (1600, 1000)])
def test_every_plot_is_legible_in_the_default_layout_before_and_after_a_run(first_start, qtbot, size):
    window = first_start(*size)
    assert layout_problems(window, qtbot) == []
    run_and_wait(window, 6)  # explore DeepSeek V3: MoE, so the routing plot has data too
    panel = window.run_panel
    panel.contexts.setText("16, 48")
    panel.batches.setText("1, 2")
    for request in (panel.request_sweep, panel.request_batch_sweep):  # their legends name the model
        with qtbot.waitSignal(window.runs.busyChanged, timeout=300_000, check_params_cb=lambda busy: not busy):
            request()
    assert window.dashboard.plotted()["sweep"] and window.dashboard.plotted()["batch_sweep"]
    assert layout_problems(window, qtbot) == []


def test_an_export_writes_every_plot_at_one_size_whether_its_tab_is_raised_or_not(first_start, qtbot, tmp_path):
    window = first_start(1280, 800)
    run_and_wait(window, 4)
    window.findChild(QDockWidget, "latencyDock").raise_()  # Memory, Throughput, ... behind other tabs
    qtbot.wait(100)
    docks_before = {view.slug: view.widget.size() for view in window.dashboard.plots}
    written = [path for path in window.export_profile(tmp_path, "run") if path.name.startswith("run-")
               and path.suffix == ".png" and path.name != "run-window.png"]
    assert {path.stem.removeprefix("run-") for path in written} >= {"latency", "memory", "kv", "routing", "throughput"}
    for path in written:
        image = QImage(str(path))
        assert (image.width(), image.height()) == EXPORT_SIZE, path.name
    assert {view.slug: view.widget.size() for view in window.dashboard.plots} == docks_before  # put back
    assert layout_problems(window, qtbot) == []


def test_a_dock_too_small_to_draw_says_so(first_start, qtbot):
    window = first_start(1280, 800)
    view = window.dashboard.latency
    view.widget.resize(400, 240)
    qtbot.waitUntil(lambda: view.side_by_side is True)
    assert not view.too_small.isVisible()
    view.widget.resize(180, 80)
    qtbot.waitUntil(view.too_small.isVisible)
    assert view.too_small.text() == TOO_SMALL_TEXT
    assert view.too_small.geometry() == view.widget.rect()  # it covers the colliding ticks


def test_a_tall_narrow_dock_stacks_its_plots(first_start, qtbot):
    window = first_start(1280, 800)
    dock = window.findChild(QDockWidget, window.dashboard.kv.object_name)
    dock.setFloating(True)
    dock.resize(380, 700)
    view = window.dashboard.kv
    qtbot.waitUntil(lambda: view.side_by_side is False)
    first, second = (plot.getViewBox().sceneBoundingRect() for plot in plots_of(view))
    assert second.top() > first.bottom()  # one above the other
    assert min(first.height(), second.height()) >= LEGIBLE_VIEW_PX


def test_reset_layout_brings_back_the_first_start_layout(first_start, qtbot):
    window = first_start(1280, 800)
    head = window._plot_head
    qtbot.wait(300)  # the first show's sizes are applied
    width_before, height_before = head.width(), head.height()
    latency = window.findChild(QDockWidget, "latencyDock")
    latency.setFloating(True)
    window.findChild(QDockWidget, "kvDock").hide()
    window.reset_layout()
    qtbot.waitUntil(lambda: window.findChild(QDockWidget, "kvDock").isVisible(), timeout=5000)
    assert not latency.isFloating()
    qtbot.waitUntil(lambda: abs(head.width() - width_before) <= 4 and abs(head.height() - height_before) <= 4,
                    timeout=5000)
    assert layout_problems(window, qtbot) == []


def test_a_saved_layout_is_restored_and_a_damaged_one_is_not(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "saved.ini"), QSettings.IniFormat)
    settings.setValue("windowState", b"not a window state")
    window = MainWindow(settings=settings, autosave_dir=tmp_path / "data", entry="llama3-8b")
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    assert not window._layout_restored
    assert layout_problems(window, qtbot) == []
