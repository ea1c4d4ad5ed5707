"""A rank builds only its share of a random-weight model: every parameter equals the same
rank's share cut from build_model's whole model of the same seed -- with the large weights
made on "meta" first (here every weight above a few thousand values, so the slices of
meta tensors are exercised at explore scale too)."""

from types import SimpleNamespace

import pytest
import torch

import app.model.build as build
from app.model import build_model
from app.parallel.build import build_share
from app.parallel.plan import plan_for
from app.parallel.shard import shard_model
from app.spec import catalog


@pytest.mark.parametrize("name, tp, ep", [("deepseek-v3", 2, 2),
                                          ("qwen3-next-80b-a3b", 2, 1), ("gpt-oss-20b", 2, 1)])
def test_a_share_equals_the_whole_models_share(monkeypatch, name, tp, ep):
    monkeypatch.setattr(build, "LARGE", 4096)
    plan = plan_for(catalog.get(name, "explore"), tp, ep)
    for rank in range(plan.world_size):
        comm = SimpleNamespace(rank=rank, world_size=plan.world_size)  # building sends nothing
        expected = build_model(plan.spec, seed=3)
        shard_model(expected, plan, comm)
        share = dict(build_share(plan, comm, seed=3).named_parameters())
        for key, parameter in expected.named_parameters():
            assert share[key].shape == parameter.shape, key
            assert torch.equal(share[key], parameter), f"rank {rank}: {key}"
        assert len(share) == len(dict(expected.named_parameters()))
