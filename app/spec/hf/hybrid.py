"""Hybrid linear-attention and state-space configs (filled in below)."""

CONVERTERS: dict = {}
