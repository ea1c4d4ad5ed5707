"""The main window: a palette drag edits the spec through the undo stack and the
summary follows; refused drops leave it alone; the inspector shows problems inline;
files, autosave and the compare view; screenshots."""

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDockWidget

from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.mixers import MultiHeadLatentAttention
from app.spec.serialize import spec_from_dict
from app.ui.compare_model import PRESETS, delta_rows
from app.units import human_count
from app.ui.main_window import MainWindow
from tests.ui.test_canvas import send_drop


@pytest.fixture
def window(open_window):
    return open_window("qwen3-0.6b")


def test_drag_gqa_to_mla_updates_summary_and_undoes(window, qtbot):
    original = window.document.spec
    attention = window.canvas.arch_scene.slot_item(0, 0, "mixer")
    assert send_drop(window.canvas, attention, "mla") == (True, True)
    spec = window.document.spec
    assert all(isinstance(layer.mixer, MultiHeadLatentAttention) for layer in spec.layers)
    assert window.summary.kv_bytes_per_token == analyze(spec).kv_bytes_per_token(2)
    assert window.summary.kv_bytes_per_token != analyze(original).kv_bytes_per_token(2)
    assert window.document.undo_stack.undoText() == "Replace GQA with MLA"
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.document.spec == original
    assert window.summary.kv_bytes_per_token == analyze(original).kv_bytes_per_token(2)
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert window.document.spec == spec


def test_invalid_drop_is_refused_with_its_reason(window):
    original = window.document.spec
    attention = window.canvas.arch_scene.slot_item(0, 0, "mixer")
    assert send_drop(window.canvas, attention, "moe") == (False, False)
    assert "feed-forward box" in window.statusBar().currentMessage()
    assert window.document.spec == original and window.document.undo_stack.count() == 0


def test_an_edit_that_would_make_the_spec_invalid_is_refused_with_its_reason(window):
    """It never reaches the summary, the canvas or a run: the spec and the editor keep the
    old value, the reason shows beside the field and in the status bar."""
    original = window.document.spec
    total = window.summary.values["total"].text()
    window.canvas.arch_scene.slot_item(0, 0, "mixer").setSelected(True)
    editor = window.inspector.editors["mixer.num_kv_heads"]
    before = editor.value()
    editor.setValue(3)  # 16 query heads cannot share 3 KV groups
    assert window.document.spec == original and window.document.undo_stack.count() == 0
    assert editor.value() == before and window.summary.values["total"].text() == total
    problem = window.inspector.problem_labels["mixer.num_kv_heads"]
    assert not problem.isHidden() and problem.text().startswith("3 refused:") and "does not divide num_heads 16" \
        in problem.text()
    assert window.statusBar().currentMessage().startswith("Refused num_kv_heads = 3: layers[")
    editor.setValue(4)  # a valid value goes in, and the refusal goes away
    assert {layer.mixer.num_kv_heads for layer in window.document.spec.layers} == {4} and problem.isHidden()


def test_a_spec_opened_with_problems_can_still_be_edited(window):
    """Only a problem the edit adds refuses it: one already there does not block the others."""
    import dataclasses

    spec = window.document.spec
    broken = spec.with_layers([dataclasses.replace(layer, mixer=dataclasses.replace(layer.mixer, num_kv_heads=3))
                               for layer in spec.layers])
    window.document.load(broken)
    window.canvas.arch_scene.slot_item(0, 0, "ffn").setSelected(True)
    window.inspector.editors["ffn.intermediate_size"].setValue(4096)
    assert {layer.ffn.intermediate_size for layer in window.document.spec.layers} == {4096}, \
        window.statusBar().currentMessage()
    assert window.document.spec.validate()  # the problem it came with is still there, still shown


def test_save_reopen_and_autosave_round_trip(window, tmp_path, qtbot):
    attention = window.canvas.arch_scene.slot_item(0, 0, "mixer")
    send_drop(window.canvas, attention, "sliding")
    edited = window.document.spec
    window.autosave()  # what the timer does after an edit
    path = tmp_path / "edited.json"
    window.save_to(path)
    assert not window.document.modified and not window.autosave_path.exists()
    window.open_entry("llama3-1b")
    window.open_file(path)
    assert window.document.spec == edited and window.document.spec.name == edited.name
    assert str(path) in window.recent_files()
    # an unsaved edit, then a "crash": a new window offers it back
    send_drop(window.canvas, window.canvas.arch_scene.slot_item(0, 0, "ffn"), "moe")
    unsaved = window.document.spec
    window.autosave()
    other = MainWindow(settings=window.settings, autosave_dir=window.autosave_path.parent, entry="gpt2-small")
    qtbot.addWidget(other)
    assert other.restore_autosave()
    assert other.document.spec == unsaved and other.document.modified
    assert spec_from_dict(json.loads(window.autosave_path.read_text())["spec"]) == unsaved


def test_catalog_filters(window):
    browser = window.browser
    browser.filters["MLA"].setChecked(True)
    assert set(browser.visible_names()) >= {"deepseek-v3", "kimi-k2", "kimi-linear-48b-a3b"}
    assert "llama3-8b" not in browser.visible_names()
    browser.filters["linear attention"].setChecked(True)  # both: the MLA + linear-attention hybrids
    assert "kimi-linear-48b-a3b" in browser.visible_names()
    assert not {"deepseek-v3", "kimi-k2", "qwen3-next-80b-a3b"} & set(browser.visible_names())
    browser.filters["MLA"].setChecked(False)
    browser.filters["linear attention"].setChecked(False)
    browser.search.setText("gemma")
    assert browser.visible_names() and all(name.startswith("gemma") for name in browser.visible_names())


def test_a_long_catalog_title_is_elided_and_whole_in_its_tooltip(window):
    from PySide6.QtCore import Qt

    browser = window.browser
    assert browser.list.textElideMode() == Qt.ElideRight
    assert browser.list.horizontalScrollBarPolicy() == Qt.ScrollBarAlwaysOff
    for i in range(browser.list.count()):
        item = browser.list.item(i)
        assert item.toolTip().splitlines()[:2] == [item.text(), item.data(Qt.UserRole)]


def test_compare_highlights_exactly_the_fields_that_differ(window):
    window.show_compare(True)
    view = window.compare_view
    for a, b in PRESETS:
        view.compare_names(a, b)
        rows = delta_rows(catalog.get(a), catalog.get(b))
        assert view.highlighted_fields() == [row.field for row in rows if row.differs], (a, b)
    view.compare_names("olmo2-7b", "llama3-8b")
    highlighted = set(view.highlighted_fields())
    assert {"norm placement", "QK-norm", "KV heads", "vocabulary", "dense FFN hidden"} <= highlighted
    assert not {"layers", "width (d_model)", "query heads", "head dim"} & highlighted
    # on the canvases: norms (post vs pre), attention (MHA vs GQA), FFN (11008 vs 14336)
    marked = {item.slot for item in view.left.arch_scene.slot_items if item.highlighted}
    assert marked == {"norm", "mixer", "ffn"}
    view.compare_names("deepseek-v3", "kimi-k2")  # same blocks; MLA heads and experts differ
    marked = {(item.group_index, item.slot) for item in view.right.arch_scene.slot_items if item.highlighted}
    assert ("1", "norm") not in marked and (1, "norm") not in marked
    assert (1, "mixer") in marked and (1, "ffn") in marked
    same = catalog.get("llama3-8b")
    view.compare(same, same)
    assert view.highlighted_fields() == []
    assert not any(item.highlighted for item in view.right.arch_scene.slot_items)


def test_screenshots(tmp_path):
    from app.ui.app import screenshot

    for name, args in (("main.png", ("deepseek-v3", None)), ("compare.png", ("gemma3-27b", "mistral-small-3.1"))):
        path = screenshot(tmp_path / name, *args)
        image = QImage(str(path))
        assert (image.width(), image.height()) == (1280, 800)


def test_screenshot_from_the_command_line(tmp_path, capsys):
    from app.cli import main

    path = tmp_path / "cli.png"
    assert main(["--screenshot", str(path), "--open", "qwen3-next-80b-a3b", "--compare", "kimi-linear-48b-a3b"]) == 0
    assert QImage(str(path)).width() == 1280
    assert main(["--screenshot", str(tmp_path / "x.png"), "--open", "no-such-model"]) == 2


def test_duplicating_a_group_inserts_its_layers_after_it_and_undoes(window, qtbot):
    original = window.document.spec
    window.canvas.arch_scene.slot_item(0, 0, "mixer").setSelected(True)
    group = window.document.groups[0]
    qtbot.mouseClick(window.inspector.group_buttons["Duplicate"], Qt.LeftButton)
    spec = window.document.spec
    assert spec.num_layers == original.num_layers + group.size
    assert spec.layers[group.stop:group.stop + group.size] == original.layers[group.start:group.stop]
    assert window.summary.spec == spec  # the summary follows the edit
    window.document.undo_stack.undo()
    assert window.document.spec == original


def test_a_hub_repository_is_drawn_from_its_cached_config(window, tmp_path, monkeypatch):
    """File > Import from Hugging Face Hub reads only config.json, here from a cache laid
    out as huggingface_hub writes it, offline."""
    config = catalog.entry("qwen3-0.6b").config
    snapshot = tmp_path / "hub" / "models--some-org--small-qwen" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps(config))
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    window.open_entry("deepseek-v3")
    assert window.import_hub("some-org/small-qwen")
    assert window.document.spec == catalog.get("qwen3-0.6b")
    assert window.document.spec.name == "some-org/small-qwen"


def test_a_hub_repository_that_is_not_cached_offline_is_refused_by_name(window, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    shown = []
    monkeypatch.setattr("app.ui.main_window.QMessageBox.warning", lambda parent, title, text: shown.append(text))
    before = window.document.spec
    assert not window.import_hub("other-org/absent")
    assert "other-org/absent: not in the local Hugging Face cache" in shown[0]
    assert window.document.spec == before
    assert not window.import_hub("not a repo id")
    assert "Repository id" in shown[1]


def test_the_matformer_slider_nests_gemma3n_e2b_widths_inside_e4b_and_undoes(window):
    assert window.inspector.matformer_slider is None  # Qwen3 has no nested models
    window.open_entry("gemma3n-e4b")
    window.inspector.show_box(None)
    slider = window.inspector.matformer_slider
    original = window.document.spec
    assert slider is not None and slider.value() == slider.maximum()
    slider.setValue(slider.maximum() // 2)  # E2B's feed-forward width is half of E4B's
    spec = window.document.spec
    assert {layer.ffn.intermediate_size for layer in spec.layers} == {
        layer.ffn.intermediate_size for layer in catalog.get("gemma3n-e2b").layers}
    assert analyze(spec).total_params < analyze(original).total_params
    assert window.summary.values["total"].text() == human_count(analyze(spec).total_params)
    assert "50%" in window.inspector.matformer_label.text()
    slider.setValue(slider.maximum() // 4)
    assert window.document.undo_stack.count() == 1  # one drag, one undo
    window.document.undo_stack.undo()
    assert window.document.spec == original
    assert slider.value() == slider.maximum()


def test_steps_of_one_field_are_one_undo_and_another_field_is_another(window):
    window.canvas.arch_scene.slot_item(0, 0, "mixer").setSelected(True)
    editors, stack = window.inspector.editors, window.document.undo_stack
    original = window.document.spec
    editors["mixer.num_heads"].setValue(32)
    editors["mixer.num_heads"].setValue(24)  # a spin box's second step
    assert stack.count() == 1
    editors["mixer.num_kv_heads"].setValue(4)
    assert stack.count() == 2
    stack.undo()
    stack.undo()
    assert window.document.spec == original


@pytest.mark.parametrize("text, problem", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"model_type": "llama", "num_hidden_layers": 1000000000, "hidden_size": 64}', "num_hidden_layers"),
    ("{", "not valid JSON"),
])
def test_a_hostile_spec_file_is_refused_in_a_dialog_and_the_drawing_stays(window, tmp_path, monkeypatch, text, problem):
    shown = []
    monkeypatch.setattr("app.ui.main_window.QMessageBox.warning", lambda parent, title, text: shown.append(text))
    before = window.document.spec
    path = tmp_path / "hostile.json"
    path.write_text(text)
    window.open_file(path)
    assert len(shown) == 1 and str(path) in shown[0] and problem in shown[0]
    assert window.document.spec == before


def test_a_grown_window_gives_a_squeezed_plot_row_back_its_share(window, qtbot):
    """A window manager maximizes after the first show: the plot row must not keep the
    few pixels it had."""
    from PySide6.QtCore import Qt

    from app.ui.main_window import PLOT_ROW_LEGIBLE_PX

    dock = window._plot_head
    window.resizeDocks([dock], [40], Qt.Vertical)
    qtbot.waitUntil(lambda: dock.height() < 100)
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: dock.height() >= PLOT_ROW_LEGIBLE_PX, timeout=5000)


def test_at_first_start_the_run_buttons_and_the_plots_are_in_sight(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from app.ui.main_window import PLOT_ROW_LEGIBLE_PX, MainWindow

    window = MainWindow(settings=QSettings(str(tmp_path / "fresh.ini"), QSettings.IniFormat),
                        autosave_dir=tmp_path / "data", entry="llama3-8b")
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window._plot_head.height() >= PLOT_ROW_LEGIBLE_PX, timeout=5000)
    window.findChild(QDockWidget, "runDock").raise_()
    qtbot.waitUntil(lambda: not window.run_panel.run_button.visibleRegion().isEmpty(), timeout=5000)
    assert not window.run_panel.stop_button.visibleRegion().isEmpty()
