"""Fill an empty model from a checkpoint through a name map, checking every tensor."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .errors import WeightsError
from .name_maps import NameMap

Progress = Callable[[int, int], None]  # (tensors done, tensors in all)


@torch.no_grad()
def fill_parameters(model: nn.Module, name_map: NameMap, read: Callable[[str], torch.Tensor],
                    has: Callable[[str], bool], origin: str, progress: Progress | None = None) -> None:
    """Copy each checkpoint tensor into its parameter (converting dtype on the way). A
    missing tensor, or one whose shape differs, is an error naming it and both shapes."""
    parameters = dict(model.named_parameters())  # tied weights appear once
    missing = [f"{theirs} (expected shape {list(parameters[ours].shape)})"
               for ours, (theirs, _) in name_map.items() if ours in parameters and not has(theirs)]
    if missing:
        shown = "; ".join(missing[:5]) + (f"; and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise WeightsError(f"{origin}: missing tensors: {shown}")
    for done, (ours, parameter) in enumerate(parameters.items(), start=1):
        theirs, transform = name_map[ours]
        tensor = read(theirs)
        if transform is not None:
            tensor = transform(tensor)
        if tuple(tensor.shape) != tuple(parameter.shape):
            raise WeightsError(f"{origin}: tensor {theirs} has shape {list(tensor.shape)}, expected "
                               f"{list(parameter.shape)}")
        parameter.copy_(tensor)
        if progress is not None:
            progress(done, len(parameters))
