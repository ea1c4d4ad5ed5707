"""The model's two ends on the canvas: the token embedding that feeds the first layer
group and the final norm and output head above the last. Below and above the groups in
the article's layout; left and right of them in the compare view's compact one."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF

from ...spec import ArchSpec
from ...spec.analysis import analyze
from ...units import human_count
from ..labels import norm_title
from .connectors import arrow, caption
from .geometry import BLOCK_WIDTH, BOX_MARGIN, GROUP_GAP, GROUP_PADDING, NORM_HEIGHT
from .items import BoxItem, box_height_for

END_WIDTH = BLOCK_WIDTH - 2 * BOX_MARGIN


def embedding_lines(spec: ArchSpec) -> list[str]:
    lines = [f"vocab {spec.vocab_size:,} × d {spec.d_model:,}"]
    if spec.learned_positions:
        lines.append(f"+ learned positions ({spec.learned_positions:,})")
    if spec.embedding_scale:
        lines.append("scaled by √d")
    if spec.embedding_multiplier != 1.0:
        lines.append(f"times {spec.embedding_multiplier:g}")
    if spec.per_layer_embedding is not None:
        ple = spec.per_layer_embedding
        params = analyze(spec).per_layer_embedding_params
        lines.append(f"+ per-layer embeddings: {ple.width} per layer, {human_count(params)} params "
                     "(can stay off the accelerator)")
    if spec.altup is not None:
        lines.append(f"AltUp: {spec.altup.num_inputs} residual streams")
    if spec.ngram_embedding is not None:  # LongCat-Flash-Lite: hashed n-gram rows added to the token's
        lines += ["+ N-gram embedding:", *spec.ngram_embedding.box_lines(spec.vocab_size)]
    if spec.hyper_connections is not None:  # DeepSeek V4: the residual is several streams
        lines += spec.hyper_connections.embedding_lines()
    return lines


def add_embedding(scene, first: QRectF, compact: bool) -> BoxItem:
    """The embedding box feeding the first group (`first`, its frame): below it, or left."""
    lines = embedding_lines(scene.spec)
    height = box_height_for("Token embedding", lines, END_WIDTH)
    if compact:
        bottom = first.bottom() - GROUP_PADDING - 20
        rect = QRectF(first.left() - GROUP_GAP - END_WIDTH, bottom - height, END_WIDTH, height)
    else:
        rect = QRectF(first.left() + GROUP_PADDING + BOX_MARGIN, 34, END_WIDTH, height)
    item = BoxItem(rect, "embedding", "Token embedding", lines)
    scene.addItem(item)
    if compact:
        arrow(scene, QPointF(rect.right(), rect.center().y()), QPointF(first.left() - 4, rect.center().y()))
    else:
        arrow(scene, QPointF(rect.center().x(), rect.top()), QPointF(rect.center().x(), first.bottom()))
    caption(scene, QPointF(rect.left(), rect.bottom() + 4), "Tokenized text")
    return item


def add_head(scene, last: QRectF, compact: bool) -> tuple[BoxItem, BoxItem]:
    """The final norm and the output head fed by the last group (`last`, its frame): above
    it, or right of it fed from its side. Returns (final norm, head)."""
    if compact:
        x = last.right() + GROUP_GAP
        norm, head = _norm_and_head(scene, x, last.bottom() - GROUP_PADDING - 20 - NORM_HEIGHT)
        y = norm.rect.center().y()
        arrow(scene, QPointF(last.right() + 4, y), QPointF(norm.rect.left() - 2, y))
    else:
        x = last.right() - GROUP_PADDING - BOX_MARGIN - END_WIDTH
        norm, head = _norm_and_head(scene, x, last.top() - 18 - NORM_HEIGHT)
        centre = norm.rect.center().x()
        arrow(scene, QPointF(centre, last.top()), QPointF(centre, norm.rect.bottom()))
    return norm, head


def _norm_and_head(scene, x: float, norm_top: float) -> tuple[BoxItem, BoxItem]:
    """The final norm (its top at norm_top) and the output head above it."""
    spec = scene.spec
    norm_rect = QRectF(x + END_WIDTH * 0.1, norm_top, END_WIDTH * 0.8, NORM_HEIGHT)
    norm = BoxItem(norm_rect, "norm", "Final " + norm_title(spec.final_norm), [], title_size=8.0)
    scene.addItem(norm)
    lines = [f"d {spec.d_model:,} → vocab {spec.vocab_size:,}",
             "tied to the embedding" if spec.tie_embeddings else "own weights"]
    if spec.output_logit_scale != 1.0:
        lines.append(f"logits times {spec.output_logit_scale:g}")
    if spec.final_logit_softcap:
        lines.append(f"logit softcap {spec.final_logit_softcap:g}")
    if spec.mtp_layers:
        lines.append(f"+ {spec.mtp_layers} MTP module" + ("s" if spec.mtp_layers > 1 else ""))
    if spec.hyper_connections is not None:
        lines.append(spec.hyper_connections.head_line())
    height = box_height_for("Linear output layer", lines, END_WIDTH)
    head_rect = QRectF(x, norm_rect.top() - 16 - height, END_WIDTH, height)
    head = BoxItem(head_rect, "embedding", "Linear output layer", lines)
    scene.addItem(head)
    centre = norm_rect.center().x()
    arrow(scene, QPointF(centre, norm_rect.top()), QPointF(centre, head_rect.bottom()))
    return norm, head
