"""Dense families against transformers: tiny random checkpoints load through
load_pretrained and give the same logits, in one forward and token by token."""

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    reference_pair,
    save_reference,
)

SEQ_LEN = 13  # longer than every sliding window below
PREFILL = 8

# Odd widths and several head groupings (MHA, GQA, MQA) across the families.
TINY = {
    "gpt2": dict(model_type="gpt2", vocab_size=101, n_positions=64, n_embd=48, n_layer=2, n_head=3),
    "llama": dict(model_type="llama", vocab_size=97, hidden_size=48, intermediate_size=72, num_hidden_layers=2,
                  num_attention_heads=6, num_key_value_heads=2, tie_word_embeddings=False,
                  rope_parameters=dict(rope_type="llama3", rope_theta=10000.0, factor=8.0, low_freq_factor=1.0,
                                       high_freq_factor=4.0, original_max_position_embeddings=8)),
    "llama-yarn": dict(model_type="llama", vocab_size=89, hidden_size=40, intermediate_size=56, num_hidden_layers=2,
                       num_attention_heads=5, num_key_value_heads=5, attention_bias=True, mlp_bias=True,
                       rope_parameters=dict(rope_type="yarn", rope_theta=5000.0, factor=4.0,
                                            original_max_position_embeddings=8)),
    "mistral": dict(model_type="mistral", vocab_size=83, hidden_size=40, intermediate_size=64, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=1, head_dim=12, sliding_window=5),
    "qwen3": dict(model_type="qwen3", vocab_size=91, hidden_size=36, intermediate_size=60, num_hidden_layers=2,
                  num_attention_heads=6, num_key_value_heads=3, head_dim=10, tie_word_embeddings=True),
    "olmo2": dict(model_type="olmo2", vocab_size=79, hidden_size=32, intermediate_size=44, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=4),
    "olmo3": dict(model_type="olmo3", vocab_size=73, hidden_size=40, intermediate_size=52, num_hidden_layers=4,
                  num_attention_heads=4, num_key_value_heads=2, sliding_window=6,
                  layer_types=["sliding_attention"] * 3 + ["full_attention"]),
    "gemma3_text": dict(model_type="gemma3_text", vocab_size=71, hidden_size=48, intermediate_size=40,
                        num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                        sliding_window=5, query_pre_attn_scalar=12,
                        layer_types=["sliding_attention"] * 5 + ["full_attention"],
                        rope_parameters={"full_attention": dict(rope_type="linear", factor=8.0, rope_theta=1e6),
                                         "sliding_attention": dict(rope_type="default", rope_theta=1e4)}),
    "smollm3": dict(model_type="smollm3", vocab_size=67, hidden_size=36, intermediate_size=50, num_hidden_layers=4,
                    num_attention_heads=6, num_key_value_heads=2, no_rope_layer_interval=2, pad_token_id=0,
                    bos_token_id=1, eos_token_id=2),
}


@pytest.fixture(scope="module", params=sorted(TINY))
def pair(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    reference = save_reference(TINY[request.param], directory)
    return reference_pair(reference, directory, TINY[request.param]["vocab_size"], SEQ_LEN)


