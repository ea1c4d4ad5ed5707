"""Real weights: a local Hugging Face directory, a Hub repository id, a GGUF file, or one
of the embedded models ("embedded:gemma3-270m", "embedded:smollm2-135m").

Weights load from safetensors or GGUF only -- never pickle, never remote code.

The loaders import torch, so they load on first use (PEP 562): the window imports the
torch-free parts (`hub` for File > Import from Hub, `errors`) without paying for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import WeightsError

if TYPE_CHECKING:
    from .pretrained import Pretrained, load_directory, load_gguf, load_pretrained

__all__ = ["Pretrained", "WeightsError", "load_directory", "load_gguf", "load_pretrained"]

_LAZY = ("Pretrained", "load_pretrained", "load_gguf", "load_directory")


def __getattr__(name: str):
    if name in _LAZY:
        from . import pretrained

        return getattr(pretrained, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
