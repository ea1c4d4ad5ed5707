"""The routed experts' two dispatches agree: the grouped GEMM (one matmul per projection,
slice bounds on the device; the GPU's default, run here on the CPU) gives what the
per-expert loop gives, for gated and plain experts, with biases, with Llama 4's
input-side weights, and with experts that get no token."""

import pytest
import torch

from app.model.experts import RoutedExperts
from app.spec.ffn import MLP


def dispatch_both(experts: RoutedExperts, tokens, indices, weights, weight_inputs=False):
    counts = torch.bincount(indices.reshape(-1), minlength=experts.num_experts)
    outputs = []
    for dispatch in ("grouped", "loop"):
        experts.dispatch = dispatch
        assert experts._grouped_gemm_fits(tokens) == (dispatch == "grouped")  # each path really runs
        outputs.append(experts(tokens, indices, weights, counts, weight_inputs))
    return outputs


@pytest.mark.parametrize("spec, weight_inputs", [
    (MLP(intermediate_size=24, activation="silu"), False),  # SwiGLU (DeepSeek, Qwen3 MoE)
    (MLP(intermediate_size=24, activation="swiglu_oss", bias=True), False),  # gpt-oss, with biases
    (MLP(intermediate_size=32, activation="gelu", gated=False), False),
    (MLP(intermediate_size=24, activation="silu"), True),  # Llama 4 scales the expert's input
])
@pytest.mark.parametrize("tokens_count", [1, 9])  # a decode step; a prefill
def test_the_grouped_gemm_gives_the_loops_output(spec, weight_inputs, tokens_count):
    torch.manual_seed(0)
    experts = RoutedExperts(num_experts=6, spec=spec, d_model=16)
    for parameter in experts.parameters():
        torch.nn.init.normal_(parameter, std=0.2)
    tokens = torch.randn(tokens_count, 16)
    indices = torch.stack([torch.randperm(5)[:2] for _ in range(tokens_count)])  # expert 5 never chosen
    weights = torch.rand(tokens_count, 2)
    grouped, loop = dispatch_both(experts, tokens, indices, weights, weight_inputs)
    torch.testing.assert_close(grouped, loop, rtol=1e-5, atol=1e-5)


def test_bfloat16_experts_agree_too():
    torch.manual_seed(0)
    experts = RoutedExperts(num_experts=4, spec=MLP(intermediate_size=24), d_model=16).to(torch.bfloat16)
    for parameter in experts.parameters():
        torch.nn.init.normal_(parameter, std=0.2)
    tokens = torch.randn(5, 16, dtype=torch.bfloat16)
    indices, weights = torch.randint(0, 4, (5, 2)), torch.rand(5, 2)
    grouped, loop = dispatch_both(experts, tokens, indices, weights)
    torch.testing.assert_close(grouped, loop, rtol=2e-2, atol=2e-2)


def test_which_dispatch_runs():
    experts = RoutedExperts(num_experts=4, spec=MLP(intermediate_size=12), d_model=16)
    assert not experts._grouped_gemm_fits(torch.zeros(1, 16))  # "auto" on the CPU: the loop decodes faster
    experts.dispatch = "grouped"
    # The kernels read rows in 16-byte steps: 12 float32 values fill three, 12 bfloat16 values do not.
    assert experts._grouped_gemm_fits(torch.zeros(1, 16))
    assert not experts._grouped_gemm_fits(torch.zeros(1, 16, dtype=torch.bfloat16))
