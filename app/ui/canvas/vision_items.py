"""The vision front-end on the canvas: the image encoder and the projector, left of the
token embedding. Method A (unified embedding): their image tokens join the embedding's.
Method B (cross-attention): their features feed the cross-attention layers, drawn in
the stack in the vision colour."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF

from ...spec.analysis import analyze
from ...units import human_count
from ..palette_drops import SLOT_MIXER
from .connectors import arrow, elbow_arrow
from .connectors import caption as add_caption
from .geometry import GAP as BLOCK_GAP
from .geometry import GROUP_PADDING
from .items import BoxItem, box_height_for

BOX_WIDTH = 200.0
GAP = 40.0
# The projector's arrow runs this far below the layer groups: about halfway to the token
# embedding (34 below them, ends.py), so it crosses the embedding's arrow mid-shaft.
LANE_BELOW_GROUPS = 16.0


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
        # level, at the middle of the height the two boxes share (both start at `top`)
        level = top + min(height, embedding.height()) / 2
        arrow(scene, QPointF(projector_rect.right(), level), QPointF(embedding.left(), level))
    else:
        _feed_cross_attention(scene, projector_rect)
    add_caption(scene, QPointF(encoder_rect.left(), top + height + 8), caption)
    return boxes


def _feed_cross_attention(scene, projector: QRectF) -> None:
    """The arrow from the projector into the side of the first cross-attention box. It
    runs in the free space around the boxes: under the group frames, then up the gap left
    of the target's block, so that it crosses no other box."""
    target = _first_cross_attention_box(scene)
    if target is None:  # the layers were edited into self-attention: nothing reads the image
        return
    lane_y = max(frame.rect.bottom() for frame in scene.group_items) + LANE_BELOW_GROUPS
    lane_x = _gap_left_of(scene, target.rect)
    target_y = target.rect.center().y()
    points = [*_leave_towards(projector, lane_y), QPointF(lane_x, lane_y), QPointF(lane_x, target_y),
              QPointF(target.rect.left(), target_y)]
    elbow_arrow(scene, points)


def _first_cross_attention_box(scene) -> BoxItem | None:
    """The leftmost box drawn for a cross-attention layer: a block's mixer box, or the
    layer's row when its group is expanded."""
    layers = scene.spec.layers
    boxes = [item for item in scene.slot_items if item.slot == SLOT_MIXER]
    crossing = [item for item in boxes + scene.layer_items
                if any(layers[index].mixer_kind == "cross_attention" for index in item.layer_indices)]
    return min(crossing, key=lambda item: item.rect.left(), default=None)


def _gap_left_of(scene, rect: QRectF) -> float:
    """The x of the free strip left of the block holding `rect` (or of an expanded
    group's row): between two blocks, or between a block and its group's frame."""
    block = next((frame.rect for frame in scene.block_items if frame.rect.contains(rect)), None)
    if block is not None:
        return block.left() - BLOCK_GAP / 2
    return rect.left() - GROUP_PADDING / 2


def _leave_towards(projector: QRectF, lane_y: float) -> list[QPointF]:
    """Where the arrow leaves the projector for a lane at lane_y: by the top edge when the
    lane is above it (the article layout, the embedding below the groups), by the right
    edge when the lane crosses it (the compare view's compact layout)."""
    x = projector.center().x()
    if lane_y < projector.top():
        return [QPointF(x, projector.top()), QPointF(x, lane_y)]
    if lane_y > projector.bottom():
        return [QPointF(x, projector.bottom()), QPointF(x, lane_y)]
    return [QPointF(projector.right(), lane_y)]
