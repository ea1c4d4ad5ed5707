"""GLM-5 (glm_moe_dsa) against transformers: MLA with DeepSeek sparse attention whose
lightning indexer rotates interleaved rope pairs, over dense-first DeepSeek MoE layers with
a shared expert. The sequence is longer than the indexer's top-k, so the selection decides
what each query reads; one forward, token by token through the latent cache, and prefill
then decode give transformers' logits."""

from dataclasses import replace

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    TOLERANCE,
    reference_logits,
    reference_pair,
    save_reference,
    torch,
)

SEQ_LEN = 13  # longer than each case's index_topk, so the sparsity matters
PREFILL = 8

# 8 indexer heads: ReLU scores of fewer heads tie exactly in a tiny random model.
GLM = dict(model_type="glm_moe_dsa", vocab_size=61, hidden_size=40, intermediate_size=56, moe_intermediate_size=24,
           num_hidden_layers=3, num_attention_heads=3, num_key_value_heads=3, kv_lora_rank=20, q_lora_rank=28,
           qk_rope_head_dim=8, qk_nope_head_dim=12, v_head_dim=10, index_n_heads=8, index_head_dim=16, index_topk=5,
           n_routed_experts=8, num_experts_per_tok=3, n_shared_experts=1, n_group=1, topk_group=1,
           routed_scaling_factor=2.5, first_k_dense_replace=1, max_position_embeddings=32,
           rope_parameters=dict(rope_type="default", rope_theta=10000.0), rope_interleave=True,
           indexer_rope_interleave=True)

TINY = {
    # GLM-5's shape in small: a dense first layer, then MoE with a shared expert
    "glm_moe_dsa": GLM,
    # two dense layers, odd widths, every layer's indexer named (all "full", as GLM-5's),
    # a top-k of 3 and two shared experts' width
    "glm_moe_dsa-odd": dict(GLM, hidden_size=36, num_attention_heads=5, num_key_value_heads=5, kv_lora_rank=14,
                            q_lora_rank=22, qk_rope_head_dim=6, qk_nope_head_dim=10, v_head_dim=12,
                            index_head_dim=10, index_topk=3, n_shared_experts=2, first_k_dense_replace=2,
                            indexer_types=["full"] * 3,
                            rope_parameters=dict(rope_type="default", rope_theta=1_000_000.0)),
}


@pytest.fixture(scope="module", params=sorted(TINY))
def pair(request, tmp_path_factory):
    config = TINY[request.param]
    directory = tmp_path_factory.mktemp(request.param)
    reference = save_reference(config, directory)
    return reference_pair(reference, directory, config["vocab_size"], SEQ_LEN)


def _with_indexers(ours, **change):
    """Our model with every indexer's spec changed; returns the old specs to restore."""
    indexers = [block.mixer.indexer for block in ours.layers]
    old = [indexer.spec for indexer in indexers]
    for indexer in indexers:
        indexer.spec = replace(indexer.spec, **change)
    return indexers, old


@pytest.mark.parametrize("change", [dict(top_k=SEQ_LEN), dict(rope_interleaved=False)],
                         ids=["every-token", "half-split-rope"])
def test_the_indexer_selection_and_its_rope_layout_decide_the_output(pair, change):
    """Attending to every token, or rotating the indexer's rope half-split as DeepSeek V3.2
    does, gives other logits: the parity above exercised GLM-5's selection as it is."""
    reference, ours, input_ids = pair
    indexers, old = _with_indexers(ours, **change)
    try:
        with torch.no_grad():
            changed = ours(input_ids)
    finally:
        for indexer, spec in zip(indexers, old):
            indexer.spec = spec
    assert (changed - reference_logits(reference, input_ids)).abs().max() > 100 * TOLERANCE
