"""Kimi Linear against transformers: Kimi Delta Attention layers with NoPE MLA between them
and DeepSeek-style MoE (sigmoid router, correction bias, shared expert) after a dense
first layer. Tiny random checkpoints load through load_pretrained and give the same
logits in one forward, token by token through the recurrent state, and prefill then
decode.

transformers runs its chunked fallback with 64-token chunks, so 13 tokens are one chunk
there; ours are set to 4-token chunks (a ragged last one, and a prefill of 7 that ends
mid-chunk), so the comparison crosses chunk boundaries and carries the state between
them. The chunk size is our implementation's choice, not the model's: any size gives the
same logits, which the default-size test over more than 64 tokens checks too.
"""

import pytest
from safetensors import safe_open

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

from app.model.kimi_delta import CHUNK_SIZE, KimiDeltaAttention  # noqa: E402
from app.weights.name_maps import NAME_MAPS  # noqa: E402

SEQ_LEN = 13
PREFILL = 7
TEST_CHUNK = 4

# No special tokens: kimi_linear's defaults lie past a tiny vocabulary.
BASE = dict(model_type="kimi_linear", vocab_size=61, hidden_size=40, intermediate_size=56, moe_intermediate_size=20,
            num_attention_heads=3, num_key_value_heads=3, kv_lora_rank=20, qk_rope_head_dim=8, qk_nope_head_dim=12,
            v_head_dim=10, num_experts=6, num_experts_per_token=2, num_shared_experts=1, routed_scaling_factor=2.446,
            pad_token_id=None, bos_token_id=None, eos_token_id=None)
TINY = {
    # KDA, MLA, KDA, KDA (the published layout in 1-based layer numbers), dense first layer.
    "kimi_linear": dict(BASE, num_hidden_layers=4, q_lora_rank=None,
                        linear_attn_config=dict(num_heads=3, head_dim=6, short_conv_kernel_size=4,
                                                full_attn_layers=[2], kda_layers=[1, 3, 4])),
    # A query latent in the MLA layer, odd head count and width, kernel 3, two expert groups,
    # a shared expert twice the routed width, MoE from the first layer.
    "kimi_linear-variant": dict(BASE, num_hidden_layers=3, q_lora_rank=16, num_attention_heads=5,
                                num_key_value_heads=5, num_shared_experts=2, num_expert_group=2, topk_group=1,
                                num_experts=8, num_experts_per_token=3, first_k_dense_replace=0,
                                moe_renormalize=False, rms_norm_eps=1e-6,
                                linear_attn_config=dict(num_heads=5, head_dim=7, short_conv_kernel_size=3,
                                                        full_attn_layers=[3], kda_layers=[1, 2])),
}


def delta_mixers(model):
    return [block.mixer for block in model.layers if isinstance(block.mixer, KimiDeltaAttention)]


@pytest.fixture(scope="module", params=sorted(TINY))
def checkpoint(request, tmp_path_factory):
    """(config, checkpoint directory, reference, ours with TEST_CHUNK chunks, input_ids)."""
    directory = tmp_path_factory.mktemp(request.param)
    config = TINY[request.param]
    reference, ours, input_ids = reference_pair(save_reference(config, directory), directory, config["vocab_size"],
                                                SEQ_LEN)
    for mixer in delta_mixers(ours):
        mixer.chunk_size = TEST_CHUNK
    return config, directory, reference, ours, input_ids


@pytest.fixture
def pair(checkpoint):
    return checkpoint[2:]


def test_the_checkpoint_has_both_mixer_kinds_and_moe(pair):
    _, ours, _ = pair
    kinds = {block.layer.mixer.kind for block in ours.layers}
    assert kinds == {"kimi_delta", "mla"}
    assert any(block.layer.ffn.kind == "moe" for block in ours.layers)
    assert SEQ_LEN > 2 * TEST_CHUNK and PREFILL % TEST_CHUNK



def test_one_forward_over_more_than_a_default_chunk_matches(pair):
    reference, ours, _ = pair
    input_ids = torch.randint(0, ours.spec.vocab_size, (1, CHUNK_SIZE + 9), generator=torch.Generator().manual_seed(2))
    try:
        for mixer in delta_mixers(ours):
            mixer.chunk_size = CHUNK_SIZE
        with torch.no_grad():
            logits = ours(input_ids)
    finally:
        for mixer in delta_mixers(ours):
            mixer.chunk_size = TEST_CHUNK
    torch.testing.assert_close(logits, reference_logits(reference, input_ids), atol=TOLERANCE, rtol=0)


def test_every_checkpoint_tensor_is_loaded(checkpoint):
    """The loader names missing tensors; this checks the other way: nothing the checkpoint
    holds (a gate, a conv, a correction bias) is left unread by the name map."""
    _, directory, _, ours, _ = checkpoint
    names = [name for name, _ in ours.named_parameters()]
    mapping = NAME_MAPS["kimi_linear"](ours.spec, names)
    read = set()
    for theirs, _ in mapping.values():
        read.update(theirs if isinstance(theirs, tuple) else (theirs,))
    with safe_open(directory / "model.safetensors", "pt") as tensors:
        assert set(tensors.keys()) == read
