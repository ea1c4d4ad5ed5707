"""DeepSeek V4 (deepseek_v4) against transformers: CSA layers (overlapping 4-token pooling,
the lightning indexer's top-k), HCA layers (non-overlapping pooling), window-only layers, the
attention sinks and grouped output projection, the hyper-connection streams with their
Sinkhorn-projected mixing, hash-routed and learned (sqrt-softplus, biased) MoE layers with
clamped SwiGLU experts. The sequence outlasts the window and pools more entries than the
indexer keeps; one forward, token by token and prefill then decode give transformers' logits,
and breaking each piece moves them."""

from dataclasses import replace

import pytest

from app.spec.analysis import analyze
from app.spec.hf import hf_config_from_spec, spec_from_hf_config
from app.weights.names_deepseek_v4 import buffers

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    TOLERANCE,
    assert_cache_holds_what_the_analysis_counts,
    assert_every_checkpoint_tensor_is_used,
    reference_logits,
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    tiny_checkpoints,
    torch,
    transformers,
)

SEQ_LEN = 26  # past the window (6), 6 CSA entries (the indexer keeps 2) and 3 HCA entries
PREFILL = 11  # the decode steps close windows of both rates and carry CSA's overlap

CSA, HCA, WINDOW = "compressed_sparse_attention", "heavily_compressed_attention", "sliding_attention"
# 8 indexer heads: the ReLU scores of fewer heads tie exactly in a tiny random model, and a
# tie's top-k order is not defined
FLASH = dict(model_type="deepseek_v4", vocab_size=96, hidden_size=64, moe_intermediate_size=32, num_hidden_layers=5,
             num_attention_heads=4, num_key_value_heads=1, head_dim=32, q_lora_rank=24, qk_rope_head_dim=8,
             o_groups=2, o_lora_rank=16, n_routed_experts=6, n_shared_experts=1, num_experts_per_tok=2,
             scoring_func="sqrtsoftplus", routed_scaling_factor=1.5, index_n_heads=8, index_head_dim=16,
             index_topk=2, hc_mult=3, hc_sinkhorn_iters=5, hc_eps=1e-6, sliding_window=6, num_hash_layers=2,
             compress_rope_theta=160000, rope_theta=10000, swiglu_limit=0.5, max_position_embeddings=256,
             rope_scaling={"type": "yarn", "factor": 4, "original_max_position_embeddings": 64, "beta_fast": 32,
                           "beta_slow": 1},
             layer_types=[WINDOW, CSA, HCA, CSA, HCA], compress_rates={CSA: 4, HCA: 8}, num_nextn_predict_layers=1)

TINY = {
    # V4-Flash's order: window-only layers first, then CSA and HCA in turn; two hash layers
    "deepseek_v4-flash": FLASH,
    # V4-Pro's order in the published keys (compress_ratios with the MTP module's entry past
    # the last layer, num_hash_layers, a legacy HCA rate), odd widths, 4 streams, 20
    # Sinkhorn iterations
    "deepseek_v4-pro": {**{k: v for k, v in FLASH.items() if k not in ("layer_types", "compress_rates")},
                        "hidden_size": 48, "num_attention_heads": 6, "head_dim": 24, "o_groups": 3,
                        "o_lora_rank": 10, "q_lora_rank": 20, "moe_intermediate_size": 20, "n_routed_experts": 7,
                        "num_experts_per_tok": 3, "routed_scaling_factor": 2.5, "index_head_dim": 12,
                        "index_topk": 3, "hc_mult": 4, "hc_sinkhorn_iters": 20, "num_hash_layers": 3,
                        "swiglu_limit": 0.3, "compress_ratios": [128, 128, 4, 128, 4, 0], "compress_rate_hca": 8},
}


def sharpen(reference, name):
    """A hash layer's table is zeros when transformers makes it (the checkpoint fills it):
    draw every token's experts, distinct, so the table decides something."""
    experts = TINY[name]["n_routed_experts"]
    for buffer_name, buffer in reference.named_buffers():
        if buffer_name.endswith("tid2eid"):
            buffer.copy_(torch.stack([torch.randperm(experts)[:buffer.shape[1]] for _ in range(buffer.shape[0])]))


checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN, sharpen)


def test_the_converter_reads_both_config_styles_and_writes_transformers_own(checkpoint):
    _, directory, config = checkpoint
    spec = spec_from_hf_config(config)
    written = hf_config_from_spec(spec)
    assert spec_from_hf_config(written) == spec
    theirs = transformers.AutoConfig.for_model(**config)
    again = transformers.AutoConfig.for_model(**written)
    for key in ("layer_types", "mlp_layer_types", "compress_rates", "qk_rope_head_dim"):
        assert getattr(again, key) == getattr(theirs, key), key

    def ropes(config):  # the values transformers' rotary reads ("type" is rope_type's older name)
        return {kind: {key: value for key, value in rope.items() if key != "type"}
                for kind, rope in config.rope_parameters.items()}

    assert ropes(again) == ropes(theirs)


def test_every_checkpoint_tensor_is_used(checkpoint):
    assert_every_checkpoint_tensor_is_used(checkpoint[1], buffers)


def test_the_cache_holds_what_the_analysis_counts(pair):
    _, ours, input_ids = pair
    assert_cache_holds_what_the_analysis_counts(ours, input_ids, PREFILL)


def test_the_parameter_count_is_transformers(pair):
    reference, ours, _ = pair
    assert analyze(ours.spec).total_params == sum(p.numel() for p in reference.parameters())


def _layers(ours, kind):
    return [block for block in ours.layers if block.mixer.spec.compress_rate and
            (block.mixer.spec.indexer is not None) == (kind == CSA)]


def _moved(reference, ours, input_ids, change, restore) -> float:
    try:
        change()
        with torch.no_grad():
            changed = ours(input_ids)
    finally:
        restore()
    return (changed - reference_logits(reference, input_ids)).abs().max().item()


def _swap(objects, attribute, values):
    old = [getattr(item, attribute) for item in objects]
    return (lambda: [setattr(item, attribute, value) for item, value in zip(objects, values)],
            lambda: [setattr(item, attribute, value) for item, value in zip(objects, old)])


def test_the_indexers_selection_decides_what_csa_reads(pair):
    """Keeping every pooled entry instead of the indexer's top-k gives other logits."""
    reference, ours, input_ids = pair
    mixers = [block.mixer for block in _layers(ours, CSA)]
    wide = [replace(m.spec, indexer=replace(m.spec.indexer, top_k=SEQ_LEN)) for m in mixers]
    assert _moved(reference, ours, input_ids, *_swap(mixers, "spec", wide)) > 100 * TOLERANCE


@pytest.mark.parametrize("kind", [CSA, HCA])
def test_the_pooled_entries_are_read(pair, kind):
    """A layer that pools nothing (its compressor's entries dropped, and CSA's index keys
    with them) gives other logits."""
    reference, ours, input_ids = pair
    compressors = [pooler for block in _layers(ours, kind) for pooler in (block.mixer.compressor, block.mixer.indexer)
                   if pooler is not None]
    nothing = [lambda x, state, table, width=c.width: x.new_zeros(x.shape[0], 0, width) for c in compressors]
    change, restore = _swap(compressors, "forward", nothing)
    assert _moved(reference, ours, input_ids, change, restore) > 100 * TOLERANCE


def test_the_streams_mixing_is_sinkhorn_projected(pair):
    """One Sinkhorn iteration instead of the configured count gives other logits."""
    reference, ours, input_ids = pair
    streams = [hc for block in ours.layers for hc in (block.mixer_streams, block.ffn_streams)]
    once = [replace(hc.spec, sinkhorn_iters=1) for hc in streams]
    assert _moved(reference, ours, input_ids, *_swap(streams, "spec", once)) > 100 * TOLERANCE


def test_the_hash_layers_route_by_token_id(pair):
    """The hash layers' tables shifted by one expert give other logits."""
    reference, ours, input_ids = pair
    blocks = [block for block in ours.layers if block.token_experts is not None]
    assert blocks
    experts = ours.spec.layers[0].ffn.num_experts
    shifted = [(block.token_experts + 1) % experts for block in blocks]
    assert _moved(reference, ours, input_ids, *_swap(blocks, "token_experts", shifted)) > 100 * TOLERANCE
