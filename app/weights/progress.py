"""The progress callback every reader reports through, torch-free so that the window's
Hub download (app/weights/hub.py) can name it without loading torch."""

from __future__ import annotations

from typing import Callable

Progress = Callable[[int, int], None]  # (done, in all): tensors when loading, bytes when downloading
