"""Mixture-of-experts feed-forward: a router sends each token to top_k of num_experts
routed experts; shared experts (plain, or sigmoid-gated as in Qwen3-Next) see every token.
Gemma 4 normalizes each branch on its own (branch_norm): the router and the experts read the
layer's un-normed input, the experts through a pre-norm, and each branch's output is normed
before the sum. Nemotron 3 Super and Ultra's LatentMoE (latent_size) run the routed experts in
a narrower width: the router picks them from the full token, the token is projected down to
the latent, the experts' weighted sum is taken there and projected back up, and the shared
expert reads the full token.

Routing can be recorded: while recording, each MoE layer adds, on the device, how many
tokens each expert received; `take_routing_counts` reads every layer's counts in one
device-to-host transfer per step (never one per layer, which would stall a GPU per layer)
and resets them.
"""

from __future__ import annotations

import torch
from torch import nn

from ..spec.ffn import MoE as MoESpec
from .experts import RoutedExperts
from .mlp import MLP
from .norms import make_norm
from .packing import store_input_major
from .router import Router


class MoE(nn.Module):
    # attributes that change between steps: a compiled step keeps guarding them (app/runtime/fast.py)
    RUN_STATE = ("recording", "routing_counts")

    def __init__(self, spec: MoESpec, d_model: int):
        super().__init__()
        self.spec = spec
        self.router = Router(spec, d_model)
        latent = spec.latent_size
        # transformers' fc1_latent_proj and fc2_latent_proj
        self.latent_down = nn.Linear(d_model, latent, bias=spec.latent_bias) if latent else None
        self.latent_up = nn.Linear(latent, d_model, bias=spec.latent_bias) if latent else None
        self.experts = RoutedExperts(spec.num_experts, spec.expert, spec.expert_width(d_model))
        self.shared = MLP(spec.shared, d_model) if spec.shared is not None else None
        self.shared_gate = nn.Linear(d_model, 1, bias=False) if spec.shared is not None and spec.shared_gate else None
        branch = spec.branch_norm
        self.experts_pre_norm = make_norm(branch, d_model) if branch is not None else None
        self.experts_post_norm = make_norm(branch, d_model) if branch is not None else None
        self.shared_post_norm = make_norm(branch, d_model) if branch is not None and self.shared is not None else None
        self.recording = False
        self.routing_counts: torch.Tensor | None = None  # [E] on the device, since recording (re)started

    def count(self, indices: torch.Tensor) -> torch.Tensor:
        """Tokens per expert among these assignments [tokens, top_k], added to the routing
        counts while recording."""
        # Counted by a scatter, not bincount: on CUDA bincount reads the largest index on the host.
        flat = indices.reshape(-1)
        # zero experts (LongCat) are counted in slots past the real ones, then left out: they hold
        # no weights, and the routing record and the experts' dispatch are about weights
        tokens_per_expert = torch.zeros(self.spec.routing_slots, dtype=torch.long, device=flat.device)
        tokens_per_expert.scatter_add_(0, flat, torch.ones_like(flat))
        tokens_per_expert = tokens_per_expert[:self.spec.num_experts]
        if self.recording:
            # Added in place into one buffer (made when recording starts), which a captured
            # step (a CUDA graph) keeps adding into at every replay and a compiled step
            # never has to create.
            self.routing_counts += tokens_per_expert
        return tokens_per_expert

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None, step=None) -> torch.Tensor:
        """x: the layer's normed input [..., d]. residual: its un-normed input, which the
        router and the experts read when the spec has branch norms (the block passes it).
        step: the forward's shared state, where an MLP router's depth state travels."""
        out = self.routed(x, residual, step)
        if self.shared is not None:
            out = out + self.shared_part(x)
        if self.spec.output_scale != 1.0:
            # Grok 2.5's "residual MoE": (shared + routed) / sqrt(2) keeps the sum's scale.
            out = out * self.spec.output_scale
        return out

    def shared_part(self, x: torch.Tensor) -> torch.Tensor:
        """The shared expert's output (gated, normed) for the normed input x [..., d]."""
        shared = self.shared(x)
        if self.shared_gate is not None:
            shared = shared * torch.sigmoid(self.shared_gate(x))
        if self.shared_post_norm is not None:
            shared = self.shared_post_norm(shared)
        return shared

    def routed(self, x: torch.Tensor, residual: torch.Tensor | None = None, step=None) -> torch.Tensor:
        """The routed experts' weighted sum [..., d] (with zero experts' tokens among it); a
        shortcut MoE's block adds it after the next layer."""
        tokens = x.reshape(-1, x.shape[-1])
        routed_input = tokens
        if self.spec.branch_norm is not None:
            if residual is None:
                raise ValueError("an MoE with branch norms reads the layer's un-normed input: pass residual")
            routed_input = residual.reshape(-1, residual.shape[-1])
        indices, weights = self.router(routed_input, step)
        tokens_per_expert = self.count(indices)
        identity = None
        beyond = self.spec.zero_experts or self.spec.skip_experts
        if beyond:
            # LongCat's zero experts return the token itself, times its weight: summed here;
            # ZAYA1's skip experts return nothing. Their slots all get the one index past the
            # real experts, weight 0, which sorts them after every real assignment: the experts'
            # dispatch skips them (RoutedExperts' skip)
            past = indices >= self.spec.num_experts
            if self.spec.zero_experts:
                zero = past & (indices < self.spec.num_experts + self.spec.zero_experts)
                identity = (weights * zero).sum(-1, keepdim=True).to(routed_input.dtype) * routed_input
            indices = indices.masked_fill(past, self.spec.num_experts)
            weights = weights.masked_fill(past, 0.0)
        if self.experts_pre_norm is not None:
            routed_input = self.experts_pre_norm(routed_input)
        if self.latent_down is not None:
            routed_input = self.latent_down(routed_input)
        out = self.experts(routed_input, indices, weights, tokens_per_expert, self.spec.router.weight_inputs,
                           skip_past_experts=bool(beyond))
        if identity is not None:
            out = out + identity
        if self.latent_up is not None:
            # after the weighted sum, as the reference does: one up-projection per token, not
            # one per chosen expert (the same product, a bias added once)
            out = self.latent_up(out)
        if self.experts_post_norm is not None:
            out = self.experts_post_norm(out)
        return out.view(x.shape)


    def pack_for_decode(self) -> None:
        """The latent projections input-major, as every other matrix a decode step streams
        (app/model/packing.py); the shared expert packs itself."""
        for linear in (self.latent_down, self.latent_up):
            if linear is not None:
                store_input_major(linear)


def moe_layers(model: nn.Module) -> dict[int, MoE]:
    """The MoE feed-forward of each decoder layer that has one, by layer index."""
    return {index: block.ffn for index, block in enumerate(model.layers) if isinstance(block.ffn, MoE)}


def record_routing(model: nn.Module, enabled: bool) -> None:
    """Start (from zero) or stop counting the tokens each expert receives."""
    for moe in moe_layers(model).values():
        moe.recording = enabled
        if moe.routing_counts is None:
            moe.routing_counts = torch.zeros(moe.spec.num_experts, dtype=torch.long,
                                             device=moe.router.proj.weight.device)
        else:
            moe.routing_counts.zero_()  # in place: a captured step (a CUDA graph) adds into this buffer


def take_routing_counts(model: nn.Module) -> dict[int, list[int]]:
    """{layer index: tokens per expert} counted since the last call, then reset."""
    layers = moe_layers(model)
    if not layers:
        return {}
    device = next(iter(layers.values())).router.proj.weight.device
    counts = torch.cat([moe.routing_counts if moe.routing_counts is not None else
                        torch.zeros(moe.spec.num_experts, dtype=torch.long, device=device)
                        for moe in layers.values()])
    flat = counts.cpu().tolist()  # the one device-to-host read for every layer
    result, start = {}, 0
    for index, moe in layers.items():
        result[index] = flat[start:start + moe.spec.num_experts]
        start += moe.spec.num_experts
        if moe.routing_counts is not None:
            moe.routing_counts.zero_()
    return result
