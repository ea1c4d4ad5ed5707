"""Ling 2.5 / 2.6 built at explore scale (70 lightning + 10 MLA layers shortened to 11 + 1 over
a dense prefix and the MoE): the model holds what the analysis counts -- its parameters, and
its cache at every length (MLA's latents growing, lightning's states constant). No
transformers model exists to compare with; generation through the cache against recomputing
is checked with the other MoE entries (tests/model/test_moe_generation.py)."""

import pytest
import torch

from app.model import build_model
from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.mixers import LightningAttention, MultiHeadLatentAttention

SLUGS = ["ling-2.5", "ling-2.6"]


@pytest.mark.parametrize("name", SLUGS)
def test_the_explore_stack_keeps_both_mixers_and_the_dense_prefix(name):
    spec = catalog.get(name, "explore")
    kinds = [type(layer.mixer) for layer in spec.layers]
    assert LightningAttention in kinds and MultiHeadLatentAttention in kinds
    assert spec.layers[0].ffn_kind == "mlp" and spec.layers[-1].ffn_kind == "moe"


@pytest.mark.parametrize("name", SLUGS)
def test_the_built_model_has_the_parameters_the_analysis_counts(name):
    spec = catalog.get(name, "explore")
    model = build_model(spec, seed=0)
    assert sum(p.numel() for p in model.parameters()) == analyze(spec).total_params


@torch.no_grad()
def test_the_cache_holds_what_the_analysis_says_at_every_length():
    spec = catalog.get(SLUGS[0], "explore")
    model = build_model(spec, seed=0)
    rows = analyze(spec).layers
    batch, steps = 2, 20
    cache = model.new_cache(batch, steps)
    element = model.embed_tokens.weight.element_size()
    tokens = torch.zeros(batch, 1, dtype=torch.long)
    for length in range(1, steps + 1):
        model(tokens, cache=cache)
        assert cache.layer_nbytes() == [batch * row.kv_bytes_at(length, element) for row in rows], f"at {length}"
