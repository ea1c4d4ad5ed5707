"""Fill an empty model from a checkpoint through a name map, checking every tensor."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .errors import WeightsError
from .names_llama import NameMap
from .progress import Progress


@torch.no_grad()
def fill_parameters(model: nn.Module, name_map: NameMap, read: Callable[[str], torch.Tensor],
                    has: Callable[[str], bool], origin: str, progress: Progress | None = None) -> None:
    """Copy each checkpoint tensor into its parameter (converting dtype on the way). A
    missing tensor, or one whose shape differs, is an error naming it and both shapes.
    A map entry may name a tuple of tensors, stacked on a new first axis (one per expert);
    buffers the map lists (a router's score-correction bias) load like parameters."""
    parameters = dict(model.named_parameters())  # tied weights appear once
    parameters.update((name, buffer) for name, buffer in model.named_buffers() if name in name_map)
    missing = []
    for ours, (theirs, _) in name_map.items():
        if ours in parameters:
            names = theirs if isinstance(theirs, tuple) else (theirs,)
            shape = list(parameters[ours].shape)[1:] if isinstance(theirs, tuple) else list(parameters[ours].shape)
            missing += [f"{name} (expected shape {shape})" for name in names if not has(name)]
    if missing:
        shown = "; ".join(missing[:5]) + (f"; and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise WeightsError(f"{origin}: missing tensors: {shown}")
    for done, (ours, parameter) in enumerate(parameters.items(), start=1):
        theirs, transform = name_map[ours]
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
        if tuple(tensor.shape) != tuple(parameter.shape):
            raise WeightsError(f"{origin}: tensor {theirs} has shape {list(tensor.shape)}, expected "
                               f"{list(parameter.shape)}")
        parameter.copy_(tensor)
        if progress is not None:
            progress(done, len(parameters))
