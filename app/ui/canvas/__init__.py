"""The architecture canvas: a QGraphicsScene of component items and the view that
zooms, pans, exports and accepts palette drops."""

from .scene import ArchitectureScene
from .view import CanvasView

__all__ = ["ArchitectureScene", "CanvasView"]
