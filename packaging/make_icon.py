"""Draw ArchScope's application icon with QPainter and write it as PNGs.

The icon is a stack of layer blocks in the canvas' component colours (attention,
feed-forward, latent attention, mixture of experts), each with a time bar beside it,
under a magnifying lens: an architecture, measured. Run it from the repository root
after changing the drawing; the PNGs are committed:

    .venv/bin/python packaging/make_icon.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
OUT_DIR = Path(__file__).resolve().parent.parent / "app" / "resources" / "icons"

BACKGROUND = ("#27324a", "#141a28")  # top, bottom of a soft vertical gradient
BLOCKS = [  # (fill, border, time-bar share): the canvas' kind colours, see app/ui/theme.py
    ("#dbe8fb", "#3f74c9", 0.55),  # attention
    ("#dcf1dc", "#3b8f45", 0.85),  # feed-forward
    ("#e6defa", "#6f4bc2", 0.35),  # latent attention
    ("#fbe0e6", "#c23b5e", 0.70),  # mixture of experts
]
LENS = "#ffd43b"


def draw(size: int):
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QImage, QLinearGradient, QPainter, QPen

    image = QImage(size, size, QImage.Format_ARGB32_Premultiplied)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.scale(size / 256, size / 256)  # draw on a 256 x 256 grid

    gradient = QLinearGradient(0, 0, 0, 256)
    gradient.setColorAt(0, QColor(BACKGROUND[0]))
    gradient.setColorAt(1, QColor(BACKGROUND[1]))
    painter.setPen(Qt.NoPen)
    painter.setBrush(QBrush(gradient))
    painter.drawRoundedRect(QRectF(8, 8, 240, 240), 48, 48)

    top, height, gap = 40, 34, 12
    for row, (fill, border, share) in enumerate(BLOCKS):
        y = top + row * (height + gap)
        painter.setPen(QPen(QColor(border), 5))
        painter.setBrush(QColor(fill))
        painter.drawRoundedRect(QRectF(36, y, 100, height), 8, 8)
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(border).lighter(130))
        painter.drawRoundedRect(QRectF(148, y + 9, 72 * share, height - 18), 5, 5)

    center, radius = QPointF(168, 164), 44
    painter.setPen(QPen(QColor(LENS), 14, Qt.SolidLine, Qt.RoundCap))
    painter.drawLine(QPointF(200, 196), QPointF(226, 222))
    painter.setBrush(QColor(255, 255, 255, 50))
    painter.setPen(QPen(QColor(LENS), 11))
    painter.drawEllipse(center, radius, radius)
    painter.end()
    return image


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QImage text needs it
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        path = OUT_DIR / f"archscope-{size}.png"
        if not draw(size).save(str(path)):
            print(f"could not write {path}", file=sys.stderr)
            return 1
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
