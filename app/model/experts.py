"""The routed experts of a mixture of experts: num_experts MLPs of one shape, their
weights stacked [E, out, in] so that every expert is a slice of one tensor.

Dispatch groups tokens by expert: the (token, expert) assignments are sorted by expert,
and each expert runs once on its contiguous slice. On a GPU with torch's grouped GEMM
(bfloat16, sm80 on), one grouped matmul per projection runs every slice, bounded by
offsets that stay on the device; elsewhere a loop over the experts in use does, which
needs the slice bounds on the host -- a sync per MoE layer that would serialize a GPU
decode step. The CPU has no such sync to avoid, and there the loop decodes faster (the
grouped kernel runs on the CPU too: `dispatch = "grouped"` asks for it). A compiled step
that cannot take the grouped GEMM gathers each assignment's expert rows instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..spec.ffn import MLP as MLPSpec
from .mlp import ACTIVATIONS, check_activation, gated_activation


@functools.lru_cache(maxsize=None)
def _grouped_gemm_runs_on(device: torch.device, dtype: torch.dtype) -> bool:
    """torch's grouped GEMM: bfloat16 on CUDA from sm80 (Ampere) on; float32 and bfloat16
    on the CPU."""
    if not hasattr(F, "grouped_mm"):
        return False
    if device.type == "cuda":
        return dtype == torch.bfloat16 and torch.cuda.get_device_capability(device) >= (8, 0)
    return device.type == "cpu" and dtype in (torch.float32, torch.bfloat16)


def _capturing(tensor: torch.Tensor) -> bool:
    """Whether a CUDA graph is being captured (the fast mode on a GPU): no host reads then."""
    return tensor.is_cuda and torch.cuda.is_current_stream_capturing()


def routed_sum(tokens: torch.Tensor, indices: torch.Tensor, weights: torch.Tensor, weight_inputs: bool,
               run: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Sum over each token's chosen experts of weight * expert(token), for tokens [N, d],
    indices and weights [N, top_k]: the (token, expert) assignments sorted by expert, then
    run(routed [A, d], expert_of [A]) applies each one's expert (every dispatch, and the
    low-bit experts of app/model/lowbit_experts.py, share this bookkeeping).
    weight_inputs (Llama 4): the weight scales the expert's input instead of its output."""
    top_k = indices.shape[1]
    flat = indices.reshape(-1)
    order = flat.argsort(stable=True)  # assignments grouped by expert, in expert order
    token_of = order // top_k  # assignment a belongs to token a // top_k
    routed = tokens[token_of]
    scale = weights.reshape(-1)[order].unsqueeze(-1).to(tokens.dtype)
    if weight_inputs:
        routed = routed * scale
    outputs = run(routed, flat[order])
    if not weight_inputs:
        outputs = outputs * scale
    return torch.zeros_like(tokens).index_add_(0, token_of, outputs)


class RoutedExperts(nn.Module):
    # Stacked matrices that build.initialize draws like nn.Linear weights.
    matrices = ("gate_proj", "up_proj", "down_proj")
    # "auto": the grouped GEMM on a GPU that has it, else the loop; "grouped": the grouped
    # GEMM wherever it runs (the CPU included); "loop": always the loop. Tests and
    # bench/moe.py set it on an instance to compare the two.
    dispatch = "auto"

    def __init__(self, num_experts: int, spec: MLPSpec, d_model: int):
        super().__init__()
        check_activation(spec.activation, spec.gated)
        self.num_experts = num_experts
        self.gated = spec.gated
        self.activation = gated_activation(spec.activation, spec.swiglu_limit) if spec.gated \
            else ACTIVATIONS[spec.activation]
        width = spec.intermediate_size

        def stacked(*shape: int, wanted: bool = True) -> nn.Parameter | None:
            return nn.Parameter(torch.zeros(num_experts, *shape)) if wanted else None

        # Each expert's slice has nn.Linear's [out, in] layout.
        self.gate_proj = stacked(width, d_model, wanted=spec.gated)
        self.up_proj = stacked(width, d_model)
        self.down_proj = stacked(d_model, width)
        self.gate_bias = stacked(width, wanted=spec.gated and spec.bias)
        self.up_bias = stacked(width, wanted=spec.bias)
        self.down_bias = stacked(d_model, wanted=spec.bias)

    def held_matrices(self) -> tuple[str, ...]:
        """The names of the stacked matrices this layer holds (gate_proj only when gated)."""
        return self.matrices if self.gated else self.matrices[1:]

    def expert(self, index: int, h: torch.Tensor) -> torch.Tensor:
        """Expert `index` applied to h [n, d]."""
        def project(weight, bias, inputs):
            out = inputs @ weight[index].t()
            return out if bias is None else out + bias[index]

        return self._mlp(project, h)

    def _mlp(self, project, h: torch.Tensor) -> torch.Tensor:
        """The expert MLP on h, each stacked matrix applied by project(weight, bias, inputs)."""
        up = project(self.up_proj, self.up_bias, h)
        if self.gated:
            hidden = self.activation(project(self.gate_proj, self.gate_bias, h), up)
        else:
            hidden = self.activation(up)
        return project(self.down_proj, self.down_bias, hidden)

    def forward(self, tokens: torch.Tensor, indices: torch.Tensor, weights: torch.Tensor,
                tokens_per_expert: torch.Tensor, weight_inputs: bool = False,
                skip_past_experts: bool = False) -> torch.Tensor:
        """Sum over each token's chosen experts of weight * expert(token), for tokens [N, d],
        indices and weights [N, top_k], tokens_per_expert [E] (the bincount of indices).
        weight_inputs (Llama 4): the weight scales the expert's input instead of its output.
        skip_past_experts: assignments to index E (LongCat's zero experts, which MoE sums
        itself) are not run and give 0; tokens_per_expert does not count them."""
        def run(routed: torch.Tensor, expert_of: torch.Tensor) -> torch.Tensor:
            if not skip_past_experts:
                return run_experts(routed, expert_of)
            # Sorted last, past every counted slice: no dispatch path reads their rows as an
            # expert's, and the clamp keeps a gather in bounds; their outputs are then zeroed.
            real = expert_of < self.num_experts
            outputs = run_experts(routed, expert_of.clamp(max=self.num_experts - 1))
            return torch.where(real.unsqueeze(-1), outputs, torch.zeros((), dtype=outputs.dtype,
                                                                       device=outputs.device))

        def run_experts(routed: torch.Tensor, expert_of: torch.Tensor) -> torch.Tensor:
            if self._grouped_gemm_fits(routed):
                return self._grouped(routed, expert_of, tokens_per_expert)
            if torch.compiler.is_compiling() or _capturing(routed):
                return self._gathered(routed, expert_of)
            outputs = torch.empty_like(routed)
            # The one host read of the dispatch: slice bounds must be Python ints.
            start = 0
            for index, count in enumerate(tokens_per_expert.tolist()):
                if count:
                    outputs[start:start + count] = self.expert(index, routed[start:start + count])
                    start += count
            return outputs

        return routed_sum(tokens, indices, weights, weight_inputs, run)

    def _grouped_gemm_fits(self, routed: torch.Tensor) -> bool:
        # The kernels read rows in 16-byte steps: both widths must fill them.
        if self.dispatch == "loop" or (self.dispatch == "auto" and routed.device.type != "cuda"):
            return False
        widths = (self.up_proj.shape[1], self.up_proj.shape[2])
        return (_grouped_gemm_runs_on(routed.device, routed.dtype)
                and all(width * routed.element_size() % 16 == 0 for width in widths))

    def _gathered(self, routed: torch.Tensor, expert_of: torch.Tensor) -> torch.Tensor:
        """Each assignment's expert on its row of routed [A, d], as products summed over
        the expert's rows gathered by index: for a compiled step (the fast mode), where the
        loop's host read would split the graph and make a new one per routing pattern, and
        for a CUDA graph's capture, where a host read is an error. The
        compiler fuses the gather into the reduction, so each chosen expert's rows are read
        in place, as in the loop; eagerly this would copy them first."""
        def project(weight, bias, inputs):
            out = (weight[expert_of] * inputs.unsqueeze(-2)).sum(-1)  # [A, out, in] x [A, 1, in]
            return out if bias is None else out + bias[expert_of]

        return self._mlp(project, routed)

    def _grouped(self, routed: torch.Tensor, expert_of: torch.Tensor, tokens_per_expert: torch.Tensor) -> torch.Tensor:
        """Every expert on its slice of routed [A, d] (assignments in expert order, expert_of
        [A] naming each one's expert), one grouped matmul per projection."""
        ends = tokens_per_expert.cumsum(0).to(torch.int32)

        def project(weight, bias, inputs):
            out = F.grouped_mm(inputs, weight.transpose(-2, -1), offs=ends)  # [E, out, in] read as [E, in, out]
            return out if bias is None else out + bias[expert_of]

        return self._mlp(project, routed)
