"""Mixture-of-experts entries (filled in below)."""

ENTRIES: list = []
