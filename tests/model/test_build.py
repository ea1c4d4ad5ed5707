"""build_model makes large tensors straight in the run's dtype and fills them in chunks;
the weights a seed gives must not depend on that."""

import pytest
import torch

from app.model import build
from app.spec import catalog

ENTRIES = ["gemma3n-e2b", "qwen3-30b-a3b", "deepseek-v3", "gpt-oss-20b"]


def made_whole(spec, seed: int = 0) -> dict[str, torch.Tensor]:
    """The weights as a build made them before: every module in float32, each matrix drawn
    in one piece."""
    model = build.construct(spec, "cpu")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            owner = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
            if build.is_matrix(owner, leaf):
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * build.INIT_STD)
            elif leaf in ("bias", "sinks"):
                parameter.zero_()
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


@pytest.mark.parametrize("name", ENTRIES)
def test_chunked_lean_build_gives_the_weights_of_a_whole_float32_build(name, monkeypatch):
    # Small thresholds, so that at explore scale most tensors take the meta path and are
    # drawn in several chunks, one ending in a remainder that is not a multiple of 16.
    monkeypatch.setattr(build, "LARGE", 1000)
    monkeypatch.setattr(build, "FILL_CHUNK", 4096 + 16 * 7)
    spec = catalog.get(name, "explore")
    model = build.build_model(spec, "cpu", torch.float32, seed=3)
    expected = made_whole(spec, seed=3)
    # pack_for_decode keeps names, shapes and values (app/model/packing.py)
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, expected[key]), key


def test_a_bfloat16_build_is_the_float32_build_rounded():
    spec = catalog.get("llama3-8b", "explore")
    narrow = build.build_model(spec, "cpu", torch.bfloat16, seed=1).state_dict()
    wide = build.build_model(spec, "cpu", torch.float32, seed=1).state_dict()
    for key, tensor in narrow.items():
        assert tensor.dtype == (torch.bfloat16 if wide[key].is_floating_point() else wide[key].dtype), key
        assert torch.equal(tensor, wide[key].to(tensor.dtype)), key


def test_tied_embeddings_stay_one_tensor(monkeypatch):
    monkeypatch.setattr(build, "LARGE", 1000)
    model = build.build_model(catalog.get("gemma3-270m", "explore"))
    assert model.lm_head.weight is model.embed_tokens.weight


def test_fill_draws_what_one_draw_of_the_whole_tensor_draws():
    for numel, chunk in [(10_000, 4096), (4096 * 3 + 5, 4096), (4096 + 15, 4096), (4096 * 2, 4096)]:
        tensor = torch.empty(numel)
        build._fill_normal(tensor, torch.Generator().manual_seed(0), chunk)
        whole = torch.randn(numel, generator=torch.Generator().manual_seed(0)) * build.INIT_STD
        assert torch.equal(tensor, whole), (numel, chunk)
