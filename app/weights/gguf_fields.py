"""The types of the GGUF metadata fields ArchScope reads, checked once after the header
is parsed, so a hostile or broken file is refused naming its field instead of failing
deep inside the tokenizer or the config mapping (`tokenizer.ggml.tokens` as an integer,
`general.alignment` as an array).

The sizes the fields state (block_count, embedding_length, ...) are bounded where the
config they become is read: app/spec/limits.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .errors import WeightsError

# The largest alignment accepted: llama.cpp writes 32; a page (4096) is the most anyone asks.
MAX_ALIGNMENT = 2**16

_STRINGS = ("general.architecture", "general.name", "tokenizer.ggml.model", "tokenizer.ggml.pre",
            "tokenizer.chat_template")
_STRING_LISTS = ("tokenizer.ggml.tokens", "tokenizer.ggml.merges")
_INTEGER_ARRAYS = ("tokenizer.ggml.token_type",)
_BOOLEANS = ("tokenizer.ggml.add_space_prefix", "tokenizer.ggml.add_bos_token")
_TOKEN_ID_SUFFIX = "_token_id"


def check_field_types(metadata: dict[str, Any], path: Path) -> None:
    """Raise WeightsError naming the first known field whose value has the wrong type."""
    for key, value in metadata.items():
        expected = _expected(key, value)
        if expected:
            raise WeightsError(f"{path}: metadata field {key!r} is {_describe(value)}; expected {expected}")
    alignment = metadata.get("general.alignment")
    if alignment is not None and not (0 < int(alignment) <= MAX_ALIGNMENT and int(alignment) & (int(alignment) - 1) == 0):
        raise WeightsError(f"{path}: metadata field 'general.alignment' is {int(alignment)}; expected a power of two "
                           f"up to {MAX_ALIGNMENT}")


def _expected(key: str, value: Any) -> str:
    """What a known field should hold, when it does not; "" when it does (or is unknown)."""
    if key in _STRINGS and not isinstance(value, str):
        return "a string"
    if key in _STRING_LISTS and not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
        return "an array of strings"
    if key in _INTEGER_ARRAYS and not (isinstance(value, np.ndarray) and value.dtype.kind in "iu"):
        return "an array of integers"
    if key in _BOOLEANS and not isinstance(value, (bool, np.bool_)):
        return "true or false"
    if (key == "general.alignment" or key.startswith("tokenizer.ggml.") and key.endswith(_TOKEN_ID_SUFFIX)) \
            and not (isinstance(value, (int, np.integer)) and not isinstance(value, bool)):
        return "an integer"
    return ""


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of {len(value)} {value.dtype} values"
    if isinstance(value, list):
        return f"an array of {len(value)} values"
    return f"{type(value).__name__} {value!r:.60}"
