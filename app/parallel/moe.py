"""A mixture of experts over ranks, and the slicing helpers the shards share.

Two layouts (`plan.FfnSplit.how`):

"experts" (expert parallelism): each rank holds num_experts / ranks whole experts. Every
rank has the whole hidden state (the mixer before it ended in an all-reduce), so it routes
only its block of the tokens (`plan.token_shares`), then
  1. tells every rank how many of its assignments go to each of that rank's experts
     (all-to-all of the per-expert counts),
  2. sends each assignment's token to the rank of its expert (all-to-all, "dispatch"),
  3. runs its own experts on what it received and sends the results back ("combine"),
  4. weighs and sums them per token, and gathers every rank's tokens (all-gather),
so that the next layer again starts from the whole hidden state. Shared experts see every
token, split by columns (with an all-reduce of their own) when tensor parallelism is on.

"expert columns" (expert tensor parallelism, tp > 1 and ep == 1): every rank holds every
expert with a block of its hidden width, and of the shared experts'; the routed and the
shared partial sums are added and completed by one all-reduce.

The router is whole on every rank. Routing counts (`record_routing`) count the tokens this
rank routed: all of them with expert columns, its block with experts placed over ranks.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from ..model.moe import MoE
from .comm import Comm
from .plan import FfnSplit, token_shares


# While a shard is cut from a model whose large weights are not made yet ("meta", see
# app/parallel/build.py), each slice taken notes which tensor it came from and where, so the
# shard's values can be drawn as the whole model's would have been.
_slices_taken: list[tuple[nn.Parameter, torch.Tensor, object]] | None = None


@contextmanager
def noting_slices():
    """Within: every `sliced` parameter as (the new parameter, its source tensor, the index)."""
    global _slices_taken
    _slices_taken = taken = []
    try:
        yield taken
    finally:
        _slices_taken = None


@torch.no_grad()
def sliced(tensor: torch.Tensor, index) -> nn.Parameter:
    """tensor[index] as a parameter of its own, contiguous (a copy: the whole can go)."""
    parameter = nn.Parameter(tensor.detach()[index].clone(memory_format=torch.contiguous_format), requires_grad=False)
    if _slices_taken is not None:
        _slices_taken.append((parameter, tensor, index))
    return parameter


@torch.no_grad()
def keep_rows(linear: nn.Linear, rows: slice | torch.Tensor) -> None:
    """Keep these output features (rows of the weight, entries of the bias)."""
    linear.weight = sliced(linear.weight, rows)
    if linear.bias is not None:
        linear.bias = sliced(linear.bias, rows)
    linear.out_features = linear.weight.shape[0]


@torch.no_grad()
def keep_columns(linear: nn.Linear, columns: slice, rank: int) -> None:
    """Keep these input features: the output becomes a partial sum over ranks, so the bias
    stays on rank 0 only and the sum adds it once."""
    linear.weight = sliced(linear.weight, (slice(None), columns))
    if rank != 0:
        linear.bias = None
    linear.in_features = linear.weight.shape[1]


def _without_bias(linear: nn.Linear) -> nn.Linear:
    """The same weight, no bias: a copy of the module, the original left as it was."""
    bare = nn.Linear.__new__(nn.Linear)
    nn.Module.__init__(bare)
    bare.in_features, bare.out_features = linear.in_features, linear.out_features
    bare.weight, bare.bias = linear.weight, None
    return bare


def _stacked(tensor: torch.Tensor | None, index) -> nn.Parameter | None:
    return None if tensor is None else sliced(tensor, index)


class ParallelMoE(MoE):
    """An MoE layer's share on one rank (see the module's docstring). Still an MoE, so the
    model's routing counts find it."""

    def __init__(self, moe: MoE, split: FfnSplit, tp: int, comm: Comm, layer: int):
        nn.Module.__init__(self)
        if moe.spec.branch_norm is not None:
            raise ValueError("an MoE whose branches are normed apart is not split over ranks (the plan refuses it)")
        self.spec, self.router, self.experts = moe.spec, moe.router, moe.experts
        self.shared, self.shared_gate = moe.shared, moe.shared_gate
        self.experts_pre_norm = self.experts_post_norm = self.shared_post_norm = None
        # A latent MoE's projections, whole on every rank (MoE.forward's order)
        self.latent_down, self.latent_up = moe.latent_down, moe.latent_up
        self.recording, self.routing_counts = moe.recording, moe.routing_counts
        self.split, self.tp, self.comm, self.layer = split, tp, comm, layer
        rank = comm.rank
        experts = self.experts
        if split.how == "experts":
            own = slice(rank * split.experts_per_rank, (rank + 1) * split.experts_per_rank)
            for name in ("gate_proj", "up_proj", "down_proj", "gate_bias", "up_bias", "down_bias"):
                setattr(experts, name, _stacked(getattr(experts, name), own))
            experts.num_experts = split.experts_per_rank
        elif split.how == "expert columns":
            width = split.intermediate_per_rank
            hidden = slice(rank * width, (rank + 1) * width)
            for name in ("gate_proj", "up_proj"):
                setattr(experts, name, _stacked(getattr(experts, name), (slice(None), hidden)))
            experts.down_proj = _stacked(experts.down_proj, (slice(None), slice(None), hidden))
            for name in ("gate_bias", "up_bias"):
                setattr(experts, name, _stacked(getattr(experts, name), (slice(None), hidden)))
            if rank != 0:  # the experts' outputs are partial sums: the bias is added once, on rank 0
                experts.down_bias = None
                if self.latent_up is not None:  # (the latent up-projection is linear in them)
                    self.latent_up = _without_bias(self.latent_up)
        if self.shared is not None and tp > 1:
            width = split.shared_intermediate_per_rank
            hidden = slice(rank * width, (rank + 1) * width)
            if self.shared.gate_proj is not None:
                keep_rows(self.shared.gate_proj, hidden)
            keep_rows(self.shared.up_proj, hidden)
            keep_columns(self.shared.down_proj, hidden, rank)
            self.shared.gate_up = None

    def _expert_parallel(self, tokens: torch.Tensor) -> torch.Tensor:
        """The routed experts' sum for every token, experts placed over ranks."""
        comm, layer = self.comm, self.layer
        world, rank = comm.world_size, comm.rank
        shares = token_shares(tokens.shape[0], world)
        first = sum(shares[:rank])
        own = tokens[first:first + shares[rank]]
        indices, weights = self.router(own)
        if self.latent_down is not None:  # the tokens travel to the experts in the latent
            own = self.latent_down(own)
        counts = self.count(indices)
        top_k = indices.shape[1]
        order = indices.reshape(-1).argsort(stable=True)  # assignments by expert, so by the expert's rank
        token_of = order // top_k
        routed = own[token_of]
        scale = weights.reshape(-1)[order].unsqueeze(-1).to(tokens.dtype)
        weight_inputs = self.spec.router.weight_inputs
        if weight_inputs:
            routed = routed * scale
        local = self.split.experts_per_rank
        # 1. how many rows each rank will send to each of this rank's experts
        received_counts = comm.all_to_all(torch.empty_like(counts), counts, None, None, layer, "ffn.counts")
        received_counts = received_counts.view(world, local).tolist()  # the host read the splits need
        send_splits = counts.view(world, local).sum(1).tolist()
        receive_splits = [sum(row) for row in received_counts]
        # 2. dispatch: each assignment's token to its expert's rank
        received = routed.new_empty(sum(receive_splits), routed.shape[1])
        comm.all_to_all(received, routed, receive_splits, send_splits, layer, "ffn.dispatch")
        # 3. this rank's experts on what came, each source's rows already in expert order
        outputs = torch.empty_like(received)
        start = 0
        for row in received_counts:
            for expert, count in enumerate(row):
                if count:
                    outputs[start:start + count] = self.experts.expert(expert, received[start:start + count])
                    start += count
        returned = comm.all_to_all(torch.empty_like(routed), outputs, send_splits, receive_splits, layer,
                                   "ffn.combine")
        if not weight_inputs:
            returned = returned * scale
        summed = torch.zeros_like(own).index_add_(0, token_of, returned)
        if self.latent_up is not None:
            summed = self.latent_up(summed)
        # 4. every rank's tokens, in blocks of equal rows (the last ones padded)
        block = max(shares)
        padded = summed if summed.shape[0] == block else torch.cat(
            (summed, summed.new_zeros(block - summed.shape[0], summed.shape[1])))
        return comm.all_gather(padded, layer, "ffn.gather")[:tokens.shape[0]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.reshape(-1, x.shape[-1])
        placed = self.split.how == "experts"
        if placed:
            out = self._expert_parallel(tokens)
        else:
            indices, weights = self.router(tokens)
            routed = self.latent_down(tokens) if self.latent_down is not None else tokens
            out = self.experts(routed, indices, weights, self.count(indices), self.spec.router.weight_inputs)
            if self.latent_up is not None:
                out = self.latent_up(out)
        if self.shared is not None:
            shared = self.shared(tokens)
            if self.shared_gate is not None:
                shared = shared * torch.sigmoid(self.shared_gate(tokens))
            if placed and self.tp > 1:
                shared = self.comm.all_reduce(shared, self.layer, "ffn.shared")
            out = out + shared
        if self.spec.output_scale != 1.0:
            out = out * self.spec.output_scale
        if self.split.reduces:
            out = self.comm.all_reduce(out, self.layer, "ffn")
        return out.view(x.shape)
