"""Torch models built from an ArchSpec. Imports torch, never Qt."""

from .build import build_model
from .cache import ModelCache

__all__ = ["build_model", "ModelCache"]
