"""The router of a mixture of experts: scores every expert for each token, picks the top_k
and weighs them.

One module covers the published variants: softmax scores (Mixtral, Qwen3, gpt-oss) or
sigmoid scores (DeepSeek V3, Llama 4, MiniMax-M2); a score-correction bias that steers
only the choice, never the weights (DeepSeek V3's auxiliary-loss-free balancing); choice
limited to the best groups of experts (DeepSeek V3's node-limited routing); weights
normalized over the chosen experts and multiplied by routed_scaling; a bias on the router
projection (gpt-oss) and a soft cap on its logits (Grok); Gemma 4's norm of the router's
input (a learned scale, then 1/sqrt(d)) and a learned scale per expert on the chosen weights;
ZAYA1's router, a small MLP whose first layer also reads the previous MoE layer's (its depth
state, carried by the step), choosing among skip slots beside the experts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.ffn import MoE as MoESpec
from ..spec.parts import Norm
from .norms import make_norm


class Router(nn.Module):
    def __init__(self, spec: MoESpec, d_model: int):
        super().__init__()
        self.spec = spec.router
        # LongCat's zero experts are scored and chosen like the others, after the real ones
        self.num_experts = spec.routing_slots
        self.top_k = spec.top_k
        # ZAYA1's MLP router: down to mlp_width, (+ the previous router's state), norm, two GELU
        # layers, then `proj` to the slots
        width = spec.router.mlp_width
        self.down = nn.Linear(d_model, width, bias=True) if width else None
        self.depth_scale = nn.Parameter(torch.ones(width)) if width and spec.router.depth_state else None
        self.mlp_norm = make_norm(Norm("rmsnorm", spec.router.mlp_norm_eps), width) if width else None
        self.fc1 = nn.Linear(width, width, bias=True) if width else None
        self.fc2 = nn.Linear(width, width, bias=True) if width else None
        self.proj = nn.Linear(width or d_model, spec.routing_slots, bias=spec.router.bias)
        # A buffer, not a parameter: the published models adjust it between training steps
        # from the experts' load, never by gradient. Checkpoints store it, so it persists.
        bias = torch.zeros(spec.routing_slots) if spec.router.score_correction_bias else None
        self.register_buffer("score_correction_bias", bias)
        # Gemma 4: the input's norm (its weight the checkpoint's router.scale), then 1/sqrt(d)
        self.input_norm = make_norm(spec.router.input_norm, d_model) if spec.router.input_norm is not None else None
        self.input_scale = d_model ** -0.5
        self.per_expert_scale = nn.Parameter(torch.ones(spec.num_experts)) if spec.router.per_expert_scale else None

    def _through_mlp(self, tokens: torch.Tensor, step) -> torch.Tensor:
        """An MLP router's last hidden layer for tokens [N, d], in float32; its state (the
        down-projection plus what it received) handed on to the next MoE layer in `step`."""
        hidden = F.linear(tokens.float(), self.down.weight.float(), self.down.bias.float())
        received = getattr(step, "router_state", None) if step is not None else None
        if self.depth_scale is not None and received is not None:
            hidden = hidden + received * self.depth_scale.float()
        if step is not None:
            step.router_state = hidden
        hidden = F.gelu(self.fc1(self.mlp_norm(hidden).to(self.fc1.weight.dtype)).float())
        return F.gelu(self.fc2(hidden.to(self.fc2.weight.dtype)).float())

    def scores(self, tokens: torch.Tensor, step=None) -> torch.Tensor:
        """Each token's score for each expert [N, E], in float32 whatever the model dtype:
        near-equal scores must order the same way in bf16 as in float32. step: where an MLP
        router with a depth state finds the previous one's and leaves its own."""
        bias = self.proj.bias.float() if self.proj.bias is not None else None
        if self.input_norm is not None:
            tokens = self.input_norm(tokens) * self.input_scale
        if self.down is not None:
            tokens = self._through_mlp(tokens, step)
        logits = F.linear(tokens.float(), self.proj.weight.float(), bias)
        if self.spec.logit_softcap:
            cap = self.spec.logit_softcap
            logits = torch.tanh(logits / cap) * cap
        if self.spec.scoring == "softmax":
            return torch.softmax(logits, dim=-1)
        if self.spec.scoring == "sqrtsoftplus":  # DeepSeek V4
            return F.softplus(logits).sqrt()
        return torch.sigmoid(logits)

    def forward(self, tokens: torch.Tensor, step=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(expert indices [N, top_k], their weights [N, top_k] in float32) for tokens [N, d]."""
        scores = self.scores(tokens, step)
        if self.spec.hash_routed:
            # DeepSeek V4's first layers: the token id's row of a fixed table chooses (the
            # block looked it up: app/model/decoder.py), the learned scores only weigh
            indices = step.hashed_experts
        else:
            choice = scores if self.score_correction_bias is None else scores + self.score_correction_bias.float()
            if self.spec.num_groups > 1:
                choice = self._keep_best_groups(choice)
            indices = choice.topk(self.top_k, dim=-1).indices
        weights = scores.gather(-1, indices)  # the corrected scores choose; the raw scores weigh
        if self.spec.normalize_top_k:
            weights = weights / (weights.sum(dim=-1, keepdim=True) + self.spec.normalize_epsilon)
        if self.spec.routed_scaling != 1.0:
            weights = weights * self.spec.routed_scaling
        if self.per_expert_scale is not None:
            weights = weights * self.per_expert_scale.float()[indices]
        return indices, weights

    def _keep_best_groups(self, choice: torch.Tensor) -> torch.Tensor:
        """Hide every expert outside the top_k_groups groups. DeepSeek V3 ranks a group by
        the sum of its two best scores (so one lucky expert does not carry its group)."""
        groups = self.spec.num_groups
        grouped = choice.view(choice.shape[0], groups, self.num_experts // groups)
        best_in_group = min(2, grouped.shape[-1])
        group_scores = grouped.topk(best_in_group, dim=-1).values.sum(dim=-1)
        kept_groups = group_scores.topk(self.spec.top_k_groups, dim=-1).indices
        kept = torch.zeros_like(group_scores, dtype=torch.bool).scatter_(1, kept_groups, True)
        return grouped.masked_fill(~kept.unsqueeze(-1), float("-inf")).view_as(choice)
