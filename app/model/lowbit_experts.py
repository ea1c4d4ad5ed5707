"""Routed experts whose stacked matrices stay low-bit: a GGUF file's ffn_{gate,up,down}_exps
kept in their bits (app/weights/gguf_lowbit.py), the `--weights native` counterpart of
experts.RoutedExperts, with the same forward.

Each projection is one LowBitLinear holding every expert's matrix one under another,
[experts x out, in]: expert e's matrix is rows [e out, (e + 1) out), a contiguous 2-D slice
in the kernel's layout, and the file's stacked tensor read as rows fills it as it is.

A projection runs as the operator `archscope::grouped_lowbit_linear`: the low-bit kernel
once per expert in use, on that expert's slice of the assignments (sorted by expert). The
loop needs the slice bounds on the host, a read torch.compile cannot trace (it would split
the compiled step at every MoE layer); as an operator with a shape rule the loop is one
opaque node of the graph, so the fast mode still compiles the step whole, the probe's marks
inside it, and an eager run calls the same operator.
"""

from __future__ import annotations

import torch
from torch import nn

from ..spec.ffn import MLP as MLPSpec
from .experts import routed_sum
from .lowbit import LowBitLinear
from .mlp import ACTIVATIONS, check_activation, gated_activation


def grouped_lowbit_linear(x: torch.Tensor, tokens_per_expert: torch.Tensor, codes: torch.Tensor,
                          scales: torch.Tensor, offsets: torch.Tensor | None, bits: int, group: int) -> torch.Tensor:
    """x [A, in] float32, its rows grouped by expert in expert order (tokens_per_expert [E]
    of them each), times each one's expert's matrix from codes/scales/offsets [E x out, ...]:
    [A, out] float32."""
    rows = codes.shape[0] // tokens_per_expert.shape[0]
    out = x.new_empty(x.shape[0], rows)
    start = 0
    for index, count in enumerate(tokens_per_expert.tolist()):
        if count:
            block = slice(index * rows, (index + 1) * rows)
            out[start:start + count] = torch.ops.archscope_kernels.lowbit_linear(
                x[start:start + count], codes[block], scales[block], None if offsets is None else offsets[block],
                bits, group)
            start += count
    return out


# The operator for compiled steps; eager runs call the function itself, which skips the
# operator's dispatch (measured: 30 to 70 us a call, as long as the loop itself for one
# expert's token; three calls per MoE layer and step).
grouped_lowbit_operator = torch.library.custom_op("archscope::grouped_lowbit_linear", grouped_lowbit_linear,
                                                  mutates_args=())


@grouped_lowbit_operator.register_fake
def _shape(x, tokens_per_expert, codes, scales, offsets, bits, group):
    return x.new_empty(x.shape[0], codes.shape[0] // tokens_per_expert.shape[0])


class LowBitExperts(nn.Module):
    """num_experts MLPs of one shape (spec), gate_proj (gated MLPs only), up_proj and
    down_proj each a LowBitLinear of the experts' matrices one under another. Expert biases
    are not held: experts that have them stay RoutedExperts (no GGUF architecture read here
    has them)."""

    def __init__(self, num_experts: int, spec: MLPSpec, gate_proj: LowBitLinear | None, up_proj: LowBitLinear,
                 down_proj: LowBitLinear):
        super().__init__()
        check_activation(spec.activation, spec.gated)
        if spec.bias or spec.gated != (gate_proj is not None):
            raise ValueError(f"low-bit experts hold no biases and a gate exactly when the MLP is gated ({spec})")
        self.num_experts = num_experts
        self.gated = spec.gated
        self.activation = gated_activation(spec.activation, spec.swiglu_limit) if spec.gated \
            else ACTIVATIONS[spec.activation]
        self.gate_proj, self.up_proj, self.down_proj = gate_proj, up_proj, down_proj

    def forward(self, tokens: torch.Tensor, indices: torch.Tensor, weights: torch.Tensor,
                tokens_per_expert: torch.Tensor, weight_inputs: bool = False,
                skip_past_experts: bool = False) -> torch.Tensor:
        """As RoutedExperts.forward: the weighted sum of each token's chosen experts. Zero
        experts (skip_past_experts, LongCat's) come from no GGUF file this loads: refused."""
        if skip_past_experts:
            raise ValueError("low-bit experts do not run beside zero (identity) experts: load the weights expanded")
        def run(routed: torch.Tensor, expert_of: torch.Tensor) -> torch.Tensor:
            def project(matrix: LowBitLinear, inputs: torch.Tensor) -> torch.Tensor:
                grouped = grouped_lowbit_operator if torch.compiler.is_compiling() else grouped_lowbit_linear
                return grouped(inputs, tokens_per_expert, matrix.codes, matrix.scales, matrix.offsets, matrix.bits,
                               matrix.group)

            # float32 throughout: the kernel reads and writes it, whatever the run's dtype
            inputs = routed.float().contiguous()
            up = project(self.up_proj, inputs)
            hidden = self.activation(project(self.gate_proj, inputs), up) if self.gated else self.activation(up)
            return project(self.down_proj, hidden.contiguous()).to(routed.dtype)

        return routed_sum(tokens, indices, weights, weight_inputs, run)

    def weight_bytes(self) -> int:
        return sum(matrix.weight_bytes() for matrix in (self.gate_proj, self.up_proj, self.down_proj)
                   if matrix is not None)

    def extra_repr(self) -> str:
        return f"num_experts={self.num_experts}, gated={self.gated}"
