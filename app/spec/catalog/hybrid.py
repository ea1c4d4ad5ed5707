"""Hybrid entries (filled in below)."""

ENTRIES: list = []
