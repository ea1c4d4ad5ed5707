"""The lines between the canvas' boxes: the residual stream, arrows, and captions under a
box. Free functions on a scene, for the layer blocks, the model's ends and the vision
front-end alike."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsPolygonItem, QGraphicsScene

from .. import theme
from .items import AddItem

ARROW_SIZE = 7.0
BEHIND_BOXES = -0.5  # z: lines run under the boxes they join


def _pen() -> QPen:
    return QPen(QColor(theme.RESIDUAL), 1.3)


def line(scene: QGraphicsScene, a: QPointF, b: QPointF) -> None:
    item = scene.addLine(a.x(), a.y(), b.x(), b.y(), _pen())
    item.setZValue(BEHIND_BOXES)


def residual(scene: QGraphicsScene, centre: float, start_y: float, add_y: float, right: float) -> None:
    """The skip connection: out to `right` at start_y, up to add_y, into the sum at centre."""
    path = QPainterPath(QPointF(centre, start_y))
    path.lineTo(right, start_y)
    path.lineTo(right, add_y)
    path.lineTo(centre + AddItem.RADIUS, add_y)
    item = QGraphicsPathItem(path)
    item.setPen(_pen())
    item.setZValue(BEHIND_BOXES)
    scene.addItem(item)


def arrow(scene: QGraphicsScene, a: QPointF, b: QPointF) -> None:
    line(scene, a, b)
    direction = b - a
    length = max((direction.x() ** 2 + direction.y() ** 2) ** 0.5, 1e-6)
    ux, uy = direction.x() / length, direction.y() / length
    size = ARROW_SIZE
    tip = b
    left = QPointF(tip.x() - ux * size - uy * size * 0.5, tip.y() - uy * size + ux * size * 0.5)
    right = QPointF(tip.x() - ux * size + uy * size * 0.5, tip.y() - uy * size - ux * size * 0.5)
    head = QGraphicsPolygonItem(QPolygonF([tip, left, right]))
    head.setBrush(QColor(theme.RESIDUAL))
    head.setPen(Qt.NoPen)
    scene.addItem(head)


def elbow_arrow(scene: QGraphicsScene, points: list[QPointF]) -> None:
    """An arrow along a path of straight segments, its head at the last point."""
    for a, b in zip(points, points[1:-1]):
        line(scene, a, b)
    arrow(scene, points[-2], points[-1])


def caption(scene: QGraphicsScene, at: QPointF, text: str) -> None:
    item = scene.addSimpleText(text, theme.font(8.0))
    item.setBrush(QColor(theme.MUTED_TEXT))
    item.setPos(at)
