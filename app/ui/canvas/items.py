"""Scene items: a component box, a transformer block, a layer group's frame, one
layer's row. Each draws itself in paint() from theme constants."""

from __future__ import annotations

from contextlib import contextmanager

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject

from .. import theme
from ..labels import percent

PADDING = 6.0


class BoxItem(QGraphicsItem):
    """One component: attention, feed-forward, a norm, the embedding or the head.

    `slot` ("mixer", "ffn", "norm" or "" when nothing can be dropped on it) and
    `layer_indices` (the spec layers it stands for) tie it back to the document."""

    def __init__(self, rect: QRectF, kind: str, title: str, lines: list[str] = (), slot: str = "",
                 layer_indices: list[int] = (), group_index: int = -1, run_index: int = -1,
                 title_size: float = 9.0):
        super().__init__()
        self.rect = rect
        self.kind = kind
        self.title = title
        self.lines = list(lines)
        self.slot = slot
        self.layer_indices = list(layer_indices)
        self.group_index = group_index
        self.run_index = run_index
        self.title_size = title_size
        self.highlighted = False  # compare: differs from its counterpart
        self.drop_state = ""  # "ok" / "refused" while a drag hovers
        # while profiling: (value, strength 0..1, what the value is of: "of step" | "of roofline")
        self.heat: tuple[float, float, str] | None = None
        self.setFlag(QGraphicsItem.ItemIsSelectable, bool(slot) or kind == "embedding")
        self.setToolTip("\n".join([title, *self.lines]))
        self.label = CachedText(self)

    def boundingRect(self) -> QRectF:
        return self.rect.adjusted(-3, -8, 3, 3)  # the top margin holds the heat badge

    def set_drop_state(self, state: str) -> None:
        if state != self.drop_state:
            self.drop_state = state
            self.update()

    def set_heat(self, value: float | None, strength: float = 0.0, of: str = "of step") -> None:
        """Tint the box (strength 0..1) and badge it with a fraction: its share of the step
        time, or its fraction of roofline; None removes both."""
        heat = None if value is None else (value, strength, of)
        if heat != self.heat:
            self.heat = heat
            self.update()

    def badge_text(self) -> str:
        return f"{percent(self.heat[0])} {self.heat[2]}" if self.heat is not None else ""

    def paint(self, painter: QPainter, option, widget=None) -> None:
        """The box and its tint; its text is the child `label` (see CachedText)."""
        painter.setRenderHint(QPainter.Antialiasing)
        edge = theme.border(self.kind)
        width = 1.2
        if self.highlighted:
            edge, width = QColor(theme.HIGHLIGHT), 3.0
        if self.isSelected():
            edge, width = QColor(theme.SELECTED), 2.5
        if self.drop_state:
            edge, width = QColor(theme.DROP_OK if self.drop_state == "ok" else theme.DROP_REFUSED), 3.0
        painter.setPen(QPen(edge, width))
        painter.setBrush(QBrush(theme.fill(self.kind)))
        painter.drawRoundedRect(self.rect, 6, 6)
        if self.heat is not None:
            self._paint_heat(painter)

    def paint_text(self, painter: QPainter) -> None:
        y = self.rect.top() + 4
        title_lines, detail_lines = self.text_lines()
        if not self.lines:  # a title alone is centred in its box
            y = self.rect.center().y() - len(title_lines) * _line_height(self.title_font()) / 2
        self._draw_lines(painter, title_lines, self.title_font(), QColor(theme.TEXT), y)
        if detail_lines:
            y += len(title_lines) * _line_height(self.title_font()) + 1
            self._draw_lines(painter, detail_lines, self.detail_font(), QColor(theme.MUTED_TEXT), y)

    def title_font(self):
        return theme.font(self.title_size, bold=True)

    def detail_font(self):
        return theme.font(self.title_size - 1.0)

    def text_width(self) -> float:
        return self.rect.width() - 2 * PADDING

    def text_lines(self) -> tuple[list[str], list[str]]:
        """The title and the detail lines as drawn: wrapped at words to the box's width."""
        width = self.text_width()
        title = wrap(self.title, self.title_font(), width)
        details = [part for line in self.lines for part in wrap(line, self.detail_font(), width)]
        return title, details

    def _draw_lines(self, painter: QPainter, lines: list[str], font, colour: QColor, y: float) -> None:
        painter.setFont(font)
        painter.setPen(colour)
        height = _line_height(font)
        left, width = self.rect.left() + PADDING, self.text_width()
        for line in lines:
            painter.drawText(QRectF(left, y, width, height), Qt.AlignHCenter | Qt.AlignVCenter,
                             _elide(line, font, width))
            y += height

    def _paint_heat(self, painter: QPainter) -> None:
        strength = self.heat[1]
        tint = QColor(theme.HEAT)
        tint.setAlpha(int(25 + 150 * strength))
        painter.setPen(Qt.NoPen)
        painter.setBrush(tint)
        painter.drawRoundedRect(self.rect, 6, 6)
        # the share in a badge on the top edge, clear of the centred title
        text = self.badge_text()
        font = theme.font(7.0, bold=True)
        width = QFontMetricsF(font).horizontalAdvance(text) + 8
        badge = QRectF(self.rect.right() - width - 4, self.rect.top() - 7, width, 13)
        painter.setBrush(QColor(theme.HEAT))
        painter.drawRoundedRect(badge, 6, 6)
        painter.setPen(QColor("#ffffff"))
        painter.setFont(font)
        painter.drawText(badge, Qt.AlignCenter, text)


class CachedText(QGraphicsItem):
    """What a box or a frame writes in itself (its `paint_text`), as a child item drawn
    once into a pixmap cache: laying the lines out (wrap, elide) is most of a paint, and
    while a run streams the tint repaints boxes several times a second under text that
    does not change. The owner's rect is final before it joins the scene."""

    def __init__(self, owner: QGraphicsItem):
        super().__init__(owner)
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.setAcceptedMouseButtons(Qt.NoButton)  # clicks, drops and tooltips go to the owner

    def boundingRect(self) -> QRectF:
        return self.parentItem().rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        self.parentItem().paint_text(painter)


@contextmanager
def text_drawn_afresh(scene):
    """Within: every CachedText paints its text again, for an export at another scale or
    to SVG (where a cached pixmap would replace the text)."""
    labels = [item for item in scene.items() if isinstance(item, CachedText)]
    for label in labels:
        label.setCacheMode(QGraphicsItem.NoCache)
    try:
        yield
    finally:
        for label in labels:
            label.setCacheMode(QGraphicsItem.DeviceCoordinateCache)


def _elide(text: str, font, width: float) -> str:
    return QFontMetricsF(font).elidedText(text, Qt.ElideRight, width)


def _line_height(font) -> float:
    return QFontMetricsF(font).height()


# Text is laid out a little narrower than its box: glyph advances at a zoomed-out scale
# are hinted to whole device pixels and come out slightly wider than the metrics say.
WRAP_SLACK = 3.0


def wrap(text: str, font, width: float) -> list[str]:
    """Greedy word wrap of `text` to `width`; a word wider than that gets a line of its
    own (and is elided when drawn)."""
    metrics = QFontMetricsF(font)
    lines, current = [], ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and metrics.horizontalAdvance(candidate) > width - WRAP_SLACK:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return lines


def fits(text: str, font, width: float) -> bool:
    return QFontMetricsF(font).horizontalAdvance(text) <= width


def box_height(lines: int, title_size: float = 9.0, title_lines: int = 1) -> float:
    title = QFontMetricsF(theme.font(title_size, True)).height() * title_lines
    detail = QFontMetricsF(theme.font(title_size - 1.0)).height()
    return 8 + title + 1 + lines * detail if lines else 8 + title + 4


def box_height_for(title: str, lines: list[str], width: float, title_size: float = 9.0) -> float:
    """The height of a box `width` wide once its title and lines are wrapped."""
    probe = BoxItem(QRectF(0, 0, width, 0), "none", title, lines, title_size=title_size)
    title_lines, detail_lines = probe.text_lines()
    return box_height(len(detail_lines), title_size, len(title_lines))


class AddItem(QGraphicsItem):
    """The residual sum: a circled plus on the main path."""

    RADIUS = 7.0

    def __init__(self, centre: QPointF):
        super().__init__()
        self.setPos(centre)

    def boundingRect(self) -> QRectF:
        r = self.RADIUS + 1
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(QPen(QColor(theme.RESIDUAL), 1.3))
        painter.setBrush(QColor("white"))
        r = self.RADIUS
        painter.drawEllipse(QPointF(0, 0), r, r)
        painter.drawLine(QPointF(-r + 3, 0), QPointF(r - 3, 0))
        painter.drawLine(QPointF(0, -r + 3), QPointF(0, r - 3))


class FrameItem(QGraphicsObject):
    """A rounded frame with a caption: a layer group (repeat badge, label, numbers) or a
    transformer block inside it."""

    def __init__(self, rect: QRectF, caption: str, detail: str = "", badge: str = "",
                 group_index: int = -1, dashed: bool = False, kind: str = "group"):
        super().__init__()
        self.rect = rect
        self.caption = caption
        self.detail = detail
        self.badge = badge
        self.group_index = group_index
        self.dashed = dashed
        self.kind = kind
        self.setZValue(-1)
        self.setToolTip("\n".join(text for text in (caption, detail) if text)
                        + ("\nDouble-click to expand into layers / collapse" if kind == "group" else ""))
        self.label = CachedText(self)

    def boundingRect(self) -> QRectF:
        return self.rect.adjusted(-2, -2, 2, 2)

    TOP = 6.0  # from the frame's top edge to its first line of text

    def badge_font(self):
        return theme.font(13, bold=True)

    def caption_font(self):
        return theme.font(9.5 if self.kind == "group" else 8.5, bold=True)

    def detail_font(self):
        return theme.font(8.0)

    def badge_rect(self) -> QRectF | None:
        if not self.badge:
            return None
        metrics = QFontMetricsF(self.badge_font())
        return QRectF(self.rect.left() + 10, self.rect.top() + self.TOP,
                      metrics.horizontalAdvance(self.badge) + 14, metrics.height() + 2)

    def text_rect(self) -> QRectF:
        """Where the caption and the detail lines go: right of the badge."""
        badge = self.badge_rect()
        left = badge.right() + 8 if badge is not None else self.rect.left() + 10
        return QRectF(left, self.rect.top() + self.TOP, self.rect.right() - 10 - left, 0)

    def text_lines(self) -> tuple[list[str], list[str]]:
        """The caption and detail lines as drawn: wrapped at words to the frame's width."""
        width = self.text_rect().width()
        caption = wrap(self.caption, self.caption_font(), width)
        details = [part for line in self.detail.split("\n") if line for part in wrap(line, self.detail_font(), width)]
        return caption, details

    def header_height(self) -> float:
        """From the top edge to below the caption, the detail lines and the badge."""
        caption, details = self.text_lines()
        text = len(caption) * _line_height(self.caption_font()) + len(details) * _line_height(self.detail_font())
        badge = self.badge_rect()
        return self.TOP + max(text, badge.height() if badge is not None else 0.0) + 4

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.Antialiasing)
        pen = QPen(QColor(theme.GROUP_BORDER), 1.2)
        if self.dashed:
            pen.setStyle(Qt.DashLine)
        painter.setPen(pen)
        painter.setBrush(QColor(theme.GROUP_FILL if self.kind == "group" else "#fbfbfc"))
        radius = 10 if self.kind == "group" else 7
        painter.drawRoundedRect(self.rect, radius, radius)

    def paint_text(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.Antialiasing)
        badge = self.badge_rect()
        if badge is not None:
            painter.setFont(self.badge_font())
            painter.setPen(Qt.NoPen)
            painter.setBrush(QColor("#343a46"))
            painter.drawRoundedRect(badge, 5, 5)
            painter.setPen(QColor("white"))
            painter.drawText(badge, Qt.AlignCenter, self.badge)
        area = self.text_rect()
        caption, details = self.text_lines()
        y = area.top()
        for lines, font, colour in ((caption, self.caption_font(), theme.TEXT),
                                    (details, self.detail_font(), theme.MUTED_TEXT)):
            painter.setFont(font)
            painter.setPen(QColor(colour))
            height = _line_height(font)
            for line in lines:
                painter.drawText(QRectF(area.left(), y, area.width(), height), Qt.AlignLeft | Qt.AlignVCenter,
                                 _elide(line, font, area.width()))
                y += height


class LayerRowItem(BoxItem):
    """One layer of an expanded group: its index, mixer and feed-forward in one row."""

    def __init__(self, rect: QRectF, index: int, kind: str, text: str, group_index: int):
        super().__init__(rect, kind, f"{index:>3}  {text}", [], slot="", layer_indices=[index],
                         group_index=group_index, title_size=8.0)
        self.layer_index = index
        self.setFlag(QGraphicsItem.ItemIsSelectable, True)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(QPen(QColor(theme.SELECTED) if self.isSelected() else theme.border(self.kind), 1.0))
        painter.setBrush(theme.fill(self.kind))
        painter.drawRoundedRect(self.rect, 3, 3)

    def paint_text(self, painter: QPainter) -> None:
        painter.setPen(QColor(theme.TEXT))
        font = theme.font(8.0)
        painter.setFont(font)
        inner = self.rect.adjusted(5, 0, -5, 0)
        painter.drawText(inner, Qt.AlignLeft | Qt.AlignVCenter, _elide(self.title, font, inner.width()))


class InsertMarkerItem(QGraphicsItem):
    """Where a dragged layer group would go: a bar between two groups, green when the
    insert is valid, red when it is refused."""

    WIDTH = 6.0

    def __init__(self, x: float, top: float, bottom: float, refused: bool = False):
        super().__init__()
        self.rect = QRectF(x - self.WIDTH / 2, top, self.WIDTH, bottom - top)
        self.refused = refused
        self.setZValue(5)

    def boundingRect(self) -> QRectF:
        return self.rect.adjusted(-10, -12, 10, 2)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.Antialiasing)
        colour = QColor(theme.DROP_REFUSED if self.refused else theme.DROP_OK)
        painter.setPen(Qt.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(self.rect, 3, 3)
        centre = QPointF(self.rect.center().x(), self.rect.top())
        painter.drawEllipse(centre, 9, 9)
        painter.setPen(QPen(QColor("white"), 2.0))
        painter.drawLine(QPointF(centre.x() - 4, centre.y()), QPointF(centre.x() + 4, centre.y()))
        if not self.refused:
            painter.drawLine(QPointF(centre.x(), centre.y() - 4), QPointF(centre.x(), centre.y() + 4))
