"""The roofline's bytes and FLOPs against what a real forward does.

A TorchDispatchMode watches every aten op of a real decode step and counts, per layer,
the bytes of the model's weights and of its caches that the ops read or write, and the
FLOPs of its matrix products. `app.spec.roofline.step_cost` must give the same weight and
cache bytes exactly (for an MoE layer: given the step's routing counts), and the same
FLOPs within 1%.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry

from app.model import build_model
from app.spec import catalog
from app.spec.roofline import expected_experts_reached, step_cost

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
    """The tensors that hold tokens or state (a ring's slot bookkeeping is not among them)."""
    found = []
    for layer in cache.layers:
        if layer is None:
            continue
        for name, value in vars(layer).items():
            if name == "slot_positions":
                continue
            if isinstance(value, torch.Tensor):
                found.append(value)
            elif isinstance(value, dict):
                found.extend(v for v in value.values() if isinstance(v, torch.Tensor))
    return found


# One entry of each family the roofline must know, at explore scale.
FAMILIES = {
    "dense": "qwen3-0.6b",
    "sliding window": "gemma3-1b",
    "MLA, MoE with shared experts": "deepseek-v3",
    "DSA": "deepseek-v3.2",
    "Gated DeltaNet": "qwen3-next-80b-a3b",
    "Mamba-2": "nemotron-3-nano-30b-a3b",
    "Gemma 3n": "gemma3n-e2b",
}
PROMPT = 40  # tokens: past the explore scale's sliding windows and DSA's top-k


def measured_decode_step(spec, batch: int, prompt: int = PROMPT):
    """(the counts per place, the step's routing counts) of one decode step after a prompt."""
    model = build_model(spec, seed=0)
    generator = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, spec.vocab_size, (batch, prompt + 1), generator=generator)
    cache = model.new_cache(batch, prompt + 1)
    recording = hasattr(model, "record_routing")
    with torch.no_grad():
        model(tokens[:, :prompt], cache=cache, last_only=True)
        if recording:
            model.record_routing(True)
        weights = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
        counter = ReadCounter(weights, {t.untyped_storage().data_ptr() for t in cache_tensors(cache)})
        with counter:
            model(tokens[:, prompt:], cache=cache, last_only=True, observer=counter)
    routing = {str(k): v for k, v in model.take_routing_counts().items()} if recording else None
    return counter.counts, routing


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_roofline_counts_what_a_decode_step_reads(family, batch):
    spec = catalog.get(FAMILIES[family], "explore")
    counts, routing = measured_decode_step(spec, batch)
    rows = step_cost(spec, "decode", tokens=1, context=PROMPT, batch=batch, dtype_bytes=4, routing=routing)
    for row in rows[:spec.num_layers]:
        seen = counts[row.name]
        where = f"{FAMILIES[family]} {row.name} ({row.mixer_kind}, {row.ffn_kind}) at batch {batch}"
        assert row.weight_bytes == seen.weight_bytes, f"{where}: weight bytes"
        assert row.cache_bytes == seen.cache_bytes, f"{where}: cache bytes"
        assert row.flops == pytest.approx(seen.flops, rel=0.01), f"{where}: FLOPs"
    head = next(row for row in rows if row.name == "head")
    assert head.weight_bytes == counts["head"].weight_bytes
    assert head.flops == pytest.approx(counts["head"].flops, rel=0.01)


def test_without_routing_counts_an_moe_layer_reads_the_experts_it_is_expected_to_reach():
    spec = catalog.get("qwen3-30b-a3b", "explore")
    moe = spec.layers[0].ffn
    expert_bytes = 2 * 3 * spec.d_model * moe.expert.intermediate_size
    top_k_only = {"0": [1] * moe.top_k + [0] * (moe.num_experts - moe.top_k)}
    for batch in (1, 4, 64):
        known = step_cost(spec, batch=batch, dtype_bytes=2, routing=top_k_only)[0].ffn
        expected = step_cost(spec, batch=batch, dtype_bytes=2)[0].ffn
        reached = moe.top_k + (expected.weight_bytes - known.weight_bytes) / expert_bytes
        assert reached == pytest.approx(expected_experts_reached(moe.num_experts, moe.top_k, batch), abs=1e-3)
    # one token reaches its top_k experts; a large batch nearly every expert
    assert expected_experts_reached(moe.num_experts, moe.top_k, 1) == pytest.approx(moe.top_k)
    assert expected_experts_reached(moe.num_experts, moe.top_k, 1024) == pytest.approx(moe.num_experts)
