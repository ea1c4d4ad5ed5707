"""Counts and byte sizes as people read them, the same everywhere the app shows one (the
window, the CLI, error messages)."""

from __future__ import annotations

COUNT_UNITS = (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3))


def human_count(n: float) -> str:
    """12.3M, 671B, 1.5T: three significant figures (whole numbers from 100 up) in the
    largest unit the rounded number reaches -- 999.9M reads 1B, not 1000M."""
    for unit, size in COUNT_UNITS:
        value = n / size
        text = f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        if abs(float(text)) >= 1:
            return text + unit
    return str(int(n))


def human_bytes(n: float) -> str:
    """Binary units, one decimal: 1.5 GiB."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def decimal_bytes(n: int) -> str:
    """1.34 TB, 21.0 GB: decimal units, as memory is sold and `free -H` prints it."""
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            value = n / size
            return f"{value:.2f} {unit}" if value < 10 else f"{value:.1f} {unit}" if value < 1000 else \
                f"{value:,.0f} {unit}"
    return f"{n} B"
