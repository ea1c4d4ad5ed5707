"""The router of a mixture of experts: scores every expert for each token, picks the top_k
and weighs them.

One module covers the published variants: softmax scores (Mixtral, Qwen3, gpt-oss) or
sigmoid scores (DeepSeek V3, Llama 4, MiniMax-M2); a score-correction bias that steers
only the choice, never the weights (DeepSeek V3's auxiliary-loss-free balancing); choice
limited to the best groups of experts (DeepSeek V3's node-limited routing); weights
normalized over the chosen experts and multiplied by routed_scaling; a bias on the router
projection (gpt-oss) and a soft cap on its logits (Grok); Gemma 4's norm of the router's
input (a learned scale, then 1/sqrt(d)) and a learned scale per expert on the chosen weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.ffn import MoE as MoESpec
from .norms import make_norm


class Router(nn.Module):
    def __init__(self, spec: MoESpec, d_model: int):
        super().__init__()
        self.spec = spec.router
        # LongCat's zero experts are scored and chosen like the others, after the real ones
        self.num_experts = spec.routing_slots
        self.top_k = spec.top_k
        self.proj = nn.Linear(d_model, spec.routing_slots, bias=spec.router.bias)
        # A buffer, not a parameter: the published models adjust it between training steps
        # from the experts' load, never by gradient. Checkpoints store it, so it persists.
        bias = torch.zeros(spec.routing_slots) if spec.router.score_correction_bias else None
        self.register_buffer("score_correction_bias", bias)
        # Gemma 4: the input's norm (its weight the checkpoint's router.scale), then 1/sqrt(d)
        self.input_norm = make_norm(spec.router.input_norm, d_model) if spec.router.input_norm is not None else None
        self.input_scale = d_model ** -0.5
        self.per_expert_scale = nn.Parameter(torch.ones(spec.num_experts)) if spec.router.per_expert_scale else None

    def scores(self, tokens: torch.Tensor) -> torch.Tensor:
        """Each token's score for each expert [N, E], in float32 whatever the model dtype:
        near-equal scores must order the same way in bf16 as in float32."""
        bias = self.proj.bias.float() if self.proj.bias is not None else None
        if self.input_norm is not None:
            tokens = self.input_norm(tokens) * self.input_scale
        logits = F.linear(tokens.float(), self.proj.weight.float(), bias)
        if self.spec.logit_softcap:
            cap = self.spec.logit_softcap
            logits = torch.tanh(logits / cap) * cap
        if self.spec.scoring == "softmax":
            return torch.softmax(logits, dim=-1)
        return torch.sigmoid(logits)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(expert indices [N, top_k], their weights [N, top_k] in float32) for tokens [N, d]."""
        scores = self.scores(tokens)
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
