"""MiniMax-01 / M1 (transformers' `minimax`) against transformers: lightning attention
layers beside softmax attention layers, weighted residuals taken after the norm, and a
softmax top-k MoE. Tiny random checkpoints load through load_pretrained and give the same
logits in one forward, token by token through the cache, and prefill then decode.

The block sizes are small (4 and 5) so that the 13-token sequence, and the 9-token
prefill, cross several blocks of the blockwise form, the last one partial.
"""

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    reference_pair,
    save_reference,
)

import torch  # noqa: E402

from app.spec.mixers import LightningAttention  # noqa: E402
from app.spec.analysis import analyze  # noqa: E402
from app.weights import load_pretrained  # noqa: E402
from app.weights.name_maps import NAME_MAPS  # noqa: E402
from app.weights.names_minimax import DERIVED_BUFFERS  # noqa: E402

SEQ_LEN = 13
PREFILL = 9

TINY = {
    # Lightning, softmax GQA, then two lightning layers (so decay rates differ by depth);
    # residual weights other than 1 on every sublayer kind.
    "mixed": dict(model_type="minimax", vocab_size=61, hidden_size=40, intermediate_size=18, num_hidden_layers=4,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=10, num_local_experts=5,
                  num_experts_per_tok=2, block_size=4,
                  layer_types=["linear_attention", "full_attention", "linear_attention", "linear_attention"],
                  full_attn_alpha_factor=1.7, full_attn_beta_factor=0.9, linear_attn_alpha_factor=1.3,
                  linear_attn_beta_factor=1.1, mlp_alpha_factor=1.5, mlp_beta_factor=0.8),
    # transformers' default alternation (full, linear, ...), MQA with a sliding window of 5,
    # odd head sizes, and MiniMax-M1's published residual weight 3.5566.
    "alternating": dict(model_type="minimax", vocab_size=53, hidden_size=30, intermediate_size=14,
                        num_hidden_layers=3, num_attention_heads=3, num_key_value_heads=1, head_dim=6,
                        num_local_experts=4, num_experts_per_tok=3, block_size=5, sliding_window=5,
                        full_attn_alpha_factor=3.5565588200778455, linear_attn_alpha_factor=3.5565588200778455,
                        mlp_alpha_factor=3.5565588200778455),
}


@pytest.fixture(scope="module", params=sorted(TINY))
def pair(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    reference = save_reference(TINY[request.param], directory)
    return reference_pair(reference, directory, TINY[request.param]["vocab_size"], SEQ_LEN) + (directory,)


def test_the_layer_pattern_has_both_mixers_and_moe(pair):
    spec = pair[1].spec
    assert {layer.mixer_kind for layer in spec.layers} == {"lightning", "attention"}
    assert {layer.ffn_kind for layer in spec.layers} == {"moe"}



def test_every_checkpoint_tensor_is_read_or_derived(pair):
    """The name map reads every tensor of the checkpoint except the lightning layers'
    decay buffers, which are functions of the spec (checked in the next test)."""
    from safetensors import safe_open

    reference, ours, _, directory = pair
    mapping = NAME_MAPS["minimax"](ours.spec, [name for name, _ in ours.named_parameters()])
    read = set()
    for theirs, _ in mapping.values():
        read.update(theirs if isinstance(theirs, tuple) else (theirs,))
    with safe_open(str(directory / "model.safetensors"), "pt") as checkpoint:
        saved = set(checkpoint.keys())
    assert read <= saved
    assert {name.rsplit(".", 1)[-1] for name in saved - read} == set(DERIVED_BUFFERS)


def test_decay_rates_equal_the_checkpoints_slope_buffers(pair):
    from app.model.lightning import decay_rates

    reference, ours, _, _ = pair
    for index, block in enumerate(ours.layers):
        if isinstance(block.layer.mixer, LightningAttention):
            saved = reference.model.layers[index].self_attn.slope_rate.flatten()
            ours_rates = decay_rates(block.layer.mixer.num_heads, block.mixer.layer_index, block.mixer.num_layers)
            torch.testing.assert_close(ours_rates, saved, rtol=1e-6, atol=0)


def test_parameter_count_matches_the_analysis_and_transformers(pair):
    reference, ours, _, _ = pair
    ours_count = sum(p.numel() for p in ours.parameters())
    assert ours_count == analyze(ours.spec).total_params
    assert ours_count == sum(p.numel() for p in reference.parameters())


def test_a_missing_lightning_tensor_is_named(tmp_path):
    from safetensors.torch import load_file, save_file

    from app.weights import WeightsError

    save_reference(TINY["mixed"], tmp_path)
    path = tmp_path / "model.safetensors"
    tensors = load_file(path)
    dropped = "model.layers.2.self_attn.output_gate.weight"
    del tensors[dropped]
    save_file(tensors, path, metadata={"format": "pt"})
    with pytest.raises(WeightsError, match=dropped.replace(".", r"\.")):
        load_pretrained(tmp_path)
