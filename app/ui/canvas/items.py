"""Scene items: a component box, a transformer block, a layer group's frame, one
layer's row. Each draws itself in paint() from theme constants."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject

from .. import theme

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
        self.heat: tuple[float, float] | None = None  # (share of step time, strength 0..1) while profiling
        self.setFlag(QGraphicsItem.ItemIsSelectable, bool(slot) or kind == "embedding")
        self.setToolTip("\n".join([title, *self.lines]))

    def boundingRect(self) -> QRectF:
        return self.rect.adjusted(-3, -8, 3, 3)  # the top margin holds the heat badge

    def set_drop_state(self, state: str) -> None:
        if state != self.drop_state:
            self.drop_state = state
            self.update()

    def set_heat(self, share: float | None, strength: float = 0.0) -> None:
        """Tint the box by its share of the step time; None removes the tint."""
        heat = None if share is None else (share, strength)
        if heat != self.heat:
            self.heat = heat
            self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
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
        painter.setPen(QColor(theme.TEXT))
        title_font = theme.font(self.title_size, bold=True)
        painter.setFont(title_font)
        inner = self.rect.adjusted(PADDING, 3, -PADDING, -3)
        if not self.lines:
            painter.drawText(inner, Qt.AlignCenter, _elide(self.title, title_font, inner.width()))
            return
        metrics = QFontMetricsF(title_font)
        y = inner.top()
        painter.drawText(QRectF(inner.left(), y, inner.width(), metrics.height()), Qt.AlignHCenter,
                         _elide(self.title, title_font, inner.width()))
        y += metrics.height() + 1
        detail_font = theme.font(self.title_size - 1.0)
        painter.setFont(detail_font)
        painter.setPen(QColor(theme.MUTED_TEXT))
        line_height = QFontMetricsF(detail_font).height()
        for line in self.lines:
            painter.drawText(QRectF(inner.left(), y, inner.width(), line_height), Qt.AlignHCenter,
                             _elide(line, detail_font, inner.width()))
            y += line_height


    def _paint_heat(self, painter: QPainter) -> None:
        share, strength = self.heat
        tint = QColor(theme.HEAT)
        tint.setAlpha(int(25 + 150 * strength))
        painter.setPen(Qt.NoPen)
        painter.setBrush(tint)
        painter.drawRoundedRect(self.rect, 6, 6)
        # the share in a badge on the top edge, clear of the centred title
        text = f"{share:.0%} of step"
        font = theme.font(7.0, bold=True)
        width = QFontMetricsF(font).horizontalAdvance(text) + 8
        badge = QRectF(self.rect.right() - width - 4, self.rect.top() - 7, width, 13)
        painter.setBrush(QColor(theme.HEAT))
        painter.drawRoundedRect(badge, 6, 6)
        painter.setPen(QColor("#ffffff"))
        painter.setFont(font)
        painter.drawText(badge, Qt.AlignCenter, text)


def _elide(text: str, font, width: float) -> str:
    return QFontMetricsF(font).elidedText(text, Qt.ElideRight, width)


def box_height(lines: int, title_size: float = 9.0) -> float:
    title = QFontMetricsF(theme.font(title_size, True)).height()
    detail = QFontMetricsF(theme.font(title_size - 1.0)).height()
    return 8 + title + 1 + lines * detail if lines else 8 + title + 4


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

    def boundingRect(self) -> QRectF:
        return self.rect.adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.Antialiasing)
        pen = QPen(QColor(theme.GROUP_BORDER), 1.2)
        if self.dashed:
            pen.setStyle(Qt.DashLine)
        painter.setPen(pen)
        painter.setBrush(QColor(theme.GROUP_FILL if self.kind == "group" else "#fbfbfc"))
        painter.drawRoundedRect(self.rect, 10 if self.kind == "group" else 7, 10 if self.kind == "group" else 7)
        left = self.rect.left() + 10
        top = self.rect.top() + 6
        if self.badge:
            badge_font = theme.font(13, bold=True)
            painter.setFont(badge_font)
            metrics = QFontMetricsF(badge_font)
            badge_rect = QRectF(left, top, metrics.horizontalAdvance(self.badge) + 14, metrics.height() + 2)
            painter.setPen(Qt.NoPen)
            painter.setBrush(QColor("#343a46"))
            painter.drawRoundedRect(badge_rect, 5, 5)
            painter.setPen(QColor("white"))
            painter.drawText(badge_rect, Qt.AlignCenter, self.badge)
            left = badge_rect.right() + 8
        caption_font = theme.font(9.5 if self.kind == "group" else 8.5, bold=True)
        painter.setFont(caption_font)
        painter.setPen(QColor(theme.TEXT))
        width = self.rect.right() - 10 - left
        metrics = QFontMetricsF(caption_font)
        painter.drawText(QRectF(left, top, width, metrics.height()), Qt.AlignLeft | Qt.AlignVCenter,
                         _elide(self.caption, caption_font, width))
        if self.detail:
            detail_font = theme.font(8.0)
            painter.setFont(detail_font)
            painter.setPen(QColor(theme.MUTED_TEXT))
            line_height = QFontMetricsF(detail_font).height()
            for number, line in enumerate(self.detail.split("\n")):
                painter.drawText(QRectF(left, top + metrics.height() + number * line_height, width, line_height),
                                 Qt.AlignLeft | Qt.AlignVCenter, _elide(line, detail_font, width))


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
