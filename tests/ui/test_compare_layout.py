"""The diagrams stay legible: no two boxes overlap, every label fits its box, and the
compare view shows very wide pairs at 1280x800 at a readable scale, block by block,
with the delta table's text unclipped."""

import itertools

import pytest
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QDockWidget, QStyle

from app.spec import catalog
from app.ui.canvas.items import BoxItem, fits
from app.ui.canvas.scene import ArchitectureScene
from app.ui.compare_model import differing_slots
from app.ui.compare_view import MIN_READABLE_SCALE
from app.ui.main_window import MainWindow

WIDE_PAIRS = [
    ("deepseek-v3", "llama4-maverick"),
    ("qwen3-next-80b-a3b", "kimi-linear-48b-a3b"),
    ("grok-2.5", "qwen3-235b-a22b"),
    ("nemotron-3-nano-30b-a3b", "qwen3-next-80b-a3b"),
    ("mimo-v2-flash", "gemma3-27b"),
]


def _overlaps(named_rects) -> list[str]:
    return [f"{a} overlaps {b}" for (a, ra), (b, rb) in itertools.combinations(named_rects, 2) if ra.intersects(rb)]


def layout_problems(scene: ArchitectureScene) -> list[str]:
    """Every overlap of boxes or frames, and every label that does not fit its box."""
    problems = []
    boxes = [item for item in scene.items() if isinstance(item, BoxItem)]
    problems += _overlaps([(f"box {item.title!r} of group {item.group_index}", item.rect) for item in boxes])
    problems += _overlaps([(f"block {frame.caption!r}", frame.rect) for frame in scene.block_items])
    outside = [scene.embedding_item, scene.final_norm_item, scene.head_item]
    problems += _overlaps([(f"group {frame.caption!r}", frame.rect) for frame in scene.group_items]
                          + [(item.title, item.rect) for item in outside])
    for item in boxes:
        title_lines, detail_lines = item.text_lines()
        for line, font in [(line, item.title_font()) for line in title_lines] + [
                (line, item.detail_font()) for line in detail_lines]:
            if not fits(line, font, item.text_width()):
                problems.append(f"{line!r} is wider than its box {item.title!r}")
        height = (len(title_lines) * QFontMetrics(item.title_font()).height()
                  + len(detail_lines) * QFontMetrics(item.detail_font()).height())
        if height > item.rect.height() + 0.5:
            problems.append(f"the text of {item.title!r} is taller than its box")
    for frame in scene.group_items + scene.block_items:
        caption, details = frame.text_lines()
        width = frame.text_rect().width()
        problems += [f"{line!r} is wider than frame {frame.caption!r}" for line in caption
                     if not fits(line, frame.caption_font(), width)]
        problems += [f"{line!r} is wider than frame {frame.caption!r}" for line in details
                     if not fits(line, frame.detail_font(), width)]
        header_bottom = frame.rect.top() + frame.header_height()
        inside = [block for block in scene.block_items if block.group_index == frame.group_index] \
            if frame.kind == "group" else [box for box in boxes if box.rect.intersects(frame.rect)]
        for child in inside:
            if child is not frame and child.rect.top() < header_bottom - 0.5:
                problems.append(f"the header of {frame.caption!r} runs into {getattr(child, 'caption', '')}"
                                f"{getattr(child, 'title', '')!r}")
            if child is not frame and not frame.rect.contains(child.rect):
                problems.append(f"{getattr(child, 'caption', getattr(child, 'title', ''))!r} sticks out of "
                                f"{frame.caption!r}")
    return problems


@pytest.mark.parametrize("compact", [False, True])
def test_no_entry_has_overlapping_boxes_or_labels_wider_than_their_box(qtbot, compact):
    scene = ArchitectureScene()
    scene.compact = compact
    for name in catalog.names():
        scene.set_spec(catalog.get(name))
        assert layout_problems(scene) == [], name


@pytest.fixture(scope="module")
def compare_window(qapp, tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    window = MainWindow(settings=QSettings(str(folder / "settings.ini"), QSettings.IniFormat),
                        autosave_dir=folder / "data", entry="llama3-8b")
    window.resize(1280, 800)
    window.show()
    window.show_compare(True)
    yield window
    window.close()
    window.deleteLater()


@pytest.mark.parametrize("a, b", WIDE_PAIRS)
def test_wide_pairs_are_legible_side_by_side_at_1280x800(compare_window, qtbot, a, b):
    window = compare_window
    qtbot.waitExposed(window)
    assert (window.width(), window.height()) == (1280, 800)
    view = window.compare_view
    view.compare_names(a, b)
    qtbot.wait(10)  # the splitters settle
    left, right = view.left, view.right
    for canvas in (left, right):
        assert layout_problems(canvas.arch_scene) == [], canvas.arch_scene.spec.name
        scale = canvas.transform().m11()
        assert scale >= MIN_READABLE_SCALE  # text is not shrunk past reading
        # nothing cut off at the top or bottom: the whole height is in sight
        assert canvas.sceneRect().height() * scale <= canvas.viewport().height() + 1
        assert canvas.width() >= 500  # each side has half the window, not a sliver
    assert left.transform() == right.transform() and left.sceneRect() == right.sceneRect()
    # block by block: the n-th block of A stands at the x of the n-th block of B
    lefts_a = [frame.rect.left() for frame in left.arch_scene.block_items]
    lefts_b = [frame.rect.left() for frame in right.arch_scene.block_items]
    common = min(len(lefts_a), len(lefts_b))
    assert lefts_a[:common] == lefts_b[:common]
    # and they scroll together
    bar = left.horizontalScrollBar()
    bar.setValue(bar.maximum() // 2)
    assert right.horizontalScrollBar().value() == bar.value()
    # the differing boxes are outlined on both sides
    marks_a, marks_b = differing_slots(left.arch_scene.spec, right.arch_scene.spec)
    assert {(i.group_index, i.run_index, i.slot) for i in left.arch_scene.slot_items if i.highlighted} == marks_a
    assert {(i.group_index, i.run_index, i.slot) for i in right.arch_scene.slot_items if i.highlighted} == marks_b
    # the delta table: in sight, each cell's wrapped text within its row
    table = view.table
    assert table.isVisible() and table.viewport().height() >= 8 * 20
    margin = 2 * (table.style().pixelMetric(QStyle.PM_FocusFrameHMargin, None, table) + 1)  # the item view's
    for row in range(table.rowCount()):
        for column in range(3):
            cell = table.item(row, column)
            width = table.columnWidth(column) - margin
            metrics = QFontMetrics(cell.font().resolve(table.font()))
            needed = metrics.boundingRect(QRect(0, 0, width, 10_000), Qt.TextWordWrap, cell.text())
            assert needed.width() <= width and needed.height() <= table.rowHeight(row), (a, b, cell.text())


def test_leaving_compare_brings_the_docks_back(tmp_path, qtbot):
    window = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat),
                        autosave_dir=tmp_path / "data", entry="llama3-8b")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    shown = {dock.objectName() for dock in window.findChildren(QDockWidget) if dock.isVisible()}
    assert {"catalogDock", "paletteDock", "runDock"} <= shown
    window.show_compare(True, "deepseek-v3")
    assert not any(dock.isVisible() for dock in window.findChildren(QDockWidget))
    window.show_compare(False)
    assert {dock.objectName() for dock in window.findChildren(QDockWidget) if dock.isVisible()} == shown
