"""`load_pretrained`: a model with its weights from a local Hugging Face directory, a Hub
repository id, a GGUF file, or an embedded model, with its spec and tokenizer.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ..model.build import construct, empty_model
from ..model.decoder import DecoderModel
from ..spec import ArchSpec, SpecError
from ..spec.hf import spec_from_hf_config
from . import embedded, hub
from .errors import WeightsError
from .gguf_config import spec_from_gguf
from .gguf_lowbit import plan_lowbit
from .gguf_reader import GGUFFile
from .loader import fill_from_gguf, fill_parameters
from .name_maps import NAME_MAPS
from .progress import Progress
from .published_names import with_published_names
from .safetensors_dir import SafetensorsDirectory, dequantizing, read_config
from .tokenizer import tokenizer_from_directory, tokenizer_from_gguf


@dataclass
class Pretrained:
    model: DecoderModel
    spec: ArchSpec
    tokenizer: Any = None
    source: str = ""
    # what the load did that a user should know, e.g. "dequantized 12 FP8 tensors
    # (128x128 blocks) to bfloat16"
    notes: list[str] = field(default_factory=list)


def load_pretrained(source: str | Path, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                    progress: Progress | None = None, weights: str = "native") -> Pretrained:
    """weights (GGUF files): "native" keeps the quantized matrices in their low bits where
    they can run so (app/weights/gguf_lowbit.py); "dequantize" expands every tensor."""
    text = str(source)
    if text.startswith(embedded.PREFIX):
        loaded = load_gguf(embedded.embedded_path(text), device, dtype, progress,
                           name=embedded.EMBEDDED[text.removeprefix(embedded.PREFIX)].catalog_name, weights=weights)
        loaded.source = text
        return loaded
    path = Path(source)
    if path.is_dir():
        return load_directory(path, device, dtype, progress)
    if path.is_file() and path.suffix.lower() == ".gguf":
        return load_gguf(path, device, dtype, progress, weights=weights)
    if path.suffix.lower() == ".gguf":
        raise WeightsError(f"{source}: no such GGUF file")
    if not path.exists() and hub.looks_like_repo_id(text):
        loaded = load_directory(hub.download(text, progress), device, dtype, progress)
        loaded.source = text
        return loaded
    raise WeightsError(f"{source}: expected a local Hugging Face model directory (config.json + safetensors), "
                       "a Hub repository id (org/name), a .gguf file, or embedded:NAME")


def load_gguf(path: Path, device, dtype, progress: Progress | None = None, name: str | None = None,
              weights: str = "native") -> Pretrained:
    file, spec, tokenizer = open_gguf(path, name)
    model, notes = gguf_model(file, spec, device, dtype, progress, weights)
    return Pretrained(model=model, spec=spec, tokenizer=tokenizer, source=str(path), notes=notes)


def open_gguf(path: Path, name: str | None = None) -> tuple[GGUFFile, ArchSpec, Any]:
    """A GGUF file's header, the spec it describes and its tokenizer: everything but the
    weights (gguf_model reads those)."""
    file = GGUFFile(path)
    spec = spec_from_gguf(file)
    if name:
        spec = replace(spec, name=name)
    # The tokenizer first, then its header fields dropped and the memory handed back: the
    # build's temporaries (half a million merge pairs for Gemma's vocabulary) are gone
    # before the weights arrive.
    tokenizer = tokenizer_from_gguf(file.metadata, str(path))
    file.drop_vocabulary()
    _return_freed_memory()
    return file, spec, tokenizer


def gguf_model(file: GGUFFile, spec: ArchSpec, device, dtype, progress: Progress | None = None,
               weights: str = "native") -> tuple[DecoderModel, list[str]]:
    """The model with the file's weights, low-bit where they can stay so, and what the load
    says about the matrices it kept and expanded."""
    plan = plan_lowbit(file, construct(spec, "meta"), device, weights)
    model = empty_model(spec, device, dtype, low_bit=plan.install if plan.matrices else None)
    fill_from_gguf(model, file, progress)
    # Packed before the low-bit values are read, so they are written once, into the packed
    # matrices (packing joins them by copying: after filling, both copies would be resident).
    model.pack_for_decode()
    plan.fill(model)
    return model, plan.notes


def _return_freed_memory() -> None:
    """glibc keeps freed heap memory for reuse; the weights' large tensors never reuse it
    (they are mapped apart), so hand it back: 40 MB after Gemma 3's tokenizer is built."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
        pass


def load_directory(directory: Path, device, dtype, progress: Progress | None = None) -> Pretrained:
    config = read_config(directory)
    try:
        spec = spec_from_hf_config(config, name=directory.name)
    except SpecError as error:
        raise WeightsError(f"{directory / 'config.json'}: {error}") from None
    if spec.model_type not in NAME_MAPS:
        raise WeightsError(f"{directory / 'config.json'}: loading weights of model_type {spec.model_type!r} is not "
                           f"supported yet; supported: {', '.join(sorted(NAME_MAPS))}")
    tensors = dequantizing(SafetensorsDirectory(directory), config, directory / "config.json", dtype)
    model = empty_model(spec, device, dtype)
    names = [name for name, _ in model.named_parameters()]
    name_map = with_published_names(NAME_MAPS[spec.model_type](spec, names), tensors.__contains__)
    fill_parameters(model, name_map, tensors.get, tensors.__contains__, str(directory), progress)
    model.pack_for_decode()
    return Pretrained(model=model, spec=spec, tokenizer=tokenizer_from_directory(directory), source=str(directory),
                      notes=tensors.notes())
