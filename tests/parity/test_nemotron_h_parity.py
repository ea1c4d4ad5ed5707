"""Nemotron-H (Mamba-2 hybrids, Nemotron 3 Nano) against transformers: tiny random
checkpoints load through load_pretrained and give the same logits in one forward, token
by token through the cache, and prefill then decode.

The block pattern holds every single-sublayer kind (Mamba-2, NoPE attention, relu2 MLP,
sigmoid-routed MoE with a shared expert), the Mamba chunk is 4 tokens so the 13-token
sequence spans four chunks and the 8-token prefill ends on a chunk boundary, and heads
share B and C in groups (6 heads, 3 groups). The second config has biased projections, no
conv bias, a single group and a dt floor (time_step_min) high enough
that the clamp acts on many tokens.
"""

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    assert_every_checkpoint_tensor_is_used,
    assert_prefill_then_decode_matches,
    tiny_checkpoints,
)

SEQ_LEN = 13
PREFILL = 8

MAMBA = dict(mamba_num_heads=6, mamba_head_dim=6, ssm_state_size=5, conv_kernel=4, chunk_size=4)

TINY = {
    "grouped": dict(model_type="nemotron_h", vocab_size=89, hidden_size=40, **MAMBA, n_groups=3,
                    layers_block_type=["linear_attention", "moe", "linear_attention", "full_attention", "mlp",
                                       "linear_attention", "moe"],
                    num_attention_heads=4, num_key_value_heads=2, head_dim=8, intermediate_size=22,
                    n_routed_experts=6, num_experts_per_tok=2, moe_intermediate_size=14,
                    moe_shared_expert_intermediate_size=18, routed_scaling_factor=2.5, n_group=2, topk_group=1,
                    tie_word_embeddings=False),
    "biased": dict(model_type="nemotron_h", vocab_size=71, hidden_size=32, **MAMBA, n_groups=1,
                   layers_block_type=["linear_attention", "mlp", "full_attention", "linear_attention", "moe"],
                   num_attention_heads=2, num_key_value_heads=1, head_dim=12, intermediate_size=20,
                   n_routed_experts=5, num_experts_per_tok=3, moe_intermediate_size=10,
                   moe_shared_expert_intermediate_size=12, use_bias=True, use_conv_bias=False, mlp_bias=True,
                   time_step_min=0.3, time_step_max=1.0),
}


# Larger time steps (dt_bias shifted up) and conv weights (scaled) for each config: at
# transformers' initial values the scan's state adds only ~3e-4 to the logits, too close
# to the tolerance for a broken chunk carry or decay to fail the test; sharpened, losing
# either moves the logits by 3e-3 to 7e-2.
SHARPEN = {"grouped": dict(dt_shift=3.0, conv_scale=5.0), "biased": dict(dt_shift=0.0, conv_scale=5.0)}


def sharpen(reference, name: str) -> None:
    shift = SHARPEN[name]
    for parameter_name, parameter in reference.named_parameters():
        if parameter_name.endswith("mixer.dt_bias"):
            parameter.add_(shift["dt_shift"])
        elif parameter_name.endswith("mixer.conv1d.weight"):
            parameter.mul_(shift["conv_scale"])


checkpoint, pair = tiny_checkpoints(TINY, SEQ_LEN, sharpen)



def test_a_prefill_ending_inside_a_chunk_matches(pair):
    assert_prefill_then_decode_matches(*pair, prefill=PREFILL - 3)


def test_every_checkpoint_tensor_is_used(checkpoint):
    """The name map consumes the whole checkpoint: nothing it holds is silently dropped."""
    _, directory, _ = checkpoint
    assert_every_checkpoint_tensor_is_used(directory)
