"""The canvas draws a vision front-end: method A's encoder and projector beside the
token embedding; a text-only entry draws none. The projector's arrow ends on the box it
feeds: the token embedding (method A) or a cross-attention layer (method B)."""

import math

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsPolygonItem

from app.spec import catalog
from app.ui.canvas.items import BoxItem


def test_unified_embedding_draws_the_encoder_and_projector(view):
    scene = view.arch_scene
    scene.set_spec(catalog.get("gemma3-4b-vision"))
    titles = [item.title for item in scene.vision_items]
    assert titles == ["Vision encoder (ViT)", "Projector"]
    encoder, projector = scene.vision_items
    assert "4,096" in encoder.lines[0] and "27 layers" in encoder.lines[1]
    assert "256 tokens" in projector.lines[0]
    # left of the token embedding, which their image tokens join
    assert encoder.rect.right() < projector.rect.left() < scene.embedding_item.rect.left()
    scene.set_spec(catalog.get("gemma3-4b"))
    assert scene.vision_items == []


def test_cross_attention_layers_are_marked_and_fed_by_the_encoder(view):
    scene = view.arch_scene
    spec = catalog.get("llama3.2-11b-vision")
    scene.set_spec(spec)
    encoder, projector = scene.vision_items
    assert "4 tiles" in encoder.lines[0] and "32 + 8 gated layers" in encoder.lines[1]
    assert "7,680→4,096" in projector.lines[0]
    crossing = [i for i, layer in enumerate(spec.layers) if layer.mixer_kind == "cross_attention"]
    assert crossing == [3, 8, 13, 18, 23, 28, 33, 38]
    marked = sorted(i for box in scene.slot_items if box.slot == "mixer" and box.kind == "vision"
                    for i in box.layer_indices)
    assert marked == crossing
    assert all(box.title == "Cross-attention to the image" for box in scene.slot_items
               if box.slot == "mixer" and box.kind == "vision")


VISION_ENTRIES = [name for name in catalog.names() if catalog.get(name).vision is not None]


def _distance_to_edge(point: QPointF, rect: QRectF) -> float:
    """How far the point is from the rect's outline, from inside or outside."""
    dx = max(rect.left() - point.x(), 0.0, point.x() - rect.right())
    dy = max(rect.top() - point.y(), 0.0, point.y() - rect.bottom())
    if dx or dy:
        return math.hypot(dx, dy)
    return min(point.x() - rect.left(), rect.right() - point.x(), point.y() - rect.top(), rect.bottom() - point.y())


def _route_from(scene, box: QRectF) -> list[QPointF]:
    """The points of the line that leaves `box`, followed segment by segment to its end."""
    segments = [item.line() for item in scene.items() if isinstance(item, QGraphicsLineItem)]
    leaving = [segment for segment in segments if _distance_to_edge(segment.p1(), box) <= 5
               and _distance_to_edge(segment.p2(), box) > 5]
    assert len(leaving) == 1, "one line leaves the projector"
    route = [leaving[0].p1(), leaving[0].p2()]
    while following := [segment for segment in segments if (segment.p1() - route[-1]).manhattanLength() < 0.5]:
        route.append(following[0].p2())
    return route


def _fed_box(scene):
    """What the projector feeds: the token embedding (unified embedding) or the first
    box drawn for a cross-attention layer (a block's mixer, or the row of an expanded group)."""
    if scene.spec.vision.method != "cross_attention":
        return scene.embedding_item
    layers = scene.spec.layers
    boxes = [item for item in scene.slot_items if item.slot == "mixer"] + scene.layer_items
    crossing = [item for item in boxes if any(layers[i].mixer_kind == "cross_attention" for i in item.layer_indices)]
    return min(crossing, key=lambda item: item.rect.left())


@pytest.mark.parametrize("expanded", [False, True])
@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("name", VISION_ENTRIES)
def test_the_projector_arrow_ends_on_the_box_it_feeds(view, name, compact, expanded):
    scene = view.arch_scene
    scene.compact = compact
    scene.set_spec(catalog.get(name))
    if expanded:
        scene.toggle_expanded(0)
    projector, target = scene.vision_items[1], _fed_box(scene)
    route = _route_from(scene, projector.rect)
    end = route[-1]
    assert _distance_to_edge(end, target.rect) <= 2, (name, end, target.rect)
    tips = [item.polygon()[0] for item in scene.items() if isinstance(item, QGraphicsPolygonItem)]
    assert any((tip - end).manhattanLength() < 0.5 for tip in tips), "an arrowhead at the end"
    # on its way it runs over no other box
    others = [item.rect.adjusted(1, 1, -1, -1) for item in scene.items()
              if isinstance(item, BoxItem) and item not in (projector, target)]
    for a, b in zip(route, route[1:]):
        steps = max(1, int((b - a).manhattanLength() / 2))
        points = [a + (b - a) * (step / steps) for step in range(steps + 1)]
        assert not any(rect.contains(point) for rect in others for point in points), (name, a, b)
