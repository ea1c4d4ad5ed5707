"""LFM2 / LFM2.5 (gated short convolutions and QK-normed GQA) and LFM2-MoE against
transformers: tiny random checkpoints load through load_pretrained and give the same logits
in one forward, token by token through the cache, and prefill then decode; the cache holds
what the analysis counts; and the catalog's full-size configs count what transformers builds.

The configs cover both model types and every switch they have: the layer pattern spelled by
layer_types or (older configs) full_attn_idxs, the MLP width with and without transformers'
2/3 adjustment, biased convolutions, a longer kernel, untied embeddings, explicit head_dim;
for the MoE, dense first layers, the expert bias steering the choice (drawn large enough to
change it), normalized or raw top-k weights and a routed scaling.
"""

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    assert_cache_holds_what_the_analysis_counts,
    assert_every_checkpoint_tensor_is_used,
    assert_prefill_then_decode_matches,
    tiny_checkpoints,
)

SEQ_LEN = 11
PREFILL = 6

TINY = {
    "dense": dict(model_type="lfm2", vocab_size=89, hidden_size=40, num_hidden_layers=5, num_attention_heads=4,
                  num_key_value_heads=2, layer_types=["conv", "full_attention", "conv", "conv", "full_attention"],
                  intermediate_size=60, block_multiple_of=16, block_ffn_dim_multiplier=1.0, conv_L_cache=3,
                  max_position_embeddings=64),
    "legacy": dict(model_type="lfm2", vocab_size=71, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                   num_key_value_heads=1, head_dim=12, full_attn_idxs=[0, 2], block_ff_dim=36,
                   block_auto_adjust_ff_dim=False, conv_bias=True, conv_L_cache=4, tie_embedding=False,
                   rope_theta=10000.0, norm_eps=1e-6, max_position_embeddings=64),
    "moe": dict(model_type="lfm2_moe", vocab_size=77, hidden_size=32, num_hidden_layers=6, num_attention_heads=4,
                num_key_value_heads=2, layer_types=["conv", "conv", "full_attention", "conv", "full_attention", "conv"],
                intermediate_size=24, moe_intermediate_size=12, num_dense_layers=2, num_experts=6,
                num_experts_per_tok=2, routed_scaling_factor=1.5, max_position_embeddings=64),
    "moe_raw_weights": dict(model_type="lfm2_moe", vocab_size=61, hidden_size=24, num_hidden_layers=3,
                            num_attention_heads=3, num_key_value_heads=1,
                            layer_types=["full_attention", "conv", "conv"], moe_intermediate_size=10,
                            num_dense_layers=0, num_experts=5, num_experts_per_tok=3, use_expert_bias=False,
                            norm_topk_prob=False, conv_bias=True, tie_word_embeddings=False,
                            max_position_embeddings=64),
}

# transformers draws the convolution taps like every weight (std 0.02), which leaves a
# layer's window adding ~1e-4 to the logits: too close to the tolerance for a lost or
# misplaced window to fail. Scaled up, dropping it moves the logits by ~1e-2.
CONV_SCALE = 20.0


def sharpen(reference, name: str) -> None:
    for parameter_name, parameter in reference.named_parameters():
        if parameter_name.endswith("conv.conv.weight"):
            parameter.mul_(CONV_SCALE)


checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN, sharpen)


def test_a_one_token_prompt_then_decode_matches(pair):
    """A window that starts empty and fills over the decode steps."""
    assert_prefill_then_decode_matches(*pair, prefill=1)


def test_every_checkpoint_tensor_is_used(checkpoint):
    """The name map consumes the whole checkpoint (expert biases included): nothing it
    holds is silently dropped, nothing it lacks is asked for."""
    _, directory, _ = checkpoint
    assert_every_checkpoint_tensor_is_used(directory)


def test_the_cache_holds_what_the_analysis_counts(pair):
    """After a prefill and a few steps: attention layers their keys and values per token,
    convolution layers their window of `kernel` values per channel, at any length."""
    _, ours, input_ids = pair
    cache = assert_cache_holds_what_the_analysis_counts(ours, input_ids, PREFILL)
    batch, element = input_ids.shape[0], ours.embed_tokens.weight.element_size()
    convs = [i for i, layer in enumerate(ours.spec.layers) if layer.mixer_kind == "gated_short_conv"]
    kernel = ours.spec.layers[convs[0]].mixer.kernel
    assert all(cache.layer_nbytes()[i] == batch * ours.spec.d_model * kernel * element for i in convs)


def test_a_lost_window_would_fail_the_tolerance(pair):
    """The check above has teeth: decoding with the convolution windows zeroed between
    steps moves the logits well past the parity tolerance."""
    import torch

    from app.model.cache import RecurrentState

    from .reference import TOLERANCE, reference_logits

    reference, ours, input_ids = pair
    batch, length = input_ids.shape
    cache = ours.new_cache(batch=batch, max_len=length)
    with torch.no_grad():
        steps = []
        for i in range(length):
            for layer in cache.layers:
                if isinstance(layer, RecurrentState):
                    layer.reset()
            steps.append(ours(input_ids[:, i:i + 1], cache=cache))
        drift = (torch.cat(steps, dim=1) - reference_logits(reference, input_ids)).abs().max().item()
    assert drift > 20 * TOLERANCE


@pytest.mark.parametrize("name", ["lfm2.5-1.2b", "lfm2.5-350m", "lfm2.5-8b-a1b"])
def test_full_size_counts_equal_transformers_from_the_published_config(name):
    """transformers builds the catalog's config.json as published (block_ff_dim and its 2/3
    rule, tie_embedding, full_attn_idxs or layer_types): the same parameters on the meta device."""
    import torch
    import transformers

    from app.spec import catalog
    from app.spec.analysis import analyze

    config = transformers.AutoConfig.for_model(**catalog.entry(name).config)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    assert analyze(catalog.get(name)).total_params == sum(p.numel() for p in model.parameters())
