"""Tencent Hy3 (transformers' hy_v3) against transformers: tiny random checkpoints, saved in
Tencent's names (router.gate, expert_bias, shared_mlp), load through load_pretrained and give
the same logits in one forward, token by token through the cache, and prefill then decode.

Hy3's own parts, each moved far enough from transformers' initial values to matter: per-head
QK-norm before full RoPE (norm weights perturbed), a dense first layer then sigmoid-routed
experts whose selection adds the correction bias (perturbed so it changes the winners), the
chosen weights renormalised then scaled by router_scaling_factor (2.826, and 0.6 below one),
and a shared expert beside them. The second config sets its own dense layers by
mlp_layer_types, biased attention and more shared experts.
"""

from dataclasses import replace

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    assert_every_checkpoint_tensor_is_used,
    reference_logits,
    tiny_checkpoints,
)

import torch  # noqa: E402

from app.spec.ffn import MoE  # noqa: E402
from app.weights.names_moe import router_bias_buffers  # noqa: E402

SEQ_LEN = 13
PREFILL = 8

TINY = {
    "published": dict(model_type="hy_v3", vocab_size=89, hidden_size=40, intermediate_size=34,
                      moe_intermediate_size=14, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                      head_dim=10, num_experts=7, num_experts_per_tok=3, num_shared_experts=1,
                      router_scaling_factor=2.826, rope_parameters={"rope_type": "default", "rope_theta": 11158840.0},
                      tie_word_embeddings=False),
    "dense-middle": dict(model_type="hy_v3", vocab_size=71, hidden_size=36, intermediate_size=26,
                         moe_intermediate_size=10, num_hidden_layers=4, num_attention_heads=6, num_key_value_heads=3,
                         head_dim=8, num_experts=6, num_experts_per_tok=2, num_shared_experts=2,
                         router_scaling_factor=0.6, attention_bias=True,
                         mlp_layer_types=["sparse", "dense", "sparse", "dense"],
                         rope_parameters={"rope_type": "default", "rope_theta": 500.0}, tie_word_embeddings=True),
}

checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN)


def test_the_spec_holds_what_the_config_says(pair):
    spec = pair[1].spec
    moe = [layer.ffn for layer in spec.layers if isinstance(layer.ffn, MoE)]
    assert moe and all(layer.mixer.qk_norm is not None and layer.mixer.qk_norm.scope == "head"
                       for layer in spec.layers)
    router = moe[0].router
    assert router.scoring == "sigmoid" and router.normalize_top_k and router.score_correction_bias
    assert router.routed_scaling in (2.826, 0.6) and moe[0].shared is not None


def test_every_checkpoint_tensor_is_used(checkpoint):
    """The name map consumes the whole checkpoint, Tencent's router, bias and shared names
    included: nothing it holds is silently dropped."""
    _, directory, _ = checkpoint
    stored = assert_every_checkpoint_tensor_is_used(directory, router_bias_buffers)
    assert any(name.endswith("mlp.expert_bias") for name in stored)
    assert any(".mlp.shared_mlp." in name for name in stored)


@pytest.mark.parametrize("part", ["scaling", "correction bias", "qk-norm"])
def test_each_distinctive_part_moves_the_logits(pair, part):
    """Without each part the logits leave the reference's by far more than the tolerance: the
    parity above cannot pass with it missing."""
    reference, ours, input_ids = pair
    with torch.no_grad():
        expected = reference_logits(reference, input_ids)
        saved = []
        for layer in ours.layers:
            ffn, mixer = getattr(layer, "ffn", None), getattr(layer, "mixer", None)
            router = getattr(ffn, "router", None)
            if part == "scaling" and router is not None:
                saved.append((router, "spec", router.spec))
                router.spec = replace(router.spec, routed_scaling=1.0)
            elif part == "correction bias" and router is not None:
                saved.append((router.score_correction_bias, None, router.score_correction_bias.clone()))
                router.score_correction_bias.zero_()
            elif part == "qk-norm" and mixer is not None:
                for norm in (mixer.q_norm, mixer.k_norm):
                    saved.append((norm.weight, None, norm.weight.clone()))
                    norm.weight.fill_(1.0)
        try:
            moved = (ours(input_ids) - expected).abs().max().item()
        finally:
            for owner, attribute, value in saved:
                if attribute is None:
                    owner.copy_(value)
                else:
                    setattr(owner, attribute, value)
    assert moved > 1e-3, f"{part}: the logits moved only {moved}"
