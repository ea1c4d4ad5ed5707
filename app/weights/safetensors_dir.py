"""A local Hugging Face model directory: config.json plus one or more safetensors files.

Tensors are read lazily through memory-mapped `safe_open` handles, one at a time, so
loading never holds a second full copy of the model.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open

from .errors import WeightsError

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"


def read_config(directory: Path) -> dict:
    path = directory / "config.json"
    if not path.is_file():
        raise WeightsError(f"{directory}: no config.json (expected a Hugging Face model directory)")
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise WeightsError(f"{path}: not valid JSON: {error}") from None


class SafetensorsDirectory:
    """name -> tensor over the directory's single or sharded safetensors files."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._handles: dict[str, object] = {}
        index = self.directory / INDEX_NAME
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text())["weight_map"]
            except (ValueError, KeyError, TypeError) as error:
                raise WeightsError(f"{index}: expected a JSON object with a 'weight_map' ({error})") from None
            self.files = dict(weight_map)
        else:
            single = self.directory / SINGLE_NAME
            if not single.is_file():
                found = sorted(p.name for p in self.directory.glob("*.safetensors"))
                if len(found) != 1:
                    raise WeightsError(f"{self.directory}: expected {SINGLE_NAME} or {INDEX_NAME}, found "
                                       f"{', '.join(found) or 'no safetensors file'} (pickled .bin weights are "
                                       "not loaded: they can run code)")
                single = self.directory / found[0]
            self.files = {name: single.name for name in self._open(single.name).keys()}

    def _open(self, filename: str):
        if filename not in self._handles:
            path = self.directory / filename
            if not path.is_file():
                raise WeightsError(f"{path}: listed in {INDEX_NAME} but missing")
            try:
                self._handles[filename] = safe_open(str(path), framework="pt")
            except Exception as error:  # safetensors raises its own types for truncated headers
                raise WeightsError(f"{path}: not a readable safetensors file ({error})") from None
        return self._handles[filename]

    def __contains__(self, name: str) -> bool:
        return name in self.files

    def names(self) -> list[str]:
        return list(self.files)

    def get(self, name: str) -> torch.Tensor:
        handle = self._open(self.files[name])
        try:
            return handle.get_tensor(name)
        except Exception as error:
            raise WeightsError(f"{self.directory / self.files[name]}: tensor {name} unreadable ({error})") from None
