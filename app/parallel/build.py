"""Building only one rank's share of a model: random weights, its values those of
`build_model`'s whole model of the same seed (`build_share`), or a checkpoint's, each rank
reading the tensors of its share from the shared files (`load_share`).

The model is made with its large weights on "meta" (no memory: build_model's own way,
app/model/build.py), cut into the rank's share there (the slices note where they came from:
moe.noting_slices), and only the share is allocated. Its values are then drawn from the one
random stream `build_model.initialize` reads, in the same order and the same chunks, every
weight of the whole model in turn: a rank keeps the numbers that fall in its slices and lets
the rest go. So a rank holds its share and one chunk of numbers, never the whole model; it
still draws the whole model's numbers (the CPU generator cannot skip ahead), which costs
time in proportion to the whole model, not memory.

A checkpoint is read the same way, one whole tensor at a time through the family's name map
(app/weights/loader.mapped_tensors), each rank keeping its slices of it. A tensor of which
the rank holds nothing (a bias only rank 0 adds) is not read at all; experts stored one
tensor each are read as the whole layer's stack, then sliced.
"""

from __future__ import annotations

import torch

from ..model.build import FILL_CHUNK, INIT_STD, LargeInRunDtype, construct, is_matrix, materialize
from ..model.decoder import DecoderModel
from ..weights.errors import WeightsError
from .comm import Comm
from .moe import noting_slices
from .plan import ParallelPlan
from .shard import shard_model


def _flat_positions(shape: torch.Size, index) -> torch.Tensor:
    """Where each value of tensor[index] sits in the whole tensor, flattened (row-major),
    for an index of slices and integer tensors over the leading dimensions."""
    parts = index if isinstance(index, tuple) else (index,)
    positions = torch.zeros((), dtype=torch.long)
    stride = 1
    strides = []
    for size in reversed(shape):
        strides.append(stride)
        stride *= size
    for dim, (size, step) in enumerate(zip(shape, reversed(strides))):
        part = parts[dim] if dim < len(parts) else slice(None)
        kept = torch.arange(size)[part] if isinstance(part, slice) else torch.as_tensor(part, dtype=torch.long)
        positions = positions.unsqueeze(-1) + kept * step
    return positions.reshape(-1)


class _Destination:
    """Where one whole weight's values go on this rank: a parameter that is the whole of
    it, or one that holds a slice (its positions in the whole, in ascending order)."""

    def __init__(self, target: torch.Tensor, shape: torch.Size, index):
        self.flat = target.view(-1)
        if index is None:
            self.positions = self.order = None
        else:
            self.positions, self.order = _flat_positions(shape, index).sort()

    def take(self, values: torch.Tensor, start: int) -> None:
        """values: the whole weight's numbers from flat position `start` on."""
        stop = start + values.numel()
        if self.positions is None:
            self.flat[start:stop].copy_(values)
            return
        low, high = torch.searchsorted(self.positions, torch.tensor([start, stop])).tolist()
        if high > low:
            self.flat[self.order[low:high]] = values[self.positions[low:high] - start].to(self.flat.dtype)


@torch.no_grad()
def build_share(plan: ParallelPlan, comm: Comm, device: torch.device | str = "cpu",
                dtype: torch.dtype = torch.float32, seed: int = 0) -> DecoderModel:
    """Rank comm.rank's share of build_model(plan.spec, device, dtype, seed), sharded as
    `shard_model` cuts it, without making the whole model."""
    with LargeInRunDtype(dtype):
        model = construct(plan.spec, device)
    # initialize's order: every parameter of the whole model once (a tied one once)
    whole = []
    for name, parameter in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        owner = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
        whole.append((name, parameter, leaf, is_matrix(owner, leaf)))
    with noting_slices() as taken:
        shard_model(model, plan, comm, pack=False)
    unmade = {id(tensor) for tensor in [*model.parameters(), *model.buffers()] if tensor.is_meta}
    made = materialize(model, device, dtype)
    # for each whole weight, where its values go on this rank
    destinations: dict[int, list[_Destination]] = {}
    for name, parameter, leaf, matrix in whole:
        if matrix and id(parameter) in made:  # kept whole (the embedding, a replicated mixer, ...)
            destinations.setdefault(id(parameter), []).append(_Destination(made[id(parameter)], parameter.shape, None))
    for part, source, index in taken:
        if id(part) in made:  # (a slice later replaced by another is not in the share)
            destinations.setdefault(id(source), []).append(_Destination(made[id(part)], source.shape, index))
    # a large tensor made without values must get them here, as build_model requires
    drawn = {id(part) for part, _, _ in taken} | {id(parameter) for _, parameter, _, matrix in whole if matrix}
    zeroed = {id(parameter) for name, parameter in model.named_parameters()
              if name.rsplit(".", 1)[-1] in ("bias", "sinks")}
    for old in unmade - drawn:
        if id(made.get(old)) not in zeroed:
            raise RuntimeError("a large tensor with no initializer was made without values")
    generator = torch.Generator().manual_seed(seed)
    for name, parameter, leaf, matrix in whole:
        if matrix:  # the same draws as build.initialize's _fill_normal, kept where they land
            total, start = parameter.numel(), 0
            while start < total:
                stop = start + FILL_CHUNK
                if total - stop < 16:
                    stop = total
                values = torch.randn(stop - start, generator=generator) * INIT_STD
                for destination in destinations.get(id(parameter), ()):
                    destination.take(values.to(dtype), start)
                start = stop
    for name, parameter in model.named_parameters():
        if name.rsplit(".", 1)[-1] in ("bias", "sinks"):
            parameter.zero_()  # as initialize does (a column-split bias is zero off rank 0 anyway)
    model.eval().pack_for_decode()
    return model


def _slice_chains(taken: list) -> dict[int, tuple[torch.Tensor, list]]:
    """For each slice taken while sharding, {id(slice): (the whole tensor it comes from, the
    indices from the whole down to it)} -- a slice of a slice included."""
    parents = {id(part): (source, index) for part, source, index in taken}
    chains = {}
    for part, _, _ in taken:
        indices, source = [], part
        while id(source) in parents:
            source, index = parents[id(source)]
            indices.insert(0, index)
        chains[id(part)] = (source, indices)
    return chains


@torch.no_grad()
def load_share(plan: ParallelPlan, comm: Comm, directory, device: torch.device | str = "cpu",
               dtype: torch.dtype = torch.float32) -> DecoderModel:
    """Rank comm.rank's share of the checkpoint in `directory` (a Hugging Face model
    directory whose config gives plan.spec), sharded as `shard_model` cuts it, its values
    read from the files: never the whole model in memory, one of its tensors at a time."""
    from pathlib import Path

    from ..weights.loader import mapped_tensors
    from ..weights.name_maps import NAME_MAPS
    from ..weights.published_names import with_published_names
    from ..weights.safetensors_dir import SafetensorsDirectory, dequantizing, read_config

    directory = Path(directory)
    spec = plan.spec
    if spec.model_type not in NAME_MAPS:
        raise WeightsError(f"{directory / 'config.json'}: loading weights of model_type {spec.model_type!r} is not "
                           f"supported yet; supported: {', '.join(sorted(NAME_MAPS))}")
    tensors = dequantizing(SafetensorsDirectory(directory), read_config(directory), directory / "config.json", dtype)
    with LargeInRunDtype(dtype):
        model = construct(spec, device)
    whole = dict(model.named_parameters())  # (a tied weight once)
    names = list(whole)
    name_map = with_published_names(NAME_MAPS[spec.model_type](spec, names), tensors.__contains__)
    whole.update((name, buffer) for name, buffer in model.named_buffers() if name in name_map)
    with noting_slices() as taken:
        shard_model(model, plan, comm, pack=False)
    made = materialize(model, device, dtype)
    # where each whole tensor's values go on this rank: kept whole, or sliced (index chain)
    destinations: dict[int, list[tuple[torch.Tensor, list]]] = {}
    for name, tensor in whole.items():
        if id(tensor) in made:
            destinations.setdefault(id(tensor), []).append((made[id(tensor)], []))
    for part_id, (source, indices) in _slice_chains(taken).items():
        if part_id in made:  # (a slice later replaced by another is not in the share)
            destinations.setdefault(id(source), []).append((made[part_id], indices))
    shapes = {name: tensor.shape for name, tensor in whole.items()}
    wanted = {name for name, tensor in whole.items() if id(tensor) in destinations}
    for name, values in mapped_tensors(name_map, shapes, tensors.get, tensors.__contains__, str(directory),
                                       wanted=wanted.__contains__):
        for target, indices in destinations[id(whole[name])]:
            part = values
            for index in indices:
                part = part[index]
            target.copy_(part)
    model.eval().pack_for_decode()
    return model
