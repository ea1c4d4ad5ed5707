"""Qwen3-Next against transformers: a tiny random qwen3_next checkpoint (Gated DeltaNet
3:1 gated attention, MoE with a gated shared expert, one dense layer) loads through
load_pretrained and gives the same logits in one forward, token by token through the
cache (the recurrent form), and prefill then decode (the chunked form continuing from a
cached state, then the recurrent one).

transformers' qwen3_next config does not expose the chunk size of the chunked form (its
torch fallback uses 64, as fla does), so the sequence is 70 tokens: the prefill and the
one forward both span two chunks, the second one partial.
"""

import pytest
import torch

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    reference_pair,
    save_reference,
)

from app.spec.mixers import GatedDeltaNet  # noqa: E402
from app.weights import load_pretrained  # noqa: E402
from app.weights.name_maps import NAME_MAPS  # noqa: E402

SEQ_LEN = 70
PREFILL = 67

# Two value heads per key head (the published 32:16 grouping), key and value widths that
# differ, odd model width, partial RoPE (4 of 16 channels), a dense layer among the MoE.
TINY = dict(model_type="qwen3_next", vocab_size=97, hidden_size=38, intermediate_size=52, num_hidden_layers=4,
            num_attention_heads=4, num_key_value_heads=2, head_dim=16, linear_num_key_heads=2,
            linear_num_value_heads=4, linear_key_head_dim=8, linear_value_head_dim=6, linear_conv_kernel_dim=3,
            num_experts=5, num_experts_per_tok=2, moe_intermediate_size=14, shared_expert_intermediate_size=18,
            mlp_only_layers=[1])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    directory = tmp_path_factory.mktemp("qwen3_next")
    return save_reference(TINY, directory), directory


@pytest.fixture(scope="module")
def pair(saved):
    reference, directory = saved
    return reference_pair(reference, directory, TINY["vocab_size"], SEQ_LEN)


def test_the_tiny_config_has_every_layer_kind(pair):
    _, ours, _ = pair
    kinds = [(layer.mixer_kind, layer.ffn_kind) for layer in ours.spec.layers]
    assert kinds == [("gated_deltanet", "moe"), ("gated_deltanet", "mlp"), ("gated_deltanet", "moe"),
                     ("attention", "moe")]



def test_every_checkpoint_tensor_is_loaded(saved):
    from safetensors import safe_open

    reference, directory = saved
    ours = load_pretrained(directory)
    names = [name for name, _ in ours.model.named_parameters()]
    used = set()
    for theirs, _ in NAME_MAPS["qwen3_next"](ours.spec, names).values():
        used.update(theirs if isinstance(theirs, tuple) else (theirs,))
    with safe_open(str(directory / "model.safetensors"), framework="pt") as handle:
        stored = set(handle.keys())
    assert used == stored


def test_a_mis_shaped_fused_projection_is_named(tmp_path):
    from safetensors.torch import load_file, save_file

    from app.weights import WeightsError

    save_reference(TINY, tmp_path)
    path = tmp_path / "model.safetensors"
    tensors = load_file(path)
    name = "model.layers.2.linear_attn.in_proj_qkvz.weight"
    tensors[name] = tensors[name][:-1]
    save_file(tensors, path, metadata={"format": "pt"})
    with pytest.raises(WeightsError, match=name.replace(".", r"\.")):
        load_pretrained(tmp_path)


def test_the_state_is_what_transformers_caches(pair):
    """The recurrent state and conv window after a prefill hold what transformers' cache
    holds: the same tensors, so the bytes we report are the bytes it keeps."""
    reference, ours, input_ids = pair
    cache = ours.new_cache(batch=2, max_len=SEQ_LEN)
    with torch.no_grad():
        ours(input_ids[:, :PREFILL], cache=cache)
        theirs = reference(input_ids=input_ids[:, :PREFILL], use_cache=True).past_key_values
    for index, layer in enumerate(ours.spec.layers):
        if isinstance(layer.mixer, GatedDeltaNet):
            state = cache.layers[index]
            torch.testing.assert_close(state["conv"], theirs.layers[index].conv_states[0], atol=1e-5, rtol=0)
            torch.testing.assert_close(state["recurrent"], theirs.layers[index].recurrent_states[0], atol=1e-5,
                                       rtol=0)
