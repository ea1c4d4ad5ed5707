"""Gemma 3n's text model against transformers: a tiny random gemma3n_text checkpoint with
every on-device part switched on -- per-layer embeddings, AltUp streams, LAuReL, KV
sharing in the last layers (one sliding, one global) and Gaussian top-k sparsity in the
first -- loads through load_pretrained and gives the same logits, in one forward, token
by token, and after a prefill; and its analysis agrees with the model and its cache."""

import pytest

from .reference import (  # noqa: F401 -- test_*: the shared checks, run on this module's pair
    test_one_forward_matches,
    test_prefill_then_decode_matches,
    test_token_by_token_through_the_cache_matches,
    reference_pair,
    save_reference,
)

SEQ_LEN = 13  # longer than the sliding window
PREFILL = 8

TINY = dict(
    model_type="gemma3n_text", vocab_size=97, vocab_size_per_layer_input=89, hidden_size=48,
    hidden_size_per_layer_input=12, intermediate_size=[80, 64, 80, 72, 64, 80], num_hidden_layers=6,
    num_attention_heads=4, num_key_value_heads=2, head_dim=16, sliding_window=5,
    layer_types=["sliding_attention", "sliding_attention", "full_attention"] * 2,
    num_kv_shared_layers=3, laurel_rank=6, altup_num_inputs=3,
    activation_sparsity_pattern=[0.95, 0.8, 0.0, 0.0, 0.0, 0.0], final_logit_softcapping=30.0,
    rope_parameters={"full_attention": dict(rope_type="default", rope_theta=1e6),
                     "sliding_attention": dict(rope_type="default", rope_theta=1e4)},
)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """(the transformers model, the directory its save_pretrained wrote)."""
    directory = tmp_path_factory.mktemp("gemma3n")
    return save_reference(TINY, directory), directory


@pytest.fixture(scope="module")
def pair(checkpoint):
    # token ids within the per-layer table: transformers' text model reads it for every id
    return reference_pair(*checkpoint, TINY["vocab_size_per_layer_input"], SEQ_LEN)


def test_the_tiny_model_has_every_part(pair):
    _, ours, _ = pair
    spec = ours.spec
    assert spec.altup.num_inputs == 3 and spec.per_layer_embedding.width == 12
    assert [layer.mixer.shared_kv for layer in spec.layers] == [False] * 3 + [True] * 3
    assert [layer.ffn.activation_sparsity for layer in spec.layers][:2] == [0.95, 0.8]
    assert all(layer.laurel_rank == 6 for layer in spec.layers)


def test_analysis_counts_the_loaded_model(pair):
    from app.spec.analysis import analyze

    reference, ours, _ = pair
    analysis = analyze(ours.spec)
    assert analysis.total_params == sum(p.numel() for p in ours.parameters())
    assert analysis.total_params == sum(p.numel() for p in reference.parameters())
    assert analysis.per_layer_embedding_params == ours.per_layer_embedding.table.weight.numel() == 89 * 6 * 12


def test_sharing_layers_hold_no_cache_and_the_analysis_agrees(pair):
    from app.spec.analysis import analyze

    _, ours, input_ids = pair
    cache = ours.new_cache(batch=2, max_len=SEQ_LEN)
    ours(input_ids, cache=cache)
    rows = analyze(ours.spec).layers
    expected = [2 * row.kv_bytes_at(SEQ_LEN, dtype_bytes=4) for row in rows]  # batch of 2, float32
    assert cache.layer_nbytes() == expected
    assert expected[3:] == [0, 0, 0] and all(expected[:3])


def test_the_published_multimodal_layout_loads_its_language_model(checkpoint, pair, tmp_path):
    """google/gemma-3n-* are Gemma3nForConditionalGeneration checkpoints: config.json wraps
    the text config (model_type "gemma3n", text_config, vision_config, audio_config) and the
    decoder's tensors sit under model.language_model. beside the vision and audio towers.
    The same tensors laid out that way load into the same model."""
    import json

    import torch
    from safetensors.torch import load_file, save_file

    from app.weights import load_pretrained

    from .reference import assert_one_forward_matches

    reference, saved = checkpoint
    _, _, input_ids = pair
    tensors = {name.replace("model.", "model.language_model.", 1): tensor
               for file in sorted(saved.glob("*.safetensors")) for name, tensor in load_file(file).items()}
    assert "model.language_model.embed_tokens_per_layer.weight" in tensors
    tensors["model.vision_tower.timm_model.conv_stem.conv.weight"] = torch.zeros(8, 3, 3, 3)  # left unread
    tensors["model.audio_tower.subsample_conv_projection.conv_0.conv.weight"] = torch.zeros(8, 1, 3, 3)
    tensors["model.embed_vision.embedding.weight"] = torch.zeros(4, 48)
    save_file(tensors, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    wrapper = {"model_type": "gemma3n", "architectures": ["Gemma3nForConditionalGeneration"],
               "text_config": json.loads((saved / "config.json").read_text()),
               "vision_config": {"model_type": "gemma3n_vision"}, "audio_config": {"model_type": "gemma3n_audio"}}
    (tmp_path / "config.json").write_text(json.dumps(wrapper))

    published = load_pretrained(tmp_path).model
    assert published.spec.altup.num_inputs == 3
    assert_one_forward_matches(reference, published, input_ids)
