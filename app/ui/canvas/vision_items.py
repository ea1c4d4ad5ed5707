"""The vision front-end on the canvas: the image encoder and the projector, left of the
token embedding. Method A (unified embedding): their image tokens join the embedding's.
Method B (cross-attention): their features feed the cross-attention layers, drawn in
the stack in the vision colour."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF

from ...spec.analysis import analyze
from ...units import human_count
from .connectors import arrow
from .connectors import caption as add_caption
from .items import BoxItem, box_height_for

BOX_WIDTH = 200.0
GAP = 40.0


def add_vision_front_end(scene, embedding: QRectF) -> list[BoxItem]:
    """Draw the spec's front-end beside the embedding box; returns its boxes."""
    spec = scene.spec
    vision, figures = spec.vision, analyze(spec).vision
    encoder = vision.encoder
    if vision.method == "cross_attention":
        return _add_boxes(scene, embedding, _tiled_lines(spec, figures), [
            f"linear {encoder.output_width:,}→{spec.d_model:,}" + (" + bias" if vision.projector_bias else ""),
            f"{1 + len(encoder.intermediate_layers)} layers' features side by side",
            f"{human_count(figures.projector_params)} params",
        ], _cross_caption(spec), into_embedding=False)
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
    attention = "attend both ways" if vision.image_attention == "bidirectional" else "causal"
    caption = (f"Method A, unified embedding: {vision.tokens_per_image} image tokens per image join the text "
               f"tokens ({attention} within an image)")
    return _add_boxes(scene, embedding, encoder_lines, projector_lines, caption, into_embedding=True)


def _tiled_lines(spec, figures) -> list[str]:
    encoder = spec.vision.encoder
    return [f"{encoder.max_tiles} tiles of {encoder.image_size}² px, {encoder.tokens_per_tile:,} tokens each",
            f"{encoder.num_layers} + {encoder.num_global_layers} gated layers, d {encoder.d_model:,}",
            f"{human_count(figures.encoder_params)} params, {human_count(figures.encoder_flops_per_image)} FLOPs/image"]


def _cross_caption(spec) -> str:
    crossing = [str(i) for i, layer in enumerate(spec.layers) if layer.mixer_kind == "cross_attention"]
    shown = ", ".join(crossing[:6]) + (", …" if len(crossing) > 6 else "")
    return (f"Method B, cross-attention: the image's features are the keys and values of layers {shown} "
            "(no image tokens in the text)")


def _add_boxes(scene, embedding: QRectF, encoder_lines: list[str], projector_lines: list[str], caption: str,
               into_embedding: bool) -> list[BoxItem]:
    height = max(box_height_for("Vision encoder (ViT)", encoder_lines, BOX_WIDTH),
                 box_height_for("Projector", projector_lines, BOX_WIDTH))
    top = embedding.top()
    projector_rect = QRectF(embedding.left() - GAP - BOX_WIDTH, top, BOX_WIDTH, height)
    encoder_rect = QRectF(projector_rect.left() - GAP - BOX_WIDTH, top, BOX_WIDTH, height)
    boxes = [BoxItem(encoder_rect, "vision", "Vision encoder (ViT)", encoder_lines),
             BoxItem(projector_rect, "vision", "Projector", projector_lines)]
    for box in boxes:
        scene.addItem(box)
    middle = top + height / 2
    arrow(scene, QPointF(encoder_rect.right() + 4, middle), QPointF(projector_rect.left() - 4, middle))
    if into_embedding:
        arrow(scene, QPointF(projector_rect.right() + 4, middle),
              QPointF(embedding.left() - 4, embedding.top() + embedding.height() / 2))
    else:  # up, towards the stack whose cross-attention layers read the features
        arrow(scene, QPointF(projector_rect.center().x(), top - 4), QPointF(projector_rect.center().x(), top - 40))
    add_caption(scene, QPointF(encoder_rect.left(), top + height + 8), caption)
    return boxes
