"""A safetensors model directory as hostile input: its index and files may only name
files inside the directory. An index entry that is absolute, climbs out with `..`, or a
shard that is a symlink to elsewhere, is refused naming the entry -- before any file is
opened -- and a `weight_map` that is not names to file names is named too."""

import json
import os

import pytest
import torch
from safetensors.torch import save_file

from app.weights import WeightsError
from app.weights.safetensors_dir import INDEX_NAME, SafetensorsDirectory, inside

from ..limited_cli import refusal_line, run_archscope

CONFIG = dict(model_type="llama", vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
              num_attention_heads=2, num_key_value_heads=2, rms_norm_eps=1e-5)


@pytest.fixture
def model_dir(tmp_path):
    """A model directory beside an outside folder holding a readable safetensors file."""
    outside = tmp_path / "outside"
    outside.mkdir()
    save_file({"model.embed_tokens.weight": torch.zeros(32, 16)}, outside / "secret.safetensors")
    directory = tmp_path / "model"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps(CONFIG))
    return directory


def _index(directory, weight_map):
    (directory / INDEX_NAME).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


@pytest.mark.parametrize("entry", ["../outside/secret.safetensors", "sub/../../outside/secret.safetensors",
                                   "ABSOLUTE"])
def test_an_index_entry_leading_outside_is_refused(model_dir, entry):
    entry = str(model_dir.parent / "outside" / "secret.safetensors") if entry == "ABSOLUTE" else entry
    _index(model_dir, {"model.embed_tokens.weight": entry})
    with pytest.raises(WeightsError) as caught:
        SafetensorsDirectory(model_dir)
    assert str(caught.value) == (f"{model_dir / INDEX_NAME}: weight_map: file {entry!r} is outside the model "
                                 f"directory {model_dir}; expected a file name inside it")


def test_an_index_entry_that_is_a_symlink_out_is_refused(model_dir):
    os.symlink(model_dir.parent / "outside" / "secret.safetensors", model_dir / "model-00001.safetensors")
    _index(model_dir, {"model.embed_tokens.weight": "model-00001.safetensors"})
    with pytest.raises(WeightsError, match=r"weight_map: .*model-00001\.safetensors leads to .*outside"
                                           r"/secret\.safetensors, outside the model directory"):
        SafetensorsDirectory(model_dir)


def test_a_single_file_that_is_a_symlink_out_is_refused(model_dir):
    os.symlink(model_dir.parent / "outside" / "secret.safetensors", model_dir / "model.safetensors")
    with pytest.raises(WeightsError, match=r"model\.safetensors leads to .*outside/secret\.safetensors, outside the "
                                           "model directory"):
        SafetensorsDirectory(model_dir)


def test_a_symlink_inside_the_directory_still_loads(model_dir):
    save_file({"model.embed_tokens.weight": torch.ones(32, 16)}, model_dir / "real.safetensors")
    os.symlink("real.safetensors", model_dir / "model.safetensors")
    assert SafetensorsDirectory(model_dir).get("model.embed_tokens.weight").sum() == 32 * 16


def test_the_hub_cache_layout_of_snapshot_links_to_blobs_loads(tmp_path):
    repository = tmp_path / "models--org--name"
    (repository / "blobs").mkdir(parents=True)
    snapshot = repository / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    save_file({"model.embed_tokens.weight": torch.ones(4, 4)}, repository / "blobs" / "f00d")
    os.symlink("../../blobs/f00d", snapshot / "model.safetensors")
    assert inside(snapshot, "model.safetensors", "test") == snapshot / "model.safetensors"
    assert SafetensorsDirectory(snapshot).names() == ["model.embed_tokens.weight"]


@pytest.mark.parametrize("weight_map, found", [
    (["model.safetensors"], "found a list"),
    ({"model.embed_tokens.weight": 3}, "found an entry 'model.embed_tokens.weight': 3"),
    (None, "found nothing"),
])
def test_a_weight_map_that_is_not_names_to_files_is_named(model_dir, weight_map, found):
    _index(model_dir, weight_map)
    with pytest.raises(WeightsError, match=f"{INDEX_NAME}: expected a JSON object whose 'weight_map' maps tensor "
                                           f"names to file names \\(strings\\), {found}"):
        SafetensorsDirectory(model_dir)


def test_an_index_nested_too_deeply_is_named(model_dir):
    (model_dir / INDEX_NAME).write_text('{"weight_map": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(WeightsError, match="not valid JSON: nested too deeply"):
        SafetensorsDirectory(model_dir)


def test_the_cli_refuses_an_index_leading_outside_in_one_line(model_dir):
    _index(model_dir, {"model.embed_tokens.weight": "../outside/secret.safetensors"})
    line = refusal_line(run_archscope("profile", "--model", str(model_dir), "--device", "cpu",
                                      "--max-new-tokens", "1"))
    assert "weight_map: file '../outside/secret.safetensors' is outside the model directory" in line
