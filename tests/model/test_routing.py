"""Expert routing: what the router picks (top-k, group limits, the correction bias), and
the per-step counts a profile records -- they add up, match the router's own choices, and
are read from the device once per step for all layers."""

from collections import Counter
from dataclasses import replace

import pytest
import torch

from app.model import build_model
from app.model.moe import MoE
from app.model.router import Router as RouterModule
from app.spec import catalog
from app.spec.ffn import MLP, Router
from app.spec.ffn import MoE as MoESpec

GROUPED_ROUTER = Router("sigmoid", normalize_top_k=True, num_groups=4, top_k_groups=2, score_correction_bias=True,
                        routed_scaling=2.5)


def deepseek_style(spec):
    """An explore spec whose MoE layers route like DeepSeek V3: sigmoid scores, a score-
    correction bias, 2 of 4 groups, routed scaling, and a shared expert."""
    def convert(layer):
        if not isinstance(layer.ffn, MoESpec):
            return layer
        return replace(layer, ffn=replace(layer.ffn, router=GROUPED_ROUTER, shared=MLP(40)))
    return spec.with_layers(convert(layer) for layer in spec.layers)


def models():
    specs = {name: catalog.get(name, "explore") for name in ("qwen3-30b-a3b", "gpt-oss-20b", "llama4-maverick")}
    specs["grouped"] = deepseek_style(catalog.get("minimax-m2", "explore"))
    return specs


def moe_modules(model) -> dict[int, MoE]:
    return {i: block.ffn for i, block in enumerate(model.layers) if isinstance(block.ffn, MoE)}


@pytest.fixture(params=sorted(models()))
def model(request):
    spec = models()[request.param]
    model = build_model(spec, seed=5)
    with torch.no_grad():  # random correction biases, so that they matter for the choice
        for moe in moe_modules(model).values():
            if moe.router.score_correction_bias is not None:
                moe.router.score_correction_bias.copy_(torch.randn(moe.spec.num_experts) * 0.05)
    return model


@torch.no_grad()
def test_recorded_counts_add_up_and_match_the_routers_choices(model):
    layers = moe_modules(model)
    inputs: dict[int, torch.Tensor] = {}
    hooks = [moe.register_forward_pre_hook(lambda module, args, i=i: inputs.__setitem__(i, args[0]))
             for i, moe in layers.items()]
    spec = model.spec
    prompt = torch.randint(0, spec.vocab_size, (2, 11), generator=torch.Generator().manual_seed(0))
    cache = model.new_cache(batch=2, max_len=16)
    model.record_routing(True)
    steps = [prompt] + [torch.randint(0, spec.vocab_size, (2, 1)) for _ in range(4)]
    try:
        for ids in steps:
            model(ids, cache=cache)
            counts = model.take_routing_counts()
            assert sorted(counts) == sorted(layers)
            for i, moe in layers.items():
                assert len(counts[i]) == moe.spec.num_experts
                assert sum(counts[i]) == ids.numel() * moe.spec.top_k
                # Recount independently: the router's own choice on the layer's captured input.
                tokens = inputs[i].reshape(-1, spec.d_model)
                chosen, _ = moe.router(tokens)
                recount = Counter(chosen.flatten().tolist())
                assert counts[i] == [recount[e] for e in range(moe.spec.num_experts)]
    finally:
        for hook in hooks:
            hook.remove()


@torch.no_grad()
def test_counts_accumulate_on_the_device_and_are_read_once_for_all_layers(model, monkeypatch):
    ids = torch.randint(0, model.spec.vocab_size, (1, 6))
    model.record_routing(True)
    model(ids)
    model(ids)  # not taken in between: the counts add up where they are
    reads = []
    real_cpu = torch.Tensor.cpu
    monkeypatch.setattr(torch.Tensor, "cpu", lambda self, *a, **k: reads.append(self.shape) or real_cpu(self, *a, **k))
    counts = model.take_routing_counts()
    monkeypatch.undo()
    assert len(moe_modules(model)) > 1 and len(reads) == 1  # one transfer, every layer in it
    for i, moe in moe_modules(model).items():
        assert sum(counts[i]) == 2 * ids.numel() * moe.spec.top_k
    assert all(sum(c) == 0 for c in model.take_routing_counts().values())  # taking resets
    model.record_routing(False)
    model(ids)
    assert all(sum(c) == 0 for c in model.take_routing_counts().values())  # off: nothing counted


def test_a_model_without_experts_records_nothing():
    model = build_model(catalog.get("llama3-8b", "explore"))
    model.record_routing(True)
    model(torch.tensor([[1, 2, 3]]))
    assert model.take_routing_counts() == {}


# --- the router itself -----------------------------------------------------------------


def a_router(router_spec: Router, experts: int = 16, top_k: int = 4, d_model: int = 24):
    torch.manual_seed(0)
    module = RouterModule(MoESpec(experts, top_k, MLP(8), router=router_spec), d_model)
    return module, torch.randn(64, d_model)


@torch.no_grad()
def test_group_limited_routing_picks_only_from_the_best_groups():
    router, tokens = a_router(GROUPED_ROUTER)
    router.score_correction_bias.copy_(torch.randn(16) * 0.1)
    indices, weights = router(tokens)
    groups = indices // (16 // GROUPED_ROUTER.num_groups)
    for row in groups.tolist():
        assert len(set(row)) <= GROUPED_ROUTER.top_k_groups
    # Normalized over the chosen experts, then scaled.
    torch.testing.assert_close(weights.sum(-1), torch.full((64,), GROUPED_ROUTER.routed_scaling))


@torch.no_grad()
def test_the_correction_bias_steers_the_choice_but_not_the_weights():
    router, tokens = a_router(Router("sigmoid", normalize_top_k=False, score_correction_bias=True), top_k=2)
    router.score_correction_bias[7] = 10.0  # expert 7 always wins a place
    indices, weights = router(tokens)
    assert (indices == 7).any(-1).all()
    scores = router.scores(tokens)
    torch.testing.assert_close(weights, scores.gather(-1, indices))  # the raw sigmoid scores weigh


@torch.no_grad()
def test_softmax_top_k_without_normalization_keeps_the_probabilities():
    router, tokens = a_router(Router("softmax", normalize_top_k=False, logit_softcap=0.5))
    indices, weights = router(tokens)
    probabilities = router.scores(tokens)
    torch.testing.assert_close(weights, probabilities.topk(4, dim=-1).values)
    # A soft cap of 0.5 bounds the logits, so no probability exceeds e^0.5 / (e^0.5 + 15 e^-0.5).
    assert probabilities.max() <= torch.tensor(0.5).exp() / (torch.tensor(0.5).exp() + 15 * torch.tensor(-0.5).exp())
