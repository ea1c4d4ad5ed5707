"""The canvas draws a vision front-end: method A's encoder and projector beside the
token embedding; a text-only entry draws none."""

from app.spec import catalog


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
