"""The main window: catalog browser and palette on the left, the canvas (or the compare
view) in the centre with the summary bar above it, the inspector and the run panel on the
right, and the profile plots below."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QFrame,
    QInputDialog,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from ..files import finish_interrupted_writes
from ..spec import ArchSpec, catalog
from ..spec.serialize import spec_from_dict, spec_to_dict
from ..studies.listing import LISTINGS
from . import theme
from .canvas import CanvasView
from .autosave import AutosaveSchedule
from .commands import InsertGroup, SpecEdit
from .compare_view import CompareView
from .palette_drops import Refused, drop_edit
from .dashboard import Dashboard
from .document import SpecDocument
from .document_files import (AUTOSAVE_NAME, FileRefused, add_recent_file, data_dir, open_spec_file, read_autosave,
                             recent_files, save_document, spec_from_hub, write_autosave)
from .group_templates import insert_edit
from .inspector import Inspector
from .palette import PaletteWidget
from .run_controller import CANVAS_MEASURES, RunController, SnapshotError, run_status
from .run_panel import RunPanel
from .study_view import StudyView
from .summary_bar import SummaryBar
from .catalog_browser import CatalogBrowser

DEFAULT_ENTRY = "llama3-8b"
PLOT_ROW_SHARE = 0.36  # of the window height: the plots below the canvas at first start
PLOT_ROW_LEGIBLE_PX = 220  # below this a plot's ticks and titles collide
DOCK_CHROME_PX = 60  # a tabbed dock's title and tab bars, above and below its widget
OUTPUT_TEXT_LEAST_PX = 100  # the generated text's dock: a few lines at least


def _file_stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip("-") or "profile"


def scrolling(panel: QWidget) -> QScrollArea:
    """A tall panel in a scroll area: its dock may then be shorter than the panel, and the
    right column, which spans the plot row too, no longer holds the plots to a few pixels."""
    area = QScrollArea()
    area.setWidget(panel)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # it keeps its width; only height scrolls
    area.setMinimumWidth(panel.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, autosave_dir: Path | None = None,
                 entry: str | None = DEFAULT_ENTRY):
        super().__init__()
        self.settings = settings or QSettings("ArchScope", "ArchScope")
        self.autosave_path = (autosave_dir or data_dir()) / AUTOSAVE_NAME
        self.setStyleSheet(theme.STYLESHEET)
        self.document = SpecDocument(catalog.get(entry or DEFAULT_ENTRY), parent=self)
        self.document.changed.connect(self._document_changed)
        self.document.undo_stack.cleanChanged.connect(self._clean_changed)

        self.canvas = CanvasView()
        self.canvas.drop_handler = self.apply_drop
        self.canvas.drop_checker = self.check_drop
        self.canvas.insert_handler = self.apply_insert
        self.canvas.insert_checker = self.check_insert
        self.canvas.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.summary = SummaryBar()
        editor_page = QWidget()
        page_layout = QVBoxLayout(editor_page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.setSpacing(0)
        page_layout.addWidget(self.summary)
        page_layout.addWidget(self.canvas, 1)
        self.compare_view = CompareView()
        self.stack = QStackedWidget()
        self.stack.addWidget(editor_page)
        self.stack.addWidget(self.compare_view)
        self.setCentralWidget(self.stack)

        self.browser = CatalogBrowser()
        self.browser.entryActivated.connect(self.open_entry)
        self.palette = PaletteWidget()
        self.inspector = Inspector(self.document)
        self.inspector.setMinimumWidth(270)
        self.inspector.refused.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.browser.setMinimumWidth(230)
        self.canvas.slotSelected.connect(self._slot_selected)
        # The right column (inspector, run panel, output text) runs to the bottom of the
        # window; the plot row sits under the catalog and the canvas, so the run panel's
        # height does not squeeze the plots.
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        self._dock("Catalog", self.browser, Qt.LeftDockWidgetArea, "catalogDock")
        self._dock("Components", self.palette, Qt.LeftDockWidgetArea, "paletteDock")
        self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea, "inspectorDock")
        self.run_panel = RunPanel(lambda: spec_to_dict(self.document.spec))
        self._dock("Run", scrolling(self.run_panel), Qt.RightDockWidgetArea, "runDock")
        self.dashboard = Dashboard(self)
        self._place_plot_docks()
        self.tabifyDockWidget(self.findChild(QDockWidget, "inspectorDock"), self.findChild(QDockWidget, "runDock"))
        self.runs = RunController(self.run_panel, self.dashboard, self.canvas.arch_scene, lambda: self.document.spec,
                                  parent=self)
        self.runs.status.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.runs.failed.connect(self._run_failed)
        self.runs.modelLoaded.connect(self._model_loaded)
        self.runs.resultShown.connect(lambda name: self.findChild(QDockWidget, name).raise_())
        self.study_view = StudyView()
        self._study_dock = self._dock("Study", self.study_view, Qt.BottomDockWidgetArea, "studyDock")
        if self._plot_head is not None:
            self.tabifyDockWidget(self._plot_head, self._study_dock)
            self._plot_head.raise_()
        self.runs.studied.connect(self._show_study)

        self.autosave_schedule = AutosaveSchedule(self.document.undo_stack, parent=self)
        self.autosave_schedule.due.connect(self.autosave)
        self._build_menus()
        self.statusBar().showMessage("Drag components from the palette onto the canvas; F fits, Ctrl+wheel zooms")
        self.resize(1280, 800)
        self._default_state = self.saveState()  # for View > Reset layout
        self._restore_settings()
        self._document_changed()
        self.browser.select(entry or DEFAULT_ENTRY)

    def _dock(self, title: str, widget: QWidget, area, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                         | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _place_plot_docks(self) -> None:
        """The plots below the canvas in two columns of tabs (latency, the sweeps and the
        roofline | KV, routing, memory, throughput and a parallel run's ranks); the streaming
        text under the run panel."""
        docks = {title: self._dock(title, widget, Qt.BottomDockWidgetArea, name)
                 for title, widget, name in self.dashboard.docks()}
        text = docks.pop("Output text", None)
        if text is not None:
            self.removeDockWidget(text)
            self.addDockWidget(Qt.RightDockWidgetArea, text)
            self.splitDockWidget(self.findChild(QDockWidget, "runDock"), text, Qt.Vertical)
            text.show()
        # Two columns, not three: each dock is then wide enough to set its two plots side
        # by side at their full height (see PlotView.arrange).
        columns = [["Layer latency", "Context sweep", "Batch sweep", "Roofline"],
                   ["KV cache", "Expert routing", "Memory", "Throughput", "Ranks"]]
        heads = [docks[column[0]] for column in columns if column[0] in docks]
        for left, right in zip(heads, heads[1:]):
            self.splitDockWidget(left, right, Qt.Horizontal)
        for column in columns:
            for title in column[1:]:
                if title in docks and column[0] in docks:
                    self.tabifyDockWidget(docks[column[0]], docks[title])
            if column[0] in docks:
                docks[column[0]].raise_()
        self._plot_head = heads[0] if heads else None  # the plot row's height is this dock's
        self.plot_docks = list(docks.values()) + ([text] if text is not None else [])
        self._output_dock = text

    # --- menus --------------------------------------------------------------------------------

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip or text)
        action.setToolTip(tip or text)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file = menu.addMenu("&File")
        self._action(file, "&Open spec…", self.open_dialog, QKeySequence.Open, "Open an ArchScope spec JSON")
        self._action(file, "Import Hugging Face &config.json…", self.import_dialog, "Ctrl+I",
                     "Read a Hugging Face config.json into a spec")
        self._action(file, "Import from Hugging Face &Hub…", self.import_hub_dialog, "Ctrl+Shift+I",
                     "Read a Hub repository's config.json (org/name) into a spec; only that file is fetched")
        self.recent_menu = file.addMenu("Open &recent")
        self._action(file, "&Save", self.save, QKeySequence.Save)
        self._action(file, "Save &as…", self.save_as_dialog, QKeySequence.SaveAs)
        file.addSeparator()
        self._action(file, "&Export diagram (PNG/SVG)…", self.export_dialog, "Ctrl+E")
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.Quit)
        edit = menu.addMenu("&Edit")
        self.undo_action = self.document.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = self.document.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)
        view = menu.addMenu("&View")
        self._action(view, "Zoom &in", self.canvas.zoom_in, "Ctrl+=")
        self._action(view, "Zoom &out", self.canvas.zoom_out, "Ctrl+-")
        self._action(view, "&Fit to window", self.fit, "F")
        self._action(view, "Reset &layout", self.reset_layout, "Ctrl+Shift+L",
                     "Every dock back where and as large as at a first start")
        view.addSeparator()
        self.compare_action = self._action(view, "&Compare…", lambda checked: self.show_compare(checked),
                                           "Ctrl+K", "Two architectures side by side")
        self.compare_action.setCheckable(True)
        self._canvas_measure_menu(view)
        view.addSeparator()
        for dock in self.findChildren(QDockWidget):
            view.addAction(dock.toggleViewAction())
        profile = menu.addMenu("&Profile")
        self._action(profile, "&Run", self.run_panel.request_run, "Ctrl+Return",
                     "Load the chosen model if needed and generate, measuring every layer")
        self._action(profile, "&Sweep context lengths", self.run_panel.request_sweep, "Ctrl+Shift+Return",
                     "Decode cost and cache bytes at each context length of the run panel")
        self._action(profile, "Sweep b&atch sizes", self.run_panel.request_batch_sweep, "Ctrl+Alt+Return",
                     "Decode time per token, per layer kind, and memory at each batch size of the run panel")
        self.stop_action = self._action(profile, "S&top", self.runs.stop, "Esc", "Stop the run between two layers")
        self._action(profile, "Cali&brate device", self.runs.calibrate, None,
                     "Measure the run panel's device: memory bandwidth and matmul FLOP/s per dtype, the roofs "
                     "a layer's time is compared with; saved for later runs (a first run does it quickly itself)")
        profile.addSeparator()
        self._action(profile, "&Open snapshot…", self.open_snapshot_dialog, "Ctrl+Shift+O",
                     "View a saved profile snapshot without running anything")
        self._action(profile, "&Compare with snapshot…", self.compare_snapshot_dialog, "Ctrl+Shift+K",
                     "Overlay a saved run on the plots, dashed")
        self._action(profile, "&Keep this run as overlay", self._pin_overlay, "Ctrl+Shift+P",
                     "Draw the last run dashed under the next one (e.g. with and without a sliding window)")
        self._action(profile, "C&lear overlay", lambda: self.runs.compare_snapshot(None))
        profile.addSeparator()
        self._action(profile, "&Export profile…", self.export_profile_dialog, "Ctrl+Shift+E",
                     "The last run as JSON, CSV, Chrome trace and a PNG of each plot")
        self._action(profile, "Save &window as PNG…", self.save_window_dialog, "Ctrl+Shift+S")
        self._studies_menu()
        self._update_recent_menu()

    def _studies_menu(self) -> None:
        """Studies: each of the article's questions, run on the worker (Esc stops it) and
        shown in the Study dock; quick runs (shorter contexts, fewer steps) by default."""
        menu = self.menuBar().addMenu("&Studies")
        menu.setToolTipsVisible(True)
        self.quick_studies = self._action(menu, "&Quick runs", lambda checked: None,
                                          tip="Shorter contexts and fewer steps: each study in about a minute or two "
                                              "on a laptop CPU; unticked, the full study can take many minutes")
        self.quick_studies.setCheckable(True)
        self.quick_studies.setChecked(True)
        menu.addSeparator()
        for name, listing in LISTINGS.items():
            self._action(menu, f"{listing.title} ({listing.section})",
                         lambda _checked, n=name: self.runs.run_study(n, self.quick_studies.isChecked()),
                         tip=listing.summary)

    def _show_study(self, document: dict) -> None:
        self.study_view.show_result(document)
        self._study_dock.show()
        self._study_dock.raise_()

    def _canvas_measure_menu(self, view) -> None:
        """View > Canvas badges: each profiled box's share of the step, or its fraction of roofline."""
        menu = view.addMenu("Canvas &badges")
        menu.setToolTipsVisible(True)
        tips = {"share of step": "Each box's share of the whole decode step's time (head and the rest included)",
                "fraction of roofline": "Each box's roofline time over its measured time, after a run on a "
                                        "calibrated device: 100% is as fast as the device's roofs allow"}
        group = QActionGroup(self)
        self.canvas_measure_actions = {}
        for measure in CANVAS_MEASURES:
            action = self._action(menu, measure.capitalize(),
                                  lambda _checked, m=measure: self.runs.set_canvas_measure(m), tip=tips[measure])
            action.setCheckable(True)
            action.setChecked(measure == self.runs.canvas_measure)
            group.addAction(action)
            self.canvas_measure_actions[measure] = action

    # --- documents ----------------------------------------------------------------------------

    def open_entry(self, name: str) -> None:
        self.show_compare(False)
        self.document.load(catalog.get(name))
        self.browser.select(name)
        self.fit()

    def open_spec(self, spec: ArchSpec, path: Path | None = None) -> None:
        self.show_compare(False)
        self.document.load(spec, path)
        # the catalog highlights the entry now on the canvas, or none: never the one before it
        self.browser.select(spec.name if spec.name in catalog.names() and catalog.get(spec.name) == spec else None)
        if path is not None:
            self._add_recent(path)
        self.fit()

    def open_file(self, path: str | Path) -> None:
        """A spec document or an HF config.json; a dialog says why when it cannot be read."""
        try:
            spec, saves_to = open_spec_file(path)
        except FileRefused as refusal:
            QMessageBox.warning(self, "ArchScope", str(refusal))
            return
        self.open_spec(spec, saves_to)
        if saves_to is None:  # a config.json: in the recent files, though Save does not write to it
            self._add_recent(Path(path))

    def save_to(self, path: str | Path) -> None:
        path = save_document(self.document, path)
        self._add_recent(path)
        self.clear_autosave()
        self.statusBar().showMessage(f"Saved {path}", 5000)
        self._update_title()

    def save(self) -> None:
        if self.document.path is None:
            self.save_as_dialog()
        else:
            self.save_to(self.document.path)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open spec", "", "Spec JSON (*.json)")
        if path:
            self.open_file(path)

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import config.json", "", "config.json (*.json)")
        if path:
            self.open_file(path)

    def import_hub(self, repo_id: str) -> bool:
        """Draw a Hub repository's architecture from its config.json (from the local cache
        when HF_HUB_OFFLINE is set). False, with the reason shown, when it cannot."""
        repo_id = repo_id.strip()
        QApplication.setOverrideCursor(Qt.WaitCursor)  # one small file, fetched in place
        try:
            spec, refusal = spec_from_hub(repo_id), None
        except FileRefused as error:
            spec, refusal = None, error
        finally:
            QApplication.restoreOverrideCursor()  # the dialog below waits on the user, not on the Hub
        if refusal is not None:
            QMessageBox.warning(self, "ArchScope", str(refusal))
            return False
        self.open_spec(spec)
        self.statusBar().showMessage(f"Imported {repo_id} from its config.json", 8000)
        return True

    def import_hub_dialog(self) -> None:
        repo_id, accepted = QInputDialog.getText(self, "Import from the Hugging Face Hub",
                                                 "Repository id (org/name):")
        if accepted and repo_id.strip():
            self.import_hub(repo_id)

    def save_as_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save spec", f"{self.document.spec.name}.json",
                                              "Spec JSON (*.json)")
        if path:
            self.save_to(path)

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export diagram", f"{self.document.spec.name}.png",
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self.canvas.export(path)

    # --- editing ------------------------------------------------------------------------------

    def _drop_result(self, key: str, item):
        return drop_edit(key, item.slot, self.document.spec, item.layer_indices)

    def check_drop(self, key: str, item) -> str | None:
        try:
            self._drop_result(key, item)
        except Refused as reason:
            return str(reason)
        return None

    def apply_drop(self, key: str, item) -> str | None:
        """Make the drop an undoable edit; the reason when it is refused."""
        try:
            after, text = self._drop_result(key, item)
        except Refused as reason:
            return str(reason)
        self.document.undo_stack.push(SpecEdit(self.document, after, text))
        self.statusBar().showMessage(text, 5000)
        return None

    def check_insert(self, key: str, at: int) -> str | None:
        try:
            insert_edit(self.document.spec, self.document.groups, at, key)
        except Refused as reason:
            return str(reason)
        return None

    def apply_insert(self, key: str, at: int) -> str | None:
        """Insert the palette's layer group `key` before group `at` as an undoable edit;
        the reason when it is refused."""
        try:
            layers, text = insert_edit(self.document.spec, self.document.groups, at, key)
        except Refused as reason:
            return str(reason)
        self.document.undo_stack.push(InsertGroup(self.document, at, list(layers), text))
        self.statusBar().showMessage(text, 5000)
        return None

    def _slot_selected(self, item) -> None:
        if not self._rebuilding:
            self.inspector.show_box(item)

    _rebuilding = False

    def _clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    def _document_changed(self) -> None:
        spec = self.document.spec
        scene = self.canvas.arch_scene
        selected = [item for item in scene.selectedItems() if getattr(item, "layer_indices", None)]
        key = (selected[0].layer_indices[0], selected[0].slot) if selected else None
        self._rebuilding = True
        try:
            scene.set_spec(spec, self.document.groups)
            # the same box stays selected across the redraw (by its first layer and slot)
            for item in scene.slot_items if key else ():
                if key[0] in item.layer_indices and item.slot == key[1]:
                    item.setSelected(True)
                    break
        finally:
            self._rebuilding = False
        if key is not None:
            reselected = [item for item in scene.selectedItems() if getattr(item, "layer_indices", None)]
            self.inspector.show_box(reselected[0] if reselected else None)
        self.summary.set_spec(spec)
        self.palette.set_spec(spec)
        self._update_title()

    def _update_title(self) -> None:
        where = self.document.path.name if self.document.path else self.document.spec.name
        self.setWindowTitle(f"{where}[*] — ArchScope")

    def fit(self) -> None:
        if self.stack.currentIndex() == 1:
            self.compare_view.fit()
        else:
            self.canvas.fit()

    def show_compare(self, on: bool = True, other: str | None = None) -> None:
        was_on = self.stack.currentIndex() == 1
        self.stack.setCurrentIndex(1 if on else 0)
        # comparing is read-only and wide: every dock gives its room to the two canvases
        # and the delta table, and the ones that were open come back afterwards
        if on and not was_on:
            self._state_before_compare = self.saveState()
            for dock in self.findChildren(QDockWidget):
                dock.hide()
            self._hide_stale_tab_bars()
        elif was_on and not on and self._state_before_compare is not None:
            self.restoreState(self._state_before_compare)  # the docks that were open, at their sizes
            self._state_before_compare = None
        self.compare_action.setChecked(on)
        if on and (other or self.compare_view.specs is None):
            left = self.document.spec
            fallback = "llama3-8b" if left.name != "llama3-8b" else "qwen3-8b"
            right = catalog.get(other or fallback)
            self.compare_view.compare(left, right)

    # --- profiling ----------------------------------------------------------------------------

    def _model_loaded(self, info: dict) -> None:
        """Real weights bring their own architecture: show it, unless the canvas holds
        unsaved edits (those are never replaced behind the user's back)."""
        if "spec" in info and not info["source"].startswith("random") and not self.document.modified:
            spec = spec_from_dict(info["spec"])
            if spec != self.document.spec:
                self.open_spec(spec)

    def _run_failed(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)
        box = QMessageBox(QMessageBox.Warning, "ArchScope", message, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()  # not exec(): the window stays usable behind it

    def _pin_overlay(self) -> None:
        if not self.runs.pin_overlay():
            self.statusBar().showMessage("Run a model first: there is no run to keep", 5000)

    def open_snapshot(self, path: str | Path) -> bool:
        try:
            document = self.runs.open_snapshot(path)
        except SnapshotError as error:
            QMessageBox.warning(self, "ArchScope", f"Could not open the snapshot:\n{error}")
            return False
        spec = document["model"].get("spec")
        if spec and not self.document.modified:
            self.open_spec(spec_from_dict(spec))
            self.runs.tint(self.runs.record)
        self.statusBar().showMessage(f"Opened {Path(path).name}: {self.runs.canvas_note()}{run_status(document)}", 15000)
        return True

    def open_snapshot_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open profile snapshot", "", "Profile snapshot (*.json)")
        if path:
            self.open_snapshot(path)

    def compare_snapshot_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Compare with snapshot", "", "Profile snapshot (*.json)")
        if path:
            try:
                self.runs.compare_snapshot(path)
            except SnapshotError as error:
                QMessageBox.warning(self, "ArchScope", f"Could not open the snapshot:\n{error}")

    def export_profile(self, folder: str | Path, stem: str | None = None) -> list[Path]:
        stem = stem or _file_stem(self.runs.snapshot["model"]["name"] if self.runs.snapshot else "profile")
        # remembered on disk before writing: should the app be killed mid-export, its next
        # start finishes or removes what was left (finish_interrupted_export)
        self.settings.setValue("exportFolder", str(Path(folder).resolve()))
        self.settings.sync()
        written = self.runs.export(folder, stem)
        window_png = Path(folder) / f"{stem}-window.png"
        if self.grab().save(str(window_png)):
            written.append(window_png)
        self.statusBar().showMessage(f"Wrote {len(written)} files to {folder}", 8000)
        return written

    def export_profile_dialog(self) -> None:
        if self.runs.snapshot is None:
            QMessageBox.information(self, "ArchScope", "Nothing to export yet: run a model or open a snapshot.")
            return
        folder = QFileDialog.getExistingDirectory(self, "Export profile to folder")
        if folder:
            try:
                self.export_profile(folder)
            except OSError as error:
                QMessageBox.warning(self, "ArchScope", f"Could not export:\n{error}")

    def save_window_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save window as PNG", "archscope.png", "PNG image (*.png)")
        if path and not self.grab().save(path):
            QMessageBox.warning(self, "ArchScope", f"Could not write {path}")

    def finish_interrupted_export(self) -> None:
        """Complete the set of files an export killed while renaming left in the last export
        folder, and remove the temporary files of one killed before."""
        folder = self.settings.value("exportFolder")
        if folder:
            try:
                finish_interrupted_writes(folder)
            except OSError as error:
                self.statusBar().showMessage(f"Could not tidy the last export in {folder}: {error}", 15000)

    # --- autosave and settings ----------------------------------------------------------------

    def autosave(self) -> None:
        if self.document.modified:
            write_autosave(self.autosave_path, self.document)

    def clear_autosave(self) -> None:
        self.autosave_path.unlink(missing_ok=True)

    def recoverable(self) -> tuple[ArchSpec, Path | None] | None:
        return read_autosave(self.autosave_path)

    def restore_autosave(self) -> bool:
        found = self.recoverable()
        if found is None:
            return False
        spec, path = found
        self.document.load(spec, path)
        # the recovered edits are not saved anywhere yet: mark the document modified
        self.document.undo_stack.resetClean()
        self.fit()
        return True

    def offer_recovery(self) -> None:
        found = self.recoverable()
        if found is None:
            return
        answer = QMessageBox.question(
            self, "Recover edits", f"ArchScope found unsaved edits of {found[0].name} from an earlier session.\n"
            "Restore them?", QMessageBox.Yes | QMessageBox.Discard, QMessageBox.Yes)
        if answer == QMessageBox.Yes:
            self.restore_autosave()
        else:
            self.clear_autosave()

    def _add_recent(self, path: Path) -> None:
        add_recent_file(self.settings, path)
        self._update_recent_menu()

    def recent_files(self) -> list[str]:
        return recent_files(self.settings)

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_file(p))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    _first_show = True
    _layout_restored = False  # the user's saved layout is in place: the first show keeps its sizes
    _plot_row_px: int | None = None  # the plot row's height as the window last set it; None: the user's

    def _restore_settings(self) -> None:
        geometry = self.settings.value("geometry")
        state = self.settings.value("windowState")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        # A state Qt cannot read (another version's, a damaged file) leaves the default layout.
        self._layout_restored = isinstance(state, QByteArray) and self.restoreState(state)

    _state_before_compare: QByteArray | None = None

    def _hide_stale_tab_bars(self) -> None:
        """Tabifying the docks at startup leaves spare tab bars behind, drawn over the status
        bar (and, while comparing, over the canvases); hide them all and let the dock layout
        show again the ones its tabbed docks use."""
        for bar in self.findChildren(QTabBar, options=Qt.FindDirectChildrenOnly):
            bar.hide()
        self.layout().invalidate()

    def closeEvent(self, event) -> None:
        self.show_compare(False)  # the saved layout is the editor's, with its docks
        self.runs.shutdown()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        if self.document.modified:
            self.autosave()
        super().closeEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # A window manager maximizes a window after its first show: the plot row sized then
        # would keep its few pixels in the grown window. After the layout has settled, give
        # it back its share.
        QTimer.singleShot(0, self._keep_plots_legible)

    def _keep_plots_legible(self) -> None:
        """The plot row keeps its share of a resized window while the user has not moved
        its edge, and never stays below a legible height."""
        dock = self._plot_head
        if dock is None or not dock.isVisible() or dock.isFloating():
            return
        untouched = self._plot_row_px is not None and abs(dock.height() - self._plot_row_px) <= 2
        if not untouched:
            self._plot_row_px = None  # the user has moved its edge: the height is theirs from now on
        if untouched or dock.height() < PLOT_ROW_LEGIBLE_PX:
            self._size_plot_row()

    def _size_plot_row(self) -> None:
        self.resizeDocks([self._plot_head], [int(self.height() * PLOT_ROW_SHARE)], Qt.Vertical)
        # what the layout made of it, once applied: while the row keeps it, the user has not moved it
        QTimer.singleShot(0, lambda: setattr(self, "_plot_row_px", self._plot_head.height()))

    def _size_default_layout(self) -> None:
        """The default layout's sizes: the plot row at its share of the window; the run
        panel whole, its buttons in sight; the output text takes what is left."""
        if self._plot_head is not None:
            self._size_plot_row()
        run = self.findChild(QDockWidget, "runDock")
        column = self.height() - self.menuBar().height() - self.statusBar().height()
        text_height = max(OUTPUT_TEXT_LEAST_PX, column - self.run_panel.sizeHint().height() - 2 * DOCK_CHROME_PX)
        self.resizeDocks([run, self._output_dock], [column - text_height, text_height], Qt.Vertical)
        self.resizeDocks([self.findChild(QDockWidget, "catalogDock"), self.findChild(QDockWidget, "inspectorDock")],
                         [250, 290], Qt.Horizontal)

    def reset_layout(self) -> None:
        """View > Reset layout: every dock back where and as large as at a first start."""
        self.show_compare(False)
        self.restoreState(self._default_state)
        for dock in self.findChildren(QDockWidget):
            dock.setFloating(False)
        self._size_default_layout()
        QTimer.singleShot(0, self._hide_stale_tab_bars)
        self.statusBar().showMessage("Layout reset: the docks are where a first start puts them", 5000)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._first_show and not self._layout_restored:
            self._size_default_layout()
        self._first_show = False
        QTimer.singleShot(0, self.fit)
        QTimer.singleShot(0, self._hide_stale_tab_bars)
