r"""Text from files, shown on a terminal: control characters escaped, never obeyed.

A model's name, family or generated text comes from a config or GGUF file that anyone
may have written; printed raw, an ESC character followed by `[2J` in a name clears the
user's screen, and other escape sequences retitle the window or hide lines. Written out
as the characters `\x1b[2J` they are visible and harmless.
"""

from __future__ import annotations

import unicodedata

# Bidirectional overrides and isolates reorder what follows them on screen (the
# "Trojan Source" trick); they are format characters, not controls, so named here.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str, keep_newlines: bool = False) -> str:
    r"""`text` with every control character written as its Python escape (\x1b, \x9b,
    \u202e); newlines and tabs kept when `keep_newlines` (multi-line output)."""
    return "".join(_escaped(char, keep_newlines) for char in str(text))


def _escaped(char: str, keep_newlines: bool) -> str:
    if keep_newlines and char in "\n\t":
        return char
    if unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS:
        return ascii(char)[1:-1]
    return char


def table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    """Columns padded to their widest cell (right-aligned where `right` has the column's
    index), under a dashed rule; every cell escaped, since names come from files."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])
