"""ArchitectureScene: lays out a spec the way the comparison article draws it.

Token embedding at the bottom left, then each layer group left to right (a frame with
its repeat count; inside, one transformer block per distinct layer of its period, drawn
bottom to top with the norms where they really are), then the final norm and the output
head above the last group. A group can be expanded into one row per layer.

The compare view asks for a `compact` layout (embedding left of the first group, head
right of the last, so the diagram is only as tall as its tallest block) and for
`block_lefts`: the least x of each block in drawing order, so that paired blocks of two
diagrams sit at the same x.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSimpleTextItem

from ...spec import ArchSpec
from ...spec.analysis import analyze
from ...spec.components import Layer
from .. import theme
from ..palette_drops import SLOT_FFN, SLOT_MIXER, SLOT_NORM
from ..grouping import Block, Group, group_layers
from ...units import human_bytes, human_count
from ..labels import ffn_text, mixer_text, norm_title
from .connectors import arrow, line, residual
from .ends import add_embedding, add_head
from .geometry import (
    BLOCK_HEADER,
    BLOCK_WIDTH,
    BOX_MARGIN,
    GAP,
    GROUP_GAP,
    GROUP_HEADER,
    GROUP_PADDING,
    NORM_HEIGHT,
    ROW_HEIGHT,
    ROW_WIDTH,
    ROWS_PER_COLUMN,
)
from .items import AddItem, BoxItem, FrameItem, InsertMarkerItem, LayerRowItem, box_height_for
from .vision_items import add_vision_front_end



def _ranges(indices: list[int]) -> str:
    """"0-4, 6-10, 12-16, ..." (at most three spans shown)."""
    spans, start = [], indices[0]
    for previous, current in zip(indices, indices[1:] + [None]):
        if current != previous + 1:
            spans.append(f"{start}" if start == previous else f"{start}-{previous}")
            start = current
    return ", ".join(spans[:3]) + (f", … ({len(spans)} spans)" if len(spans) > 3 else "")


class ArchitectureScene(QGraphicsScene):
    expandedChanged = Signal()  # a group was expanded into layers or collapsed

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackgroundBrush(QColor(theme.CANVAS_BACKGROUND))
        self.spec: ArchSpec | None = None
        self.groups: list[Group] = []
        self.expanded: set[int] = set()
        self.group_items: list[FrameItem] = []
        self.block_items: list[FrameItem] = []
        self.layer_items: list[LayerRowItem] = []
        self.slot_items: list[BoxItem] = []
        self.insert_marker: InsertMarkerItem | None = None
        self.compact = False
        self.block_lefts: list[float] = []  # the least x of each block, in drawing order
        self.placed_lefts: list[float] = []  # where each block went (its group's x when expanded)
        self.marks: set[tuple[int, int, str]] = set()  # (group, run, slot) of boxes drawn highlighted
        self.vision_items: list[BoxItem] = []  # a multimodal spec's encoder and projector
        # per layer: the mixer's and the feed-forward's share of the step, then the head's
        self.step_shares: tuple[list[float], list[float], float | None] | None = None
        # or the roofline's least time and the measured time, each (mixer ms, ffn ms per layer, head ms)
        self.roofline_times: tuple[tuple, tuple] | None = None
        self.profile_note = ""  # what the shares stand for, when not the drawn model itself
        self.profile_banner: QGraphicsSimpleTextItem | None = None
        self.head_item: BoxItem | None = None

    # --- building ------------------------------------------------------------------------

    def set_spec(self, spec: ArchSpec, groups: list[Group] | None = None) -> None:
        if self.spec is None or spec.num_layers != self.spec.num_layers:
            self.expanded = set()
        if spec != self.spec:
            self.step_shares = self.roofline_times = None  # a profile of another architecture does not apply
            self.profile_note = ""
            self.marks = set()
        self.spec = spec
        self.groups = groups if groups is not None else group_layers(spec.layers)
        self.expanded = {index for index in self.expanded if index < len(self.groups)}
        self.rebuild()

    def toggle_expanded(self, group_index: int) -> None:
        self.expanded ^= {group_index}
        self.rebuild()
        self.expandedChanged.emit()

    def set_marks(self, marks: set[tuple[int, int, str]]) -> None:
        """Outline the boxes keyed (group, run, slot): the compare view's differences."""
        self.marks = set(marks)
        for item in self.slot_items:
            item.highlighted = (item.group_index, item.run_index, item.slot) in self.marks
            item.update()

    def rebuild(self) -> None:
        self.clear()
        self.group_items, self.block_items, self.layer_items, self.slot_items = [], [], [], []
        self.insert_marker = None
        self.profile_banner = self.head_item = None
        if self.spec is None:
            return
        rows = analyze(self.spec).layers
        x = 0.0
        frames = []
        self._block_count = 0
        self.placed_lefts = []
        for group_index, group in enumerate(self.groups):
            frame = self._add_group(group_index, group, x, rows)
            frames.append(frame)
            x = frame.rect.right() + GROUP_GAP
        for left, right in zip(frames, frames[1:]):
            y = -min(left.rect.height(), right.rect.height()) / 2
            arrow(self, QPointF(left.rect.right() + 4, y), QPointF(right.rect.left() - 4, y))
        first = frames[0].rect if frames else QRectF(0, 0, BLOCK_WIDTH, 0)
        last = frames[-1].rect if frames else QRectF(0, 0, BLOCK_WIDTH, 0)
        self.embedding_item = add_embedding(self, first, self.compact)
        self.final_norm_item, self.head_item = add_head(self, last, self.compact)
        self.vision_items = add_vision_front_end(self, self.embedding_item.rect) if self.spec.vision else []
        self._tint()
        self.setSceneRect(self.itemsBoundingRect().adjusted(-30, -30, 30, 30))

    def block_left(self, x: float) -> float:
        """Where the next block goes: at x, or further right to line up with the other
        diagram's block of the same rank."""
        rank = self._block_count
        self._block_count += 1
        left = max(x, self.block_lefts[rank]) if rank < len(self.block_lefts) else x
        self.placed_lefts.append(left)
        return left

    def _add_group(self, group_index: int, group: Group, x: float, rows) -> FrameItem:
        params = sum(rows[i].params for i in group.layer_indices())
        kv = sum(rows[i].kv_bytes_per_token(2) for i in group.layer_indices())
        first, last = group.start, group.stop - 1
        laurel = {self.spec.layers[i].laurel_rank for i in group.layer_indices()} - {0}
        detail = (f"layers {first}-{last} · {human_count(params)} params"
                  + (f"\nKV {human_bytes(kv)}/token (bf16)" if kv else "")
                  + (f"\nLAuReL residual, rank {max(laurel)}" if laurel else ""))
        badge = f"× {group.repeat}" if group.repeat > 1 else f"× {group.size}" if len(group.runs) == 1 else ""
        rank = self._block_count
        if rank < len(self.block_lefts):  # the frame moves with its first block
            x = max(x, self.block_lefts[rank] - GROUP_PADDING)
        blocks = group.blocks()
        if group_index in self.expanded:
            self._block_count += len(blocks)
            self.placed_lefts += [x + GROUP_PADDING] * len(blocks)
            inner_items = self._layer_rows(group_index, group, x + GROUP_PADDING)
            width = max(inner_items[0], BLOCK_WIDTH)
            height = inner_items[1]
            marker = "▾ "
        else:
            right, height = x + GROUP_PADDING - GAP, 0.0
            for block in blocks:
                left = self.block_left(right + GAP)
                block_height = self._add_block(group_index, group, block, left)
                right = left + BLOCK_WIDTH
                height = max(height, block_height)
            width = right - x - GROUP_PADDING
            marker = "▸ "
        frame = FrameItem(QRectF(x, 0, width + 2 * GROUP_PADDING, 0), marker + group.caption(), detail, badge,
                          group_index)
        header = max(GROUP_HEADER, frame.header_height())
        frame.rect = QRectF(x, -(height + header + GROUP_PADDING), width + 2 * GROUP_PADDING,
                            height + header + GROUP_PADDING)
        frame.setToolTip(f"{group.label()}\n{detail}\nDouble-click to expand into layers / collapse")
        self.addItem(frame)
        self.group_items.append(frame)
        return frame

    def _layer_rows(self, group_index: int, group: Group, x: float) -> tuple[float, float]:
        indices = group.layer_indices()
        columns = (len(indices) + ROWS_PER_COLUMN - 1) // ROWS_PER_COLUMN
        rows_in_column = min(len(indices), ROWS_PER_COLUMN)
        height = rows_in_column * (ROW_HEIGHT + 3)
        for position, index in enumerate(indices):
            column, row = divmod(position, ROWS_PER_COLUMN)
            top = -height + row * (ROW_HEIGHT + 3) - GROUP_PADDING / 2
            layer = self.spec.layers[index]
            title, _ = mixer_text(layer.mixer)
            ffn_title, ffn_lines = ffn_text(layer.ffn)
            text = f"{title} · {ffn_title.replace(' feed-forward', '')}"
            item = LayerRowItem(QRectF(x + column * (ROW_WIDTH + 8), top, ROW_WIDTH, ROW_HEIGHT), index,
                                theme.mixer_kind(layer.mixer), text, group_index)
            self.addItem(item)
            self.layer_items.append(item)
        return columns * (ROW_WIDTH + 8) - 8, height

    def _sequence(self, layer: Layer) -> list[tuple[str, object]]:
        """Bottom-to-top elements of one block: ("norm"|"mixer"|"ffn"|"add", payload). A
        parallel block has one norm, its two sublayers on that one input, and one sum."""
        if layer.parallel:
            return [("norm", "pre"), (SLOT_MIXER, layer.mixer), (SLOT_FFN, layer.ffn), ("add", 0)]
        sequence = []
        for slot, part in ((SLOT_MIXER, layer.mixer), (SLOT_FFN, layer.ffn)):
            if part is None:  # drawn as an empty slot that a palette item can fill
                sequence.append((slot, None))
                continue
            start = len(sequence)
            if layer.norm_placement in ("pre", "sandwich"):
                sequence.append(("norm", "pre"))
            sequence.append((slot, part))
            if layer.norm_placement in ("post", "sandwich"):
                sequence.append(("norm", "post"))
            sequence.append(("add", start))
        return sequence

    def _add_block(self, group_index: int, group: Group, block: Block, x: float) -> float:
        layer = block.layer
        indices = group.block_layer_indices(block)
        # boxes are keyed (group, run, slot) by the block's first run: the compare view's marks
        run_index = block.run_indices[0]
        box_width = BLOCK_WIDTH - 2 * BOX_MARGIN
        left = x + BOX_MARGIN
        centre = x + BLOCK_WIDTH / 2
        elements = []
        for kind, payload in self._sequence(layer):
            if kind == "norm":
                elements.append((kind, payload, NORM_HEIGHT))
            elif kind == "add":
                elements.append((kind, payload, 2 * AddItem.RADIUS))
            else:
                title, lines = mixer_text(payload) if kind == SLOT_MIXER else ffn_text(payload)
                if layer.parallel and kind == SLOT_FFN:
                    lines = ["parallel: reads the mixer's normed input", *lines]
                elements.append((kind, (payload, title, lines), box_height_for(title, lines, box_width)))
        frame = FrameItem(QRectF(x, 0, BLOCK_WIDTH, 0), f"{len(indices)} x {group.block_label(block)}",
                          "", "", group_index, kind="block")
        header = max(BLOCK_HEADER, frame.header_height())
        content = sum(height for *_, height in elements) + GAP * (len(elements) + 1)
        block_height = content + header
        bottom = -GROUP_PADDING
        top = bottom - block_height
        frame.rect = QRectF(x, top, BLOCK_WIDTH, block_height)
        frame.setToolTip(f"{group.block_label(block)}\nlayers {_ranges(indices)}")
        frame.setZValue(-0.8)
        self.addItem(frame)
        self.block_items.append(frame)
        # the main path, bottom to top
        line(self, QPointF(centre, bottom), QPointF(centre, top + header))
        y = bottom - GAP
        starts: list[float] = []
        for kind, payload, height in elements:
            rect = QRectF(left, y - height, box_width, height)
            if kind == "add":
                start_y = starts[payload]
                residual(self, centre, start_y, y - AddItem.RADIUS, left + box_width + 7)
                self.addItem(AddItem(QPointF(centre, y - AddItem.RADIUS)))
            elif kind == "norm":
                item = BoxItem(rect.adjusted(box_width * 0.1, 0, -box_width * 0.1, 0), "norm",
                               ("Post-" if payload == "post" else "") + norm_title(layer.norm)
                               + (" (shared)" if layer.parallel else ""), [],
                               SLOT_NORM, indices, group_index, run_index, title_size=8.0)
                item.setToolTip(("parallel block: the mixer and the feed-forward both read this norm's output, "
                                 "and both add to the residual at once; " if layer.parallel else "")
                                + f"{layer.norm_placement}-norm placement ({norm_title(layer.norm)}); "
                                "drop a norm placement or norm kind here")
                self._add_slot(item)
            else:
                part, title, lines = payload
                box_kind = theme.mixer_kind(part) if kind == SLOT_MIXER else theme.ffn_kind(part)
                self._add_slot(BoxItem(rect, box_kind, title, lines, kind, indices, group_index, run_index))
            starts.append(y + GAP / 2)
            y -= height + GAP
        return block_height

    def _add_slot(self, item: BoxItem) -> None:
        item.highlighted = (item.group_index, item.run_index, item.slot) in self.marks
        self.addItem(item)
        self.slot_items.append(item)

    # --- the profile on the diagram -----------------------------------------------------------

    def show_step_shares(self, mixer: list[float] | None, ffn: list[float] | None = None,
                         head: float | None = None, note: str = "") -> None:
        """Tint each attention and feed-forward box, and the output head, by its share of
        the whole step (fractions; a box standing for several layers sums them); note: a
        line over the diagram saying what the shares stand for. None clears it all."""
        self.step_shares = (list(mixer), list(ffn or []), head) if mixer else None
        self.roofline_times = None
        self.profile_note = note if mixer else ""
        self._tint()

    def show_roofline_fractions(self, predicted: tuple | None, measured: tuple | None = None,
                                note: str = "") -> None:
        """Badge each attention and feed-forward box, and the output head, with its fraction
        of roofline: the roofs' least time over the measured time (a box standing for several
        layers divides their sums). predicted, measured: (mixer ms per layer, feed-forward ms
        per layer, head ms or None). None clears it all."""
        self.roofline_times = (predicted, measured) if predicted is not None and measured is not None else None
        self.step_shares = None
        self.profile_note = note if self.roofline_times is not None else ""
        self._tint()

    def _tint(self) -> None:
        shares, times = self.step_shares, self.roofline_times
        self._show_banner(self.profile_note if shares is not None or times is not None else "")
        boxes = [*self.slot_items, *([self.head_item] if self.head_item is not None else [])]
        layers = shares[0] if shares is not None else times[0][0] if times is not None else None
        if layers is None or self.spec is None or len(layers) != self.spec.num_layers:
            for item in boxes:
                item.set_heat(None)
            return
        if shares is not None:
            heat = self._per_box(shares)
            largest = max(heat.values(), default=0.0) or 1.0
            for item in boxes:
                share = heat.get(item)
                item.set_heat(share, share / largest if share is not None else 0.0)
            return
        predicted, measured = self._per_box(times[0]), self._per_box(times[1])
        for item in boxes:
            fraction = predicted[item] / measured[item] if measured.get(item) and item in predicted else None
            # the further a box is from its roofline, the stronger its tint: there time is lost
            item.set_heat(fraction, 1.0 - min(fraction, 1.0) if fraction is not None else 0.0, "of roofline")

    def _per_box(self, columns: tuple) -> dict:
        """columns: (a value per layer for the mixers, one for the feed-forwards, the head's
        or None): each box's sum over the layers it stands for, and the head's."""
        by_slot = {SLOT_MIXER: columns[0], SLOT_FFN: columns[1]}
        sums = {}
        for item in self.slot_items:
            column = by_slot.get(item.slot)
            if column:
                sums[item] = sum(column[i] for i in item.layer_indices if i < len(column))
        if columns[2] is not None and self.head_item is not None:
            sums[self.head_item] = columns[2]
        return sums

    def _show_banner(self, text: str) -> None:
        """The note in muted text above the diagram's top-left corner; '' removes it."""
        if self.profile_banner is not None:
            self.removeItem(self.profile_banner)
            self.profile_banner = None
        if not text:
            return
        bounds = self.itemsBoundingRect()
        self.profile_banner = QGraphicsSimpleTextItem(text)
        self.profile_banner.setFont(theme.font(9.0, bold=True))
        self.profile_banner.setBrush(QColor(theme.MUTED_TEXT))
        self.profile_banner.setPos(bounds.left(), bounds.top() - 24)
        self.addItem(self.profile_banner)
        self.setSceneRect(self.sceneRect().united(self.profile_banner.sceneBoundingRect().adjusted(-30, -30, 30, 30)))

    # --- inserting a layer group ----------------------------------------------------------

    def insertion_index(self, x: float) -> int:
        """The group boundary nearest to scene x: the number of groups whose centre lies
        left of it (0: before the first group, len(groups): after the last)."""
        return sum(1 for frame in self.group_items if frame.rect.center().x() < x)

    def insertion_x(self, at: int) -> float:
        """The middle of the gap where a group inserted before group `at` goes."""
        frames = self.group_items
        if not frames:
            return 0.0
        if at <= 0:
            return frames[0].rect.left() - GROUP_GAP / 2
        if at >= len(frames):
            return frames[-1].rect.right() + GROUP_GAP / 2
        return (frames[at - 1].rect.right() + frames[at].rect.left()) / 2

    def show_insertion(self, at: int | None, refused: bool = False) -> None:
        """Mark the boundary a dragged group would be inserted at; None removes the mark."""
        if self.insert_marker is not None:
            self.removeItem(self.insert_marker)
            self.insert_marker = None
        if at is None or not self.group_items:
            return
        top = min(frame.rect.top() for frame in self.group_items)
        bottom = max(frame.rect.bottom() for frame in self.group_items)
        self.insert_marker = InsertMarkerItem(self.insertion_x(at), top, bottom, refused)
        self.addItem(self.insert_marker)

    # --- lookups for views and tests ---------------------------------------------------------

    def slot_item(self, group_index: int, run_index: int, slot: str) -> BoxItem | None:
        for item in self.slot_items:
            if (item.group_index, item.run_index, item.slot) == (group_index, run_index, slot):
                return item
        return None
