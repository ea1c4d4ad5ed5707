"""Loading a local Hugging Face directory: sharded or not, any float dtype, and clear
errors for what is missing or mis-shaped."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from app.weights import WeightsError, load_pretrained

from ..parity.reference import reference_logits, save_reference

QWEN3 = dict(model_type="qwen3", vocab_size=91, hidden_size=36, intermediate_size=60, num_hidden_layers=3,
             num_attention_heads=6, num_key_value_heads=3, head_dim=10, tie_word_embeddings=False)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    directory = tmp_path_factory.mktemp("qwen3")
    return directory, save_reference(QWEN3, directory)


def test_sharded_checkpoint_loads_and_matches(tmp_path):
    reference = save_reference(QWEN3, tmp_path, shard_bytes="20KB")
    assert (tmp_path / "model.safetensors.index.json").is_file()
    assert len(list(tmp_path.glob("*.safetensors"))) > 1
    ids = torch.randint(0, 91, (2, 7))
    with torch.no_grad():
        torch.testing.assert_close(load_pretrained(tmp_path).model(ids), reference_logits(reference, ids), atol=1e-4,
                                   rtol=0)


def test_sharded_bf16_checkpoint_from_transformers_loads_and_matches(tmp_path):
    reference = save_reference(QWEN3, tmp_path, shard_bytes="20KB", dtype=torch.bfloat16)
    assert len(list(tmp_path.glob("*.safetensors"))) > 1
    ours = load_pretrained(tmp_path, dtype=torch.bfloat16).model
    assert ours.lm_head.weight.dtype == torch.bfloat16
    ids = torch.randint(0, 91, (2, 7))
    with torch.no_grad():
        # Same bf16 weights; bf16 arithmetic differs in rounding order, hence the looser bound.
        torch.testing.assert_close(ours(ids).float(), reference_logits(reference, ids).float(), atol=3e-2, rtol=0)


@pytest.mark.parametrize("stored", [torch.bfloat16, torch.float16])
def test_half_precision_checkpoints_load_into_any_dtype(tmp_path, saved, stored):
    source, reference = saved
    (tmp_path / "config.json").write_text((source / "config.json").read_text())
    tensors = {name: tensor.to(stored) for name, tensor in load_file(source / "model.safetensors").items()}
    save_file(tensors, tmp_path / "model.safetensors")
    loaded = load_pretrained(tmp_path, dtype=torch.float32).model
    # Exactly the stored values, widened.
    assert torch.equal(loaded.layers[0].mixer.q_proj.weight, tensors["model.layers.0.self_attn.q_proj.weight"].float())
    as_stored = load_pretrained(tmp_path, dtype=stored).model
    assert as_stored.lm_head.weight.dtype == stored


def _copy_without(source, destination, drop=None, reshape=None):
    (destination / "config.json").write_text((source / "config.json").read_text())
    tensors = load_file(source / "model.safetensors")
    if drop:
        del tensors[drop]
    if reshape:
        tensors[reshape] = tensors[reshape][:-1].contiguous()
    save_file(tensors, destination / "model.safetensors")


def test_a_missing_tensor_is_named_with_its_expected_shape(tmp_path, saved):
    _copy_without(saved[0], tmp_path, drop="model.layers.2.self_attn.k_norm.weight")
    with pytest.raises(WeightsError, match=r"missing tensors: model\.layers\.2\.self_attn\.k_norm\.weight "
                                           r"\(expected shape \[10\]\)"):
        load_pretrained(tmp_path)


def test_a_mis_shaped_tensor_is_named_with_both_shapes(tmp_path, saved):
    _copy_without(saved[0], tmp_path, reshape="model.layers.1.mlp.up_proj.weight")
    with pytest.raises(WeightsError, match=r"model\.layers\.1\.mlp\.up_proj\.weight has shape \[59, 36\], "
                                           r"expected \[60, 36\]"):
        load_pretrained(tmp_path)


def test_pickled_weights_are_refused(tmp_path, saved):
    (tmp_path / "config.json").write_text((saved[0] / "config.json").read_text())
    (tmp_path / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(WeightsError, match="pickled .bin weights are not loaded"):
        load_pretrained(tmp_path)


def test_a_bad_config_names_the_file_and_the_key(tmp_path, saved):
    config = json.loads((saved[0] / "config.json").read_text())
    config["num_key_value_heads"] = 4  # does not divide 6 heads
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightsError, match=r"config\.json: .*num_kv_heads: 4 does not divide num_heads 6"):
        load_pretrained(tmp_path)


def test_a_truncated_safetensors_file_is_rejected(tmp_path, saved):
    (tmp_path / "config.json").write_text((saved[0] / "config.json").read_text())
    data = (saved[0] / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="model.safetensors"):
        load_pretrained(tmp_path)
