"""Fill an empty model from a checkpoint, checking every tensor: a safetensors checkpoint
through a name map, or a GGUF file through llama.cpp's names (gguf_names).

A GGUF tensor is read a few thousand rows at a time, dequantized and copied straight into
its parameter, so a load never holds a second copy of the model.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .errors import WeightsError
from .gguf_names import gguf_name, gguf_transform
from .gguf_reader import GGUFFile, TensorInfo
from .names_llama import NameMap
from .progress import Progress

CHUNK_VALUES = 1 << 23  # dequantize about 32 MB of float32 at a time


@torch.no_grad()
def fill_parameters(model: nn.Module, name_map: NameMap, read: Callable[[str], torch.Tensor],
                    has: Callable[[str], bool], origin: str, progress: Progress | None = None) -> None:
    """Copy each checkpoint tensor into its parameter (converting dtype on the way). A
    missing tensor, or one whose shape differs, is an error naming it and both shapes.
    A map entry may name a tuple of tensors, stacked on a new first axis (one per expert);
    buffers the map lists (a router's score-correction bias) load like parameters."""
    parameters = dict(model.named_parameters())  # tied weights appear once
    parameters.update((name, buffer) for name, buffer in model.named_buffers() if name in name_map)
    shapes = {name: parameter.shape for name, parameter in parameters.items()}
    for ours, tensor in mapped_tensors(name_map, shapes, read, has, origin, progress):
        parameters[ours].copy_(tensor)


def mapped_tensors(name_map: NameMap, shapes: dict[str, torch.Size], read: Callable[[str], torch.Tensor],
                   has: Callable[[str], bool], origin: str, progress: Progress | None = None,
                   wanted: Callable[[str], bool] = lambda ours: True):
    """(our name, the checkpoint's tensor as our parameter holds it) for each of our
    parameters `shapes` lists that `wanted` asks for, one at a time: its tensors read
    through the map (stacked where it names several, transformed where it says so) and
    checked against the shape. Every tensor the map needs is checked present first, so a
    missing one is named before anything is read."""
    missing = []
    for ours, (theirs, _) in name_map.items():
        if ours in shapes:
            names = theirs if isinstance(theirs, tuple) else (theirs,)
            shape = list(shapes[ours])[1:] if isinstance(theirs, tuple) else list(shapes[ours])
            missing += [f"{name} (expected shape {shape})" for name in names if not has(name)]
    if missing:
        shown = "; ".join(missing[:5]) + (f"; and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise WeightsError(f"{origin}: missing tensors: {shown}")
    for done, (ours, shape) in enumerate(shapes.items(), start=1):
        if wanted(ours):
            yield ours, _mapped_tensor(name_map[ours], shape, read, origin)
        if progress is not None:
            progress(done, len(shapes))


def _mapped_tensor(entry, shape: torch.Size, read: Callable[[str], torch.Tensor], origin: str) -> torch.Tensor:
    theirs, transform = entry
    if isinstance(theirs, tuple):
        parts = [read(name) for name in theirs]
        for name, part in zip(theirs, parts):
            if part.shape != parts[0].shape:
                raise WeightsError(f"{origin}: tensor {name} has shape {list(part.shape)}, expected "
                                   f"{list(parts[0].shape)} like {theirs[0]}")
        tensor = torch.stack(parts)
        theirs = f"{theirs[0]} ... {theirs[-1]} (stacked)"
    else:
        tensor = read(theirs)
    if transform is not None:
        tensor = transform(tensor)
    if tuple(tensor.shape) != tuple(shape):
        raise WeightsError(f"{origin}: tensor {theirs} has shape {list(tensor.shape)}, expected {list(shape)}")
    return tensor


def check_shape(file: GGUFFile, info: TensorInfo, parameter: torch.Tensor) -> None:
    """The tensor in the file must have the shape of the model's tensor it fills."""
    if tuple(info.shape) != tuple(parameter.shape):
        raise WeightsError(f"{file.path}: tensor {info.name} has shape {list(info.shape)}, expected "
                           f"{list(parameter.shape)}")


@torch.no_grad()
def fill_from_gguf(model: nn.Module, file: GGUFFile, progress: Progress | None = None) -> None:
    """Copy every parameter from the file, naming any tensor that is missing or mis-shaped."""
    parameters = dict(model.named_parameters())  # tied weights appear once
    missing = [f"{gguf_name(ours)} (expected shape {list(p.shape)})" for ours, p in parameters.items()
               if gguf_name(ours) not in file.tensors]
    if missing:
        shown = "; ".join(missing[:5]) + (f"; and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise WeightsError(f"{file.path}: missing tensors: {shown}")
    architecture = file.metadata.get("general.architecture")
    for done, (ours, parameter) in enumerate(parameters.items(), start=1):
        info = file.tensors[gguf_name(ours)]
        check_shape(file, info, parameter)
        transform = gguf_transform(model, ours, architecture)
        target = parameter.view(-1, info.shape[-1])
        if transform is not None:
            target.copy_(transform(file.tensor(info.name)).reshape(target.shape))
        else:
            step = max(1, CHUNK_VALUES // info.shape[-1])
            # float32 on the CPU: numpy writes the parameter's memory directly (one thread,
            # no intra-op thread pool to wake for each chunk)
            direct = target.detach().numpy() if target.device.type == "cpu" and target.dtype == torch.float32 else None
            for start in range(0, target.shape[0], step):
                stop = min(start + step, target.shape[0])
                if direct is not None:
                    direct[start:stop] = file.rows(info, start, stop)
                else:
                    target[start:stop].copy_(torch.from_numpy(file.rows(info, start, stop)))
        if progress is not None:
            progress(done, len(parameters))
