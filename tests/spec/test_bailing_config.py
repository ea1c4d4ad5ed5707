"""Ling 2.5 / 2.6's config.json (bailing_hybrid) read as the published remote code builds it:
where its MLA layers sit, what its lightning layers are, its MoE, and what it refuses by name.
transformers has no model of it; modeling_bailing_moe_v2_5.py is the reference read here."""

import pytest

from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.errors import SpecError
from app.spec.hf import hf_config_from_spec, spec_from_hf_config
from app.spec.mixers import LightningAttention, MultiHeadLatentAttention

TINY = {
    "model_type": "bailing_hybrid", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 10, "num_attention_heads": 4, "head_dim": 8, "partial_rotary_factor": 0.5,
    "rope_theta": 600000, "use_qk_norm": True, "group_norm_size": 2, "layer_group_size": 4,
    "kv_lora_rank": 16, "q_lora_rank": 24, "qk_rope_head_dim": 4, "qk_nope_head_dim": 8, "v_head_dim": 8,
    "num_experts": 8, "num_experts_per_tok": 2, "num_shared_experts": 1, "moe_intermediate_size": 16,
    "n_group": 2, "topk_group": 1, "first_k_dense_replace": 1, "routed_scaling_factor": 2.5,
}


def test_mla_every_group_th_layer_and_past_the_last_whole_group():
    """is_mla_layer: (i + 1) % layer_group_size == 0, or i >= L // group * group: of 10 layers
    in groups of 4, layers 3 and 7, then 8 and 9."""
    spec = spec_from_hf_config(TINY)
    assert [i for i, layer in enumerate(spec.layers) if isinstance(layer.mixer, MultiHeadLatentAttention)] \
        == [3, 7, 8, 9]


def test_the_lightning_layers_are_lings_variant():
    spec = spec_from_hf_config(TINY)
    lightning = spec.layers[0].mixer
    assert isinstance(lightning, LightningAttention)
    assert (lightning.num_heads, lightning.head_dim, lightning.norm_groups) == (4, 8, 2)
    assert (lightning.qkv_activation, lightning.qk_norm, lightning.scaled, lightning.decay) == ("none", True, True,
                                                                                                 "alibi")
    assert lightning.rope.rotary_dim == 4 and not lightning.rope.interleaved
    mla = spec.layers[3].mixer
    assert mla.rope.rotary_dim == 4 and mla.rope.interleaved and mla.rope.theta == lightning.rope.theta


def test_the_moe_normalizes_top_k_and_its_shared_expert_is_num_shared_copies_wide():
    spec = spec_from_hf_config(TINY | {"num_shared_experts": 2, "norm_topk_prob": False})
    moe = spec.layers[1].ffn
    assert moe.router.normalize_top_k  # the gate never reads norm_topk_prob
    assert (moe.router.scoring, moe.router.score_correction_bias, moe.router.routed_scaling) == ("sigmoid", True, 2.5)
    assert moe.shared.intermediate_size == 32
    assert spec.layers[0].ffn.intermediate_size == 48  # first_k_dense_replace


@pytest.mark.parametrize("change, key", [
    ({"short_conv_kernel_size": 4}, "short_conv_kernel_size"),  # Ling 3 (Kimi Delta Attention)
    ({"qk_rope_head_dim": 8}, "qk_rope_head_dim"),  # MLA turns at the lightning rope's angles
    ({"linear_silu": True}, "linear_silu"),
    ({"moe_shared_expert_intermediate_size": 24}, "moe_shared_expert_intermediate_size"),
])
def test_what_the_published_code_does_not_build_is_refused_by_name(change, key):
    with pytest.raises(SpecError) as error:
        spec_from_hf_config(TINY | change)
    assert key in str(error.value)


def test_a_stack_the_group_rule_cannot_place_round_trips_through_layer_types():
    explore = catalog.get("ling-2.5", "explore")
    written = hf_config_from_spec(explore)
    assert "layer_types" in written and spec_from_hf_config(written) == explore
    assert "layer_types" not in hf_config_from_spec(catalog.get("ling-2.5"))


def test_only_the_mla_layers_cache_per_token():
    """10 MLA layers x (512 + 64) latent values x 2 bytes = 11.25 KiB (the gallery: 11.2 KiB);
    each lightning layer holds a 64 x 128 x 128 state whatever the length."""
    spec = catalog.get("ling-2.5")
    analysis = analyze(spec)
    assert analysis.kv_bytes_per_token(2) == 10 * 576 * 2
    assert analysis.state_bytes(2) == 70 * 64 * 128 * 128 * 2
