"""Counting what one forward pass reads: the bytes of the model's weights and caches that
its aten ops read or write, per place (a layer, the head), and the FLOPs of its matrix
products -- measured by watching every op (a TorchDispatchMode), not estimated.

The roofline's cost model (app/spec/roofline.py) is held equal to these counts by a test,
and bench/decode.py divides a decode step's counted bytes by its time to say how close to
the memory-bandwidth limit a run is. Slow (every op goes through Python): one step, not a
run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry

aten = torch.ops.aten

# Ops that read only the rows they gather, not the whole tensor they are given.
GATHERS = {aten.embedding.default, aten.index.Tensor, aten.index_select.default, aten.gather.default}
# Writes whose new values are their own argument (the rest write their whole destination).
WRITES_OF_VALUES = {aten.index_put_.default: 2, aten.index_put.default: 2, aten.index_copy_.default: 3}


def cpu_flash_attention_flops(query, key, value, *args, **kwargs) -> int:
    """torch's CPU flash attention, which the flop counter does not know: both products."""
    batch, heads, queries, key_dim = query.shape
    keys = key.shape[-2]
    return 2 * batch * heads * queries * keys * (key_dim + value.shape[-1])


def lowbit_linear_flops(x, codes, *args, **kwargs) -> int:
    """Our low-bit product (app/model/kernels/lowbit.cpp): x [M, K] times [N, K]."""
    return 2 * x.shape[0] * x.shape[1] * codes.shape[0]


def decode_linear_flops(x, weight, *args, **kwargs) -> int:
    """Our decode product with a float matrix (app/model/kernels/decode_linear.cpp): x [M, K]
    times [N, K]."""
    return 2 * x.shape[0] * x.shape[1] * weight.shape[0]


# Our own operators (app/model/kernels), by name: they are registered only where built.
OWN_OPERATOR_FLOPS = {"archscope_kernels::decode_attention": cpu_flash_attention_flops,
                      "archscope_kernels::lowbit_linear": lowbit_linear_flops,
                      "archscope_kernels::decode_linear": decode_linear_flops}


@dataclass
class Counts:
    weight_bytes: int = 0
    cache_bytes: int = 0
    flops: int = 0


def distinct_bytes(tensor: torch.Tensor) -> int:
    """Bytes of the distinct elements a view covers (an expanded dimension reads its one
    element once)."""
    elements = math.prod(size for size, stride in zip(tensor.shape, tensor.stride()) if stride != 0)
    return elements * tensor.element_size()


class ReadCounter(TorchDispatchMode):
    """Counts, under the current `where` (a layer, the head, ...), the weight and cache
    bytes the ops read or write -- what one place reads twice counts once, as the second
    read finds it in cache -- and the FLOPs of matrix products."""

    def __init__(self, weights: set[int], caches: set[int]):
        super().__init__()
        self.weights, self.caches = weights, caches
        self.where = "embedding"
        self.counts: dict[str, Counts] = defaultdict(Counts)
        self.seen: dict[str, set] = defaultdict(set)
        self.read_elements: dict[tuple, torch.Tensor] = {}

    def mark(self, layer: int, point: str) -> None:  # the model's observer protocol
        # after a block's "ffn" mark comes the next block or the head; "head" ends the head
        self.where = {"start": f"layer {layer}", "mixer": f"layer {layer}", "ffn": "head",
                      "head": "after the head", "sample": "after sampling"}[point]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func.is_view:
            return out
        counts = self.counts[self.where]
        if func.overloadpacket in flop_registry:
            counts.flops += flop_registry[func.overloadpacket](*args, **kwargs, out_val=out)
        elif func is aten._scaled_dot_product_flash_attention_for_cpu.default:
            counts.flops += cpu_flash_attention_flops(*args)
        elif func.name() in OWN_OPERATOR_FLOPS:
            counts.flops += OWN_OPERATOR_FLOPS[func.name()](*args)
        named = list(zip(func._schema.arguments, args)) + [
            (argument, kwargs[argument.name]) for argument in func._schema.arguments if argument.name in kwargs]
        for argument, value in named:
            written = argument.alias_info is not None and argument.alias_info.is_write
            for tensor in tree_flatten(value)[0]:
                if isinstance(tensor, torch.Tensor):
                    self._count(func, tensor, written, args, out, counts)
        return out

    def _count(self, func, tensor, written, args, out, counts: Counts) -> None:
        storage = tensor.untyped_storage().data_ptr()
        if storage not in self.weights and storage not in self.caches:
            return
        if written:
            values = args[WRITES_OF_VALUES[func]] if func in WRITES_OF_VALUES else tensor
            size = values.numel() * tensor.element_size()
            key = ("write", storage, tensor.storage_offset(), tuple(values.shape))
        elif func in GATHERS:
            size = out.numel() * out.element_size()
            key = ("gather", storage, id(out))
        else:
            size = distinct_bytes(tensor)
            key = ("read", storage, tensor.storage_offset(), tuple(tensor.shape), tuple(tensor.stride()))
        if storage in self.weights:
            if key not in self.seen[self.where]:
                self.seen[self.where].add(key)
                counts.weight_bytes += size
        elif key[0] == "read":
            counts.cache_bytes += self._first_reads(tensor) * tensor.element_size()
        elif key not in self.seen[self.where]:
            self.seen[self.where].add(key)
            counts.cache_bytes += size

    def _first_reads(self, tensor: torch.Tensor) -> int:
        """How many of the cache elements a view covers were not yet read in this place:
        MLA reads its latents as keys and again as values, one fetch from memory."""
        storage = tensor.untyped_storage()
        read = self.read_elements.setdefault((self.where, storage.data_ptr()),
                                             torch.zeros(storage.nbytes() // tensor.element_size(), dtype=torch.bool))
        with torch.utils._python_dispatch._disable_current_modes():
            covered = torch.arange(read.numel()).as_strided(tensor.shape, tensor.stride(), tensor.storage_offset())
            fresh = int((~read[covered]).sum())
            read[covered] = True
        return fresh


def cache_tensors(cache) -> list[torch.Tensor]:
    """The tensors that hold tokens or state (a ring's slot bookkeeping is not among them),
    also inside a layer's cache made of caches (ZAYA1's CCA: keys and values, and a state)."""
    found = []

    def held(part) -> None:
        for name, value in vars(part).items():
            if name == "slot_positions":
                continue
            if isinstance(value, torch.Tensor):
                found.append(value)
            elif isinstance(value, dict):
                found.extend(v for v in value.values() if isinstance(v, torch.Tensor))
            elif hasattr(value, "nbytes") and hasattr(value, "__dict__"):  # a cache within the cache
                held(value)

    for layer in cache.layers:
        if layer is not None:
            held(layer)
    return found


def count_step(model, input_ids: torch.Tensor, cache) -> dict[str, Counts]:
    """The counts per place of one forward of input_ids through cache (which it advances)."""
    weights = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    counter = ReadCounter(weights, {t.untyped_storage().data_ptr() for t in cache_tensors(cache)})
    with torch.no_grad(), counter:
        model(input_ids, cache=cache, last_only=True, observer=counter)
    return counter.counts
