"""Mixture-of-experts families against transformers: Qwen3 MoE, gpt-oss, Llama 4 (text)
and MiniMax-M2 tiny random checkpoints load through load_pretrained and give the same
logits, in one forward, token by token through the cache, and prefill then decode.

Each config has enough experts and top_k > 1 for the routing to matter, odd widths, and a
sequence longer than its sliding window (gpt-oss) or attention chunk (Llama 4), so the
ring-buffer caches wrap.
"""

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    reference_pair,
    save_reference,
)

from app.weights import load_pretrained  # noqa: E402

SEQ_LEN = 13
PREFILL = 8

TINY = {
    # Per-head QK-norm, softmax top-k without renormalization, one dense layer (mlp_only_layers).
    "qwen3_moe": dict(model_type="qwen3_moe", vocab_size=97, hidden_size=36, intermediate_size=52,
                      moe_intermediate_size=22, num_hidden_layers=3, num_attention_heads=6, num_key_value_heads=2,
                      head_dim=10, num_experts=7, num_experts_per_tok=3, norm_topk_prob=False, mlp_only_layers=[1]),
    "qwen3_moe-normalized": dict(model_type="qwen3_moe", vocab_size=71, hidden_size=30, moe_intermediate_size=14,
                                 num_hidden_layers=2, num_attention_heads=3, num_key_value_heads=3, head_dim=8,
                                 num_experts=9, num_experts_per_tok=4, norm_topk_prob=True, tie_word_embeddings=True),
    # Sinks, biases everywhere, 1:1 sliding(5):full, YaRN (truncate False), clamped SwiGLU experts.
    "gpt_oss": dict(model_type="gpt_oss", vocab_size=89, hidden_size=40, intermediate_size=26, num_hidden_layers=4,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=12, num_local_experts=6,
                    num_experts_per_tok=2, sliding_window=5,
                    layer_types=["sliding_attention", "full_attention"] * 2),
    # Chunked attention (4) with interleaved RoPE and L2 QK-norm, a NoPE layer with temperature
    # tuning (floor 4, so it acts within the sequence), dense/MoE interleave, shared expert.
    "llama4_text": dict(model_type="llama4_text", vocab_size=83, hidden_size=48, intermediate_size=20,
                        intermediate_size_mlp=44, num_hidden_layers=4, num_attention_heads=6, num_key_value_heads=3,
                        head_dim=8, num_local_experts=5, num_experts_per_tok=2, attention_chunk_size=4,
                        interleave_moe_layer_step=2, no_rope_layer_interval=2, floor_scale=4, attn_scale=0.3,
                        attn_temperature_tuning=True, use_qk_norm=True, tie_word_embeddings=False,
                        pad_token_id=0, bos_token_id=1, eos_token_id=2),
    # QK-norm over all heads, partial RoPE (6 of 12), sigmoid router with a correction bias.
    "minimax_m2": dict(model_type="minimax_m2", vocab_size=79, hidden_size=40, intermediate_size=18,
                       num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=12,
                       rotary_dim=6, num_local_experts=8, num_experts_per_tok=3, pad_token_id=0, bos_token_id=1,
                       eos_token_id=2),
}


@pytest.fixture(scope="module", params=sorted(TINY))
def pair(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    reference = save_reference(TINY[request.param], directory)
    return reference_pair(reference, directory, TINY[request.param]["vocab_size"], SEQ_LEN)



@pytest.mark.parametrize("model_type, dropped", [
    ("qwen3_moe", "model.layers.2.mlp.experts.3.up_proj.weight"),  # one expert of a stacked tensor
    ("minimax_m2", "model.layers.1.block_sparse_moe.e_score_correction_bias"),  # a buffer
])
def test_a_missing_expert_tensor_is_named(model_type, dropped, tmp_path):
    from safetensors.torch import load_file, save_file

    from app.weights import WeightsError

    save_reference(TINY[model_type], tmp_path)
    path = tmp_path / "model.safetensors"
    tensors = load_file(path)
    del tensors[dropped]
    save_file(tensors, path, metadata={"format": "pt"})
    with pytest.raises(WeightsError, match=dropped.replace(".", r"\.")):
        load_pretrained(tmp_path)
