"""MLA's cache holds the compressed latent and the shared rope key per token -- plus the
indexer's key under DeepSeek sparse attention -- and exactly the bytes the analysis
counts, at every length."""

import pytest
import torch

from app.model import build_model
from app.model.latent_cache import LatentCache
from app.spec import catalog
from app.spec.analysis import analyze

LATENT_ENTRIES = [name for name in ("deepseek-v3", "deepseek-v3.2", "kimi-k2", "glm-5") if name in catalog.names()]


@pytest.mark.parametrize("name", LATENT_ENTRIES)
@torch.no_grad()
def test_layer_bytes_equal_the_analysis_at_every_length(name):
    spec = catalog.get(name, "explore")
    model = build_model(spec)
    rows = analyze(spec).layers
    batch, steps = 2, 24
    cache = model.new_cache(batch, steps)
    element = model.embed_tokens.weight.element_size()
    prompt = torch.zeros(batch, 5, dtype=torch.long)
    model(prompt, cache=cache)
    for length in range(prompt.shape[1], steps + 1):
        expected = [batch * row.kv_bytes_at(length, element) for row in rows]
        assert cache.layer_nbytes() == expected, f"at {length} tokens"
        if length < steps:
            model(torch.zeros(batch, 1, dtype=torch.long), cache=cache)


@pytest.mark.parametrize("name", LATENT_ENTRIES)
@torch.no_grad()
def test_an_mla_layer_holds_the_latent_and_rope_key_only(name):
    spec = catalog.get(name, "explore")
    model = build_model(spec, dtype=torch.bfloat16)
    batch, max_len, tokens = 3, 16, 7
    cache = model.new_cache(batch, max_len)
    model(torch.zeros(batch, tokens, dtype=torch.long), cache=cache)
    for layer, layer_cache in zip(spec.layers, cache.layers):
        mla = layer.mixer
        assert isinstance(layer_cache, LatentCache)
        index_key = mla.indexer.head_dim if mla.indexer is not None else 0
        per_token = batch * (mla.kv_lora_rank + mla.qk_rope_head_dim + index_key) * 2  # bf16
        assert layer_cache.nbytes() == tokens * per_token
        assert layer_cache.capacity_nbytes() == max_len * per_token
        # far less than the expanded keys and values a per-head cache would hold
        expanded = batch * mla.num_heads * (mla.qk_nope_head_dim + mla.qk_rope_head_dim + mla.v_head_dim) * 2
        assert per_token < expanded


def test_deepseek_v3_caches_70272_bytes_per_token_in_bf16():
    # 61 layers x (kv_lora_rank 512 + rope key 64) x 2 bytes
    assert analyze(catalog.get("deepseek-v3")).kv_bytes_per_token(2) == 70_272


def test_deepseek_v32_adds_the_indexer_key():
    # plus 61 layers x index_head_dim 128 x 2 bytes
    assert analyze(catalog.get("deepseek-v3.2")).kv_bytes_per_token(2) == 70_272 + 61 * 128 * 2


def test_a_cache_too_short_for_the_tokens_says_so():
    cache = LatentCache(1, 4, 8, 2, torch.float32, "cpu")
    with pytest.raises(ValueError, match="holds 4 tokens"):
        cache.update(torch.zeros(1, 5, 8), torch.zeros(1, 5, 2), 0)
