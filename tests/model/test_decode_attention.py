"""The CPU decode-attention kernel (app/model/kernels/attention.cpp) against torch's own
attention: the op alone, and whole decode steps of models that take it."""

import pytest
import torch
import torch.nn.functional as F

from app.model import build_model, cpu_kernels
from app.spec import catalog
from app.spec.scale import explore

pytestmark = pytest.mark.skipif(cpu_kernels.unavailable() is not None,
                                reason=f"CPU kernels unavailable: {cpu_kernels.unavailable()}")


# bfloat16 tensors are computed in float32 and the result rounded once: within a rounding
# (2^-8) of the float32 attention of the same bfloat16 values
TOLERANCE = {torch.float32: dict(atol=1e-6, rtol=1e-5), torch.bfloat16: dict(atol=4e-3, rtol=8e-3)}


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("heads, rows, dim, dim_v, length", [(3, 3, 64, 64, 70), (1, 4, 256, 256, 5), (8, 1, 128, 128, 1),
                                                             (2, 2, 96, 48, 300)])
def test_equals_scaled_dot_product_attention_on_cache_views(heads, rows, dim, dim_v, length, dtype):
    generator = torch.Generator().manual_seed(0)
    cache_k = torch.randn(2, heads, length + 37, dim, generator=generator).to(dtype)  # longer than what is visible
    cache_v = torch.randn(2, heads, length + 37, dim_v, generator=generator).to(dtype)
    k, v = cache_k[:, :, :length], cache_v[:, :, :length]
    q = torch.randn(2, rows, heads, dim, generator=generator).to(dtype).transpose(1, 2)  # as the projections lay it out
    ours = torch.ops.archscope_kernels.decode_attention(q, k, v, None, dim**-0.5)
    assert ours.dtype == dtype
    reference = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), scale=dim**-0.5)
    torch.testing.assert_close(ours.float(), reference, **TOLERANCE[dtype])
    visible = torch.rand(length, generator=generator) > 0.3  # a ring buffer's hidden slots
    visible[0] = True
    ours = torch.ops.archscope_kernels.decode_attention(q, k, v, visible, dim**-0.5)
    reference = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=visible.view(1, 1, 1, -1),
                                               scale=dim**-0.5)
    torch.testing.assert_close(ours.float(), reference, **TOLERANCE[dtype])


def test_refuses_what_it_cannot_compute():
    q, k = torch.randn(1, 2, 1, 64), torch.randn(1, 2, 10, 64)
    with pytest.raises(RuntimeError, match="float32 or bfloat16"):
        torch.ops.archscope_kernels.decode_attention(q.double(), k.double(), k.double(), None, 0.125)
    with pytest.raises(RuntimeError, match="one dtype"):
        torch.ops.archscope_kernels.decode_attention(q.bfloat16(), k, k, None, 0.125)
    with pytest.raises(RuntimeError, match="must match"):
        torch.ops.archscope_kernels.decode_attention(q, k, torch.randn(1, 2, 9, 64), None, 0.125)
    with pytest.raises(RuntimeError, match="booleans"):
        torch.ops.archscope_kernels.decode_attention(q, k, k, torch.ones(9, dtype=torch.bool), 0.125)


@pytest.mark.parametrize("name", ["smollm2-135m", "qwen3-0.6b", "gemma3-270m"])
def test_decode_logits_equal_torch_attention(name, monkeypatch):
    """Prefill, then decode steps, with the kernel and with torch's attention: the same logits."""
    torch.manual_seed(0)
    model = build_model(explore(catalog.get(name)), "cpu", torch.float32)
    prompt = torch.randint(0, model.spec.vocab_size, (2, 9))

    def generate() -> torch.Tensor:
        cache = model.new_cache(2, 20)
        logits = [model(prompt, cache=cache, last_only=True)]
        for _ in range(8):
            logits.append(model(logits[-1][:, -1:].argmax(-1), cache=cache))
        return torch.cat([step[:, -1] for step in logits])

    with torch.no_grad():
        ours = generate()
        monkeypatch.setattr(cpu_kernels, "_registered", False)  # torch's attention instead
        reference = generate()
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)
