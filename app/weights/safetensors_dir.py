"""A local Hugging Face model directory: config.json plus one or more safetensors files.

Tensors are read lazily through memory-mapped `safe_open` handles, one at a time, so
loading never holds a second full copy of the model. A checkpoint that config.json
declares quantized (FP8 blocks, MXFP4 experts) reads through its format's module, which
hands out each tensor dequantized.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open

from . import fp8, mxfp4
from .errors import WeightsError

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"


def read_config(directory: Path) -> dict:
    path = directory / "config.json"
    if not path.is_file():
        raise WeightsError(f"{directory}: no config.json (expected a Hugging Face model directory)")
    return read_json(inside(directory, path.name, str(directory)))


def read_json(path: Path):
    """A JSON file, or WeightsError naming it: also for nesting too deep for the parser."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise WeightsError(f"{path}: not valid JSON: {reason}") from None


def inside(directory: Path, filename: str, origin: str) -> Path:
    """The file `filename` names in the model directory, refused when it would lead out of
    it: an absolute path, `..`, or a symlink whose target lies elsewhere. A model
    directory is often downloaded from strangers; it may only name its own files."""
    root = directory.resolve()
    candidate = Path(filename)
    if candidate.is_absolute() or ".." in candidate.parts:
        raise WeightsError(f"{origin}: file {filename!r} is outside the model directory {directory}; expected a "
                           "file name inside it")
    resolved = (directory / candidate).resolve()
    if not resolved.is_relative_to(root) and not _hub_blob(root, resolved):
        raise WeightsError(f"{origin}: {directory / candidate} leads to {resolved}, outside the model directory "
                           f"{directory}")
    return directory / candidate


def _hub_blob(root: Path, resolved: Path) -> bool:
    """The Hugging Face cache keeps a snapshot's files as symlinks to ../../blobs/HASH of
    the same repository (models--org--name/snapshots/REV -> models--org--name/blobs)."""
    return (root.parent.name == "snapshots" and resolved.parent.name == "blobs"
            and resolved.parent.parent == root.parent.parent)


def _describe(value) -> str:
    if isinstance(value, dict):
        bad = next((f"{name!r:.60}: {file!r:.60}" for name, file in value.items()
                    if not (isinstance(name, str) and isinstance(file, str))), "")
        return f"an entry {bad}"
    return "nothing" if value is None else f"a {type(value).__name__}"


class SafetensorsDirectory:
    """name -> tensor over the directory's single or sharded safetensors files."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._handles: dict[str, object] = {}
        index = self.directory / INDEX_NAME
        if index.is_file():
            document = read_json(index)
            weight_map = document.get("weight_map") if isinstance(document, dict) else None
            if not isinstance(weight_map, dict) or not all(
                    isinstance(name, str) and isinstance(file, str) for name, file in weight_map.items()):
                raise WeightsError(f"{index}: expected a JSON object whose 'weight_map' maps tensor names to file "
                                   f"names (strings), found {_describe(weight_map)}")
            for filename in sorted(set(weight_map.values())):  # every entry, before any file is opened
                inside(self.directory, filename, f"{index}: weight_map")
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
            path = inside(self.directory, filename, str(self.directory))
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

    def file_of(self, name: str) -> Path:
        return self.directory / self.files[name]

    def notes(self) -> list[str]:
        return []  # every tensor reads as stored

    def get(self, name: str) -> torch.Tensor:
        handle = self._open(self.files[name])
        try:
            return handle.get_tensor(name)
        except Exception as error:
            raise WeightsError(f"{self.directory / self.files[name]}: tensor {name} unreadable ({error})") from None


# quantization_config.quant_method -> the checkpoint view that dequantizes it
QUANTIZED_CHECKPOINTS = {"fp8": fp8.Fp8Checkpoint, "mxfp4": mxfp4.Mxfp4Checkpoint}


def dequantizing(tensors: SafetensorsDirectory, config: dict, config_path: Path, dtype: torch.dtype):
    """The directory's tensors as the model takes them, in `dtype` where dequantized:
    through the reader of the format that config.json's quantization_config declares,
    refused with the field named when ArchScope does not know it."""
    quantization = config.get("quantization_config")
    if quantization is None:
        _refuse_undeclared_quantization(tensors, config_path)
        return tensors
    if not isinstance(quantization, dict):
        raise WeightsError(f"{config_path}: quantization_config is a {type(quantization).__name__}; expected an object")
    method = quantization.get("quant_method")
    if method not in QUANTIZED_CHECKPOINTS:
        raise WeightsError(f"{config_path}: quantization_config.quant_method is {method!r}; expected one of "
                           f"{', '.join(repr(known) for known in QUANTIZED_CHECKPOINTS)} (block-scaled FP8, "
                           "MXFP4 experts), which load dequantized; other formats: load an unquantized release")
    return QUANTIZED_CHECKPOINTS[method](tensors, quantization, config_path, dtype)


def _refuse_undeclared_quantization(tensors: SafetensorsDirectory, config_path: Path) -> None:
    """Scales that config.json does not declare would leave their weights read unscaled."""
    for name in tensors.names():
        if name.endswith(fp8.SCALE_SUFFIX):
            method = "fp8"
        elif (name.endswith(mxfp4.BLOCKS_SUFFIX)
              and name.removesuffix(mxfp4.BLOCKS_SUFFIX) + mxfp4.SCALES_SUFFIX in tensors):
            method = "mxfp4"
        else:
            continue
        raise WeightsError(f"{config_path}: no quantization_config, but {tensors.file_of(name)} holds the quantized "
                           f"tensor {name}; expected a quantization_config with quant_method {method!r}")
