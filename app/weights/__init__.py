"""Real weights: local Hugging Face directories (more sources arrive with [4/10]).

Weights load from safetensors only -- never pickle, never remote code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..model.build import empty_model
from ..model.decoder import DecoderModel
from ..spec import ArchSpec, SpecError
from ..spec.hf import spec_from_hf_config
from .errors import WeightsError
from .loader import Progress, fill_parameters
from .name_maps import NAME_MAPS
from .safetensors_dir import SafetensorsDirectory, read_config

__all__ = ["Pretrained", "WeightsError", "load_pretrained"]


@dataclass
class Pretrained:
    model: DecoderModel
    spec: ArchSpec
    tokenizer: Any = None
    source: str = ""


def load_pretrained(source: str | Path, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                    progress: Progress | None = None) -> Pretrained:
    directory = Path(source)
    if not directory.is_dir():
        raise WeightsError(f"{source}: expected a local Hugging Face model directory (config.json + safetensors)")
    return load_directory(directory, device, dtype, progress)


def load_directory(directory: Path, device, dtype, progress: Progress | None = None) -> Pretrained:
    config = read_config(directory)
    try:
        spec = spec_from_hf_config(config, name=directory.name)
    except SpecError as error:
        raise WeightsError(f"{directory / 'config.json'}: {error}") from None
    if spec.model_type not in NAME_MAPS:
        raise WeightsError(f"{directory / 'config.json'}: loading weights of model_type {spec.model_type!r} is not "
                           f"supported yet; supported: {', '.join(sorted(NAME_MAPS))}")
    tensors = SafetensorsDirectory(directory)
    model = empty_model(spec, device, dtype)
    names = [name for name, _ in model.named_parameters()]
    name_map = NAME_MAPS[spec.model_type](spec, names)
    fill_parameters(model, name_map, tensors.get, tensors.__contains__, str(directory), progress)
    return Pretrained(model=model, spec=spec, source=str(directory))
