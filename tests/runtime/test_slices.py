"""Full-width slice plans: one layer per kind, counts that cover the whole model, and
experts trimmed to a memory budget without breaking the routing rules."""

from app.runtime.slices import plan_slice
from app.spec import catalog
from app.spec.ffn import MoE
from app.spec.analysis import analyze

GIB = 2**30


def test_deepseek_v3_slice_stands_for_every_layer_and_fits_the_budget():
    full = catalog.get("deepseek-v3")
    plan = plan_slice(full, budget_bytes=12 * GIB, dtype_bytes=2)
    assert plan.counts == [3, 58]  # three dense layers, 58 MoE layers
    assert plan.spec.validate() == []
    assert analyze(plan.spec).total_params * 2 <= 12 * GIB
    moe = plan.spec.layers[1].ffn
    assert isinstance(moe, MoE) and moe.top_k <= moe.num_experts < 256
    assert moe.num_experts % moe.router.num_groups == 0  # whole groups kept: group routing intact
    assert plan.spec.layers[1].mixer == full.layers[3].mixer  # the attention keeps published widths
    assert plan.notes and "of 256 experts" in plan.notes[0]


def test_a_slice_that_fits_is_left_whole():
    full = catalog.get("qwen3-30b-a3b")
    plan = plan_slice(full, budget_bytes=64 * GIB, dtype_bytes=2)
    assert plan.notes == [] and plan.spec.layers == (full.layers[0],)
    assert plan.counts == [48]



def test_a_latent_moe_slice_keeps_as_many_experts_as_fit_at_their_latent_width():
    """Nemotron 3 Super's experts are 1024 wide, not 4096: counted at the model's width they
    would seem four times larger and a quarter as many would be kept as the budget holds."""
    full = catalog.get("nemotron-3-super-120b-a12b")
    budget = 4 * GIB
    plan = plan_slice(full, budget_bytes=budget, dtype_bytes=2)
    assert plan.counts == [40, 40, 8]  # Mamba-2, latent MoE, attention
    assert plan.spec.validate() == []
    assert analyze(plan.spec).total_params * 2 <= budget
    moe = plan.spec.layers[1].ffn
    assert moe.latent_size == 1024 and moe.top_k < moe.num_experts < 512
    # the layer's share of the budget, less what is not a routed expert, in whole experts
    whole = analyze(plan_slice(full, budget_bytes=10**15, dtype_bytes=2).spec)
    share = (budget - (whole.total_params - sum(row.params for row in whole.layers)) * 2) // 3
    rest = whole.layers[1].params - 512 * 2 * 1024 * 2688
    assert moe.num_experts == (share - rest * 2) // (2 * 1024 * 2688 * 2)
