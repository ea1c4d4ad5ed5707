"""Mixture-of-experts configs (filled in below)."""

CONVERTERS: dict = {}
