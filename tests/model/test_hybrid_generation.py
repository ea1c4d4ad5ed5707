"""Every catalog entry that is neither all-attention dense (test_dense_generation) nor MoE
(test_moe_generation) -- recurrent, convolution or cross-attention layers beside dense
feed-forwards, or layers with no feed-forward at all -- runs at explore scale, and its cache
changes nothing."""

import pytest
import torch

from app.model import build_model
from app.runtime.generate import generate
from app.spec import catalog
from app.spec.ffn import MoE

from .test_dense_generation import DENSE, NEW_TOKENS, generate_without_cache
from .test_moe_generation import MOE_ENTRIES

OTHER = [name for name in catalog.names() if name not in DENSE and name not in MOE_ENTRIES]


def test_the_dense_mamba_hybrid_is_covered():
    # Nemotron 3 Nano 4B: Mamba-2, attention and MLP blocks, no MoE
    assert "nemotron-3-nano-4b" in OTHER
    assert not any(isinstance(layer.ffn, MoE) for layer in catalog.get("nemotron-3-nano-4b").layers)


@pytest.mark.parametrize("name", OTHER)
@torch.no_grad()
def test_greedy_generation_through_the_cache_equals_recomputing(name):
    spec = catalog.get(name, "explore")
    model = build_model(spec, seed=3)
    prompt = torch.randint(0, spec.vocab_size, (2, 40), generator=torch.Generator().manual_seed(0))
    cached = generate(model, prompt, NEW_TOKENS)
    assert cached.shape == (2, NEW_TOKENS)
    assert torch.equal(cached, generate_without_cache(model, prompt, NEW_TOKENS))
