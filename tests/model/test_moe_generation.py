"""Every mixture-of-experts catalog entry that the model builder can build runs at
explore scale, and its cache changes nothing: greedy generation through the cache equals
recomputing the whole sequence at every step.

Entries whose layers have no torch module yet (build_model raises NotImplementedError)
are skipped, by that check and not by name, so each one joins as its modules land.
"""

import pytest
import torch

from app.model import build_model
from app.runtime.generate import generate
from app.spec import catalog
from app.spec.ffn import MoE

from .test_dense_generation import NEW_TOKENS, generate_without_cache

MOE_ENTRIES = [name for name in catalog.names()
               if any(isinstance(layer.ffn, MoE) for layer in catalog.get(name).layers)]


def test_the_moe_families_of_this_step_are_covered():
    assert {catalog.get(name).model_type for name in MOE_ENTRIES} >= {"qwen3_moe", "gpt_oss", "llama4_text",
                                                                      "minimax_m2"}


@pytest.mark.parametrize("name", MOE_ENTRIES)
@torch.no_grad()
def test_greedy_generation_through_the_cache_equals_recomputing(name):
    spec = catalog.get(name, "explore")
    try:
        model = build_model(spec, seed=3)
    except NotImplementedError as missing:
        pytest.skip(f"{name}: {missing}")
    # Longer than the explore windows and chunks, so their ring buffers wrap.
    prompt = torch.randint(0, spec.vocab_size, (2, 40), generator=torch.Generator().manual_seed(0))
    cached = generate(model, prompt, NEW_TOKENS)
    assert cached.shape == (2, NEW_TOKENS)
    assert torch.equal(cached, generate_without_cache(model, prompt, NEW_TOKENS))
