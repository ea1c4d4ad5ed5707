"""Files the app ships beside its code: the profile snapshot schema and the icons."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent


def icon_files() -> list[Path]:
    """The application icon as PNGs, smallest first (drawn by packaging/make_icon.py)."""
    return sorted((RESOURCES / "icons").glob("archscope-*.png"), key=lambda path: int(path.stem.rsplit("-", 1)[1]))
