"""Every dense catalog entry runs at explore scale, and its cache changes nothing."""

import pytest
import torch

from app.model import build_model
from app.runtime.generate import generate
from app.spec import catalog
from app.spec.ffn import MLP
from app.spec.mixers import Attention

DENSE = [name for name in catalog.names()
         if all(isinstance(layer.mixer, Attention) and isinstance(layer.ffn, MLP)
                for layer in catalog.get(name).layers)]
NEW_TOKENS = 16


def generate_without_cache(model, input_ids, new_tokens):
    """Reference: re-run the whole sequence at every step, no cache at all."""
    sequence = input_ids
    for _ in range(new_tokens):
        next_token = model(sequence)[:, -1].argmax(-1, keepdim=True)
        sequence = torch.cat((sequence, next_token), dim=1)
    return sequence[:, input_ids.shape[1]:]


def test_every_dense_family_is_covered():
    assert {catalog.get(name).model_type for name in DENSE} >= {
        "gpt2", "llama", "mistral", "qwen3", "olmo2", "olmo3", "gemma3_text", "smollm3"} & {
        catalog.get(name).model_type for name in catalog.names()}


@pytest.mark.parametrize("name", DENSE)
@torch.no_grad()
def test_greedy_generation_through_the_cache_equals_recomputing(name):
    spec = catalog.get(name, "explore")
    model = build_model(spec, seed=3)
    # A prompt longer than the explore windows, so sliding layers wrap their ring buffers.
    prompt = torch.randint(0, spec.vocab_size, (2, 40), generator=torch.Generator().manual_seed(0))
    cached = generate(model, prompt, NEW_TOKENS)
    assert cached.shape == (2, NEW_TOKENS)
    assert torch.equal(cached, generate_without_cache(model, prompt, NEW_TOKENS))


@torch.no_grad()
def test_last_only_gives_the_last_positions_logits():
    spec = catalog.get("llama3-8b", "explore")
    model = build_model(spec)
    ids = torch.randint(0, spec.vocab_size, (2, 9))
    torch.testing.assert_close(model(ids, last_only=True), model(ids)[:, -1:])
