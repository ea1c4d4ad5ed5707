"""The canvas draws a vision front-end: method A's encoder and projector beside the
token embedding; a text-only entry draws none."""

import pytest

from app.spec import catalog
from app.ui.canvas import CanvasView


@pytest.fixture
def view(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    return view


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
