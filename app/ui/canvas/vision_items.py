"""The vision front-end on the canvas: for method A (unified embedding) the image encoder
and the projector, left of the token embedding that their image tokens join."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF

from ...spec.analysis import analyze
from ..labels import human_count
from .items import BoxItem, box_height

BOX_WIDTH = 200.0
GAP = 40.0


def add_vision_front_end(scene, embedding: QRectF) -> list[BoxItem]:
    """Draw the spec's front-end beside the embedding box; returns its boxes."""
    spec = scene.spec
    vision, figures = spec.vision, analyze(spec).vision
    encoder = vision.encoder
    encoder_lines = [
        f"{encoder.image_size}² px, {encoder.patch_size}-px patches: {encoder.num_patches:,}",
        f"{encoder.num_layers} layers, d {encoder.d_model:,}, {encoder.num_heads} heads",
        f"{human_count(figures.encoder_params)} params, {human_count(figures.encoder_flops_per_image)} FLOPs/image",
    ]
    projector_lines = [
        f"avg pool {vision.pool_kernel}×{vision.pool_kernel}: {vision.tokens_per_image} tokens",
        f"RMSNorm, linear {encoder.d_model:,}→{spec.d_model:,}",
        f"{human_count(figures.projector_params)} params",
    ]
    height = box_height(max(len(encoder_lines), len(projector_lines)))
    top = embedding.top()
    projector_rect = QRectF(embedding.left() - GAP - BOX_WIDTH, top, BOX_WIDTH, height)
    encoder_rect = QRectF(projector_rect.left() - GAP - BOX_WIDTH, top, BOX_WIDTH, height)
    boxes = [BoxItem(encoder_rect, "vision", "Vision encoder (ViT)", encoder_lines),
             BoxItem(projector_rect, "vision", "Projector", projector_lines)]
    for box in boxes:
        scene.addItem(box)
    middle = top + height / 2
    scene._arrow(QPointF(encoder_rect.right() + 4, middle), QPointF(projector_rect.left() - 4, middle))
    scene._arrow(QPointF(projector_rect.right() + 4, middle),
                 QPointF(embedding.left() - 4, embedding.top() + embedding.height() / 2))
    attention = "attend both ways" if vision.image_attention == "bidirectional" else "causal"
    scene._caption(QPointF(encoder_rect.left(), top + height + 8),
                   f"Method A, unified embedding: {vision.tokens_per_image} image tokens per image join the text "
                   f"tokens ({attention} within an image)")
    return boxes
