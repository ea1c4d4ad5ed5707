"""Layer groups: a palette group dragged onto the canvas inserts its layers at the
boundary under the cursor (undoable, refused when it would break the spec), and the
inspector's remove, reorder and repeat edits undo exactly."""

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.ffn import MoE
from app.spec.mixers import Attention, Mamba2
from app.ui.commands import SetLayerField
from app.ui.palette_drops import MIME_TYPE
from app.ui.group_templates import insert_edit, templates_for
from app.ui.grouping import describe_groups, group_layers
from app.units import human_count
from app.ui.palette import PaletteWidget


@pytest.fixture
def window(open_window):
    return open_window("deepseek-v3")


def drag_to(view, scene_point: QPointF, key: str, drop: bool = True) -> tuple[bool, bool]:
    """A palette drag over `scene_point` of the view, delivered as the platform would."""
    data = PaletteWidget.mime_for(key)
    point: QPoint = view.mapFromScene(scene_point)
    assert view.viewport().rect().contains(point), "the drop point must be on screen"
    app = QApplication.instance()
    app.sendEvent(view.viewport(), QDragEnterEvent(point, Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier))
    move = QDragMoveEvent(point, Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    app.sendEvent(view.viewport(), move)
    if not drop:
        return move.isAccepted(), False
    event = QDropEvent(QPointF(point), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    app.sendEvent(view.viewport(), event)
    return move.isAccepted(), event.isAccepted()


def gap_between(scene, left: int, right: int) -> QPointF:
    a, b = scene.group_items[left].rect, scene.group_items[right].rect
    return QPointF((a.right() + b.left()) / 2, (a.center().y() + b.center().y()) / 2)


def test_dragging_a_group_between_two_groups_inserts_it_and_ctrl_z_restores(window, qtbot):
    original = window.document.spec
    assert describe_groups(group_layers(original.layers)) == "3 x dense MLA, then 58 x MoE MLA"
    scene = window.canvas.arch_scene
    assert drag_to(window.canvas, gap_between(scene, 0, 1), "group:sliding") == (True, True)
    spec = window.document.spec
    assert spec.num_layers == original.num_layers + 6
    assert describe_groups(group_layers(spec.layers)) == (
        "3 x dense MLA, then 5 x dense sliding-window GQA, then 1 x dense GQA, then 58 x MoE MLA")
    assert spec.layers[:3] == original.layers[:3] and spec.layers[9:] == original.layers[3:]
    window_sizes = {layer.mixer.sliding_window for layer in spec.layers[3:8]}
    assert window_sizes == {4096} and isinstance(spec.layers[8].mixer, Attention)
    assert spec.validate() == []
    # the summary and the canvas follow at once
    assert window.summary.values["total"].text() == human_count(analyze(spec).total_params)
    assert window.summary.values["total"].text() != human_count(analyze(original).total_params)
    assert len(scene.group_items) == 4
    assert scene.insert_marker is None  # the drag's marker is gone after the drop
    assert window.document.undo_stack.undoText().startswith("Insert 5 x dense sliding-window GQA")
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.document.spec == original
    assert window.summary.values["total"].text() == human_count(analyze(original).total_params)


def test_a_group_dropped_past_the_last_group_appends_it(window):
    original = window.document.spec
    scene = window.canvas.arch_scene
    last = scene.group_items[-1].rect
    assert drag_to(window.canvas, QPointF(last.right() - 5, last.center().y()), "group:linear") == (True, True)
    spec = window.document.spec
    assert spec.layers[:original.num_layers] == original.layers
    added = spec.layers[original.num_layers:]
    assert [type(layer.mixer).__name__ for layer in added] == ["GatedDeltaNet"] * 3 + ["MultiHeadLatentAttention"]
    assert window.summary.values["active"].text() == human_count(analyze(spec).active_params)


def test_hovering_marks_the_boundary_and_leaving_clears_it(window):
    scene = window.canvas.arch_scene
    assert drag_to(window.canvas, gap_between(scene, 0, 1), "group:moe", drop=False) == (True, False)
    marker = scene.insert_marker
    assert marker is not None and not marker.refused
    assert scene.group_items[0].rect.right() < marker.rect.center().x() < scene.group_items[1].rect.left()
    QApplication.sendEvent(window.canvas.viewport(), QDragLeaveEvent())
    assert scene.insert_marker is None


def test_an_insert_that_would_break_the_spec_is_refused_and_changes_nothing(window, qtbot):
    document = window.document
    # an edit that leaves the model's attention broken: the dense group would copy it
    every_layer = list(range(document.spec.num_layers))
    document.undo_stack.push(SetLayerField(document, every_layer, "mixer.num_heads", 0))
    before, count = document.spec, document.undo_stack.count()
    scene = window.canvas.arch_scene
    assert drag_to(window.canvas, gap_between(scene, 0, 1), "group:dense", drop=False) == (False, False)
    assert scene.insert_marker is not None and scene.insert_marker.refused
    assert drag_to(window.canvas, gap_between(scene, 0, 1), "group:dense") == (False, False)
    message = window.statusBar().currentMessage()
    assert message.startswith("Refused: Dense attention + FFN") and "num_heads: must be positive" in message
    assert document.spec == before and document.undo_stack.count() == count


def test_the_palette_sizes_its_groups_from_the_open_model(window):
    items = window.palette.group_items
    assert "4 x MoE MLA" in items["group:moe"].text(0)
    dragged = window.palette.mimeData([items["group:moe"]])  # what a drag from the item carries
    assert bytes(dragged.data(MIME_TYPE)) == b"group:moe"
    window.open_entry("nemotron-3-nano-30b-a3b")
    assert "3 x dense Mamba-2" in items["group:linear"].text(0)
    window.open_entry("qwen3-next-80b-a3b")
    assert "3 x MoE Gated DeltaNet + 1 x MoE gated GQA" in items["group:linear"].text(0)


@pytest.mark.parametrize("name", catalog.names())
def test_every_template_of_every_entry_inserts_a_valid_spec(name):
    spec = catalog.get(name)
    groups = group_layers(spec.layers)
    for template in templates_for(spec):
        layers, _ = insert_edit(spec, groups, len(groups), template.key)
        after = spec.with_layers(spec.layers + layers)
        assert after.validate() == [], (name, template.key)
    nemotron = templates_for(catalog.get("nemotron-3-nano-30b-a3b"))
    assert isinstance(nemotron[3].layers[0].mixer, Mamba2)
    assert isinstance(templates_for(catalog.get("llama3-8b"))[1].layers[0].ffn, MoE)


# --- the inspector's group edits ---------------------------------------------------------


def select_group(window, group_index: int) -> None:
    window.canvas.arch_scene.slot_item(group_index, 0, "mixer").setSelected(True)


def test_removing_a_group_from_the_inspector_undoes(window, qtbot):
    original = window.document.spec
    select_group(window, 0)
    qtbot.mouseClick(window.inspector.group_buttons["Remove"], Qt.LeftButton)
    assert window.document.spec.layers == original.layers[3:]
    assert window.summary.spec == window.document.spec
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.document.spec == original


def test_reordering_groups_from_the_inspector_undoes(window, qtbot):
    original = window.document.spec
    select_group(window, 1)
    qtbot.mouseClick(window.inspector.group_buttons["Earlier"], Qt.LeftButton)
    assert window.document.spec.layers == original.layers[3:] + original.layers[:3]
    select_group(window, 0)
    qtbot.mouseClick(window.inspector.group_buttons["Later"], Qt.LeftButton)
    assert window.document.spec == original
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.document.spec == original and not window.document.undo_stack.canUndo()


def test_changing_a_group_count_from_the_inspector_undoes(window, qtbot):
    original = window.document.spec
    select_group(window, 1)
    editor = window.inspector.repeat_editor
    assert editor.value() == 58
    editor.setValue(10)
    editor.editingFinished.emit()
    assert window.document.spec.num_layers == 13
    assert window.summary.values["total"].text() == human_count(analyze(window.document.spec).total_params)
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.document.spec == original
