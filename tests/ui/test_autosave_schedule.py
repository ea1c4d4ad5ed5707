"""Autosave runs on the app's own timers: the first edit after opening or saving is written
a moment later, continuous editing is written while it goes on, and a document undone back
to its saved state is not written."""

import json
import time

from app.spec.serialize import spec_from_dict
from app.ui.autosave import AUTOSAVE_IDLE_MS, AUTOSAVE_LONGEST_MS
from tests.ui.test_canvas import send_drop


def autosaved(window):
    return spec_from_dict(json.loads(window.autosave_path.read_text())["spec"])


def test_the_first_edit_after_saving_is_autosaved_by_the_timer(open_window, qtbot, tmp_path):
    window = open_window("qwen3-0.6b")
    window.save_to(tmp_path / "saved.json")
    send_drop(window.canvas, window.canvas.arch_scene.slot_item(0, 0, "mixer"), "sliding")
    assert window.autosave_schedule.pending
    qtbot.waitUntil(window.autosave_path.exists, timeout=AUTOSAVE_IDLE_MS * 4)
    assert autosaved(window) == window.document.spec


def test_continuous_editing_is_autosaved_while_it_goes_on(open_window, qtbot):
    window = open_window("qwen3-0.6b")
    started = time.monotonic()
    for number in range(30):  # 3 s of edits, 100 ms apart: never a pause of AUTOSAVE_IDLE_MS
        send_drop(window.canvas, window.canvas.arch_scene.slot_item(0, 0, "mixer"), ("mla", "sliding")[number % 2])
        qtbot.wait(100)
        if window.autosave_path.exists():
            break
    assert window.autosave_path.exists(), "30 edits in 3 s and nothing written"
    assert time.monotonic() - started < AUTOSAVE_LONGEST_MS / 1e3 + 1.0


def test_an_edit_undone_before_the_timer_is_not_written(open_window, qtbot):
    window = open_window("qwen3-0.6b")
    send_drop(window.canvas, window.canvas.arch_scene.slot_item(0, 0, "mixer"), "sliding")
    window.document.undo_stack.undo()
    assert not window.autosave_schedule.pending
    qtbot.wait(AUTOSAVE_LONGEST_MS + 200)
    assert not window.autosave_path.exists()
