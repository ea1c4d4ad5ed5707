"""The CPU decode-product kernel (app/model/kernels/decode_linear.cpp) against F.linear:
both layouts the model keeps, float32 and bfloat16, one to four rows, widths with and without
tails; and the model's linears routed through it for a decode step only."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from app.model import build_model, cpu_kernels
from app.model.packing import DecodeLinear, input_major, linear
from app.spec import catalog
from app.spec.scale import explore

pytestmark = pytest.mark.skipif(cpu_kernels.unavailable() is not None,
                                reason=f"CPU kernels unavailable: {cpu_kernels.unavailable()}")

decode_linear = torch.ops.archscope_kernels.decode_linear if cpu_kernels.loaded() else None


def reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """The product of the same values in float64."""
    return F.linear(x.double(), weight.double(), None if bias is None else bias.double())


# N: a multiple of the four-row tile and not (the one-row tail); K: a multiple of eight and
# not (the scalar tail), and fewer input rows than a four-row pass of the input-major form
@pytest.mark.parametrize("n, k", [(43, 576), (8, 37), (3073, 64), (5, 3), (576, 1536)])
@pytest.mark.parametrize("layout", ["row-major", "input-major"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("rows", [1, 2, 4])
def test_equals_the_product_in_both_layouts(n, k, layout, dtype, rows):
    generator = torch.Generator().manual_seed(n * 31 + k)
    weight = torch.randn(n, k, generator=generator).to(dtype)
    if layout == "input-major":
        weight = weight.t().contiguous().t()
    x = torch.randn(rows, k, generator=generator).to(dtype)
    bias = torch.randn(n, generator=generator).to(dtype)
    for with_bias in (None, bias):
        ours = decode_linear(x, weight, with_bias)
        assert ours.dtype == dtype and ours.shape == (rows, n)
        expected = reference(x, weight, with_bias)
        if dtype == torch.float32:  # within float32's rounding of a sum of K products, in any order
            bound = 2 ** -22 * (x.abs().double() @ weight.abs().double().T) + 1e-7
            assert ((ours.double() - expected).abs() <= bound).all()
        else:  # summed in float32, then rounded once to bfloat16: within one unit of its last place
            torch.testing.assert_close(ours.double(), expected.to(dtype).double(), atol=1e-2, rtol=2 ** -7)


def test_refuses_what_it_cannot_compute():
    x, weight = torch.randn(1, 64), torch.randn(8, 64)
    with pytest.raises(RuntimeError, match="at most 4"):
        decode_linear(torch.randn(5, 64), weight, None)
    with pytest.raises(RuntimeError, match="in x's dtype"):
        decode_linear(x, weight.bfloat16(), None)
    with pytest.raises(RuntimeError, match="row-major"):
        decode_linear(x, torch.randn(8, 128)[:, ::2], None)
    with pytest.raises(RuntimeError, match="bias must be"):
        decode_linear(x, weight, torch.randn(7))


def test_a_decode_step_goes_through_the_kernel_and_a_prefill_through_torch(monkeypatch):
    calls = []
    real = torch.ops.archscope_kernels.decode_linear

    class Counting:
        def __call__(self, *args):
            calls.append(args[0].shape[0])
            return real(*args)

    monkeypatch.setattr(torch.ops.archscope_kernels, "decode_linear", Counting())
    weight = input_major(torch.randn(12, 16))
    linear(torch.randn(2, 1, 16), weight)  # a batch of two, one token each
    assert calls == [2]
    linear(torch.randn(1, 9, 16), weight)  # a prompt of nine tokens: torch's GEMM
    assert calls == [2]
    linear(torch.randn(1, 1, 16, dtype=torch.float64), weight.double())  # not a dtype it takes
    assert calls == [2]


def test_a_packed_model_computes_its_linears_through_it_and_keeps_its_logits():
    spec = explore(catalog.get("qwen3-0.6b"))
    model = build_model(spec, seed=0)  # packed for decoding
    plain = [name for name, module in model.named_modules() if type(module) is nn.Linear]
    assert plain == []  # every plain linear computes through `linear`
    assert all(isinstance(module, nn.Linear) for module in model.modules() if isinstance(module, DecodeLinear))
    tokens = torch.randint(0, spec.vocab_size, (2, 6), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        whole = model(tokens)
        cache = model.new_cache(2, 6)
        model(tokens[:, :3], cache=cache)
        stepped = [model(tokens[:, i:i + 1], cache=cache) for i in range(3, 6)]
    torch.testing.assert_close(torch.cat(stepped, dim=1), whole[:, 3:], atol=1e-5, rtol=1e-5)
