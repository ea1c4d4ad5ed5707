"""Refusing before allocating: a build, a weights load or a cache that needs more memory
than the device has free is refused with both figures, before any tensor is made -- so a
valid but enormous spec ends in one line, not in the operating system's OOM killer."""

import json
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import save_file

from app.model import build_model
from app.model import memory_fit
from app.model.memory_fit import NotEnoughMemory
from app.units import decimal_bytes
from app.runtime.session import Session
from app.spec import catalog
from app.spec.limits import MAX_VOCABULARY, MAX_WIDTH
from app.spec.serialize import spec_to_dict
from app.weights import load_pretrained

from ..limited_cli import refusal_line, run_archscope

FREE_BYTES = 21 * 10**9


@pytest.fixture
def machine_with_21_gb_free(monkeypatch):
    monkeypatch.setattr(memory_fit.psutil, "virtual_memory", lambda: SimpleNamespace(available=FREE_BYTES))


def _huge_spec_document() -> dict:
    """Valid, within every bound, and far larger than any machine: 2**24 x 2**20 embeddings."""
    document = spec_to_dict(catalog.get("llama3-8b", "explore"))
    document.update(name="enormous", vocab_size=MAX_VOCABULARY, d_model=MAX_WIDTH)
    return document


def test_deepseek_v3_as_drawn_is_refused_with_both_figures(machine_with_21_gb_free):
    with pytest.raises(NotEnoughMemory) as caught:
        Session.from_arch(catalog.get("deepseek-v3", "full"), "full", device="cpu", dtype="bfloat16")
    assert str(caught.value) == ("deepseek-v3 with random weights (671B parameters) in bfloat16 "
                                 "needs 1.34 TB; this machine has 21.0 GB free")


def test_a_cache_too_large_is_refused_before_it_is_made(machine_with_21_gb_free):
    model = build_model(catalog.get("llama3-8b", "explore"))
    with pytest.raises(NotEnoughMemory, match=r"the cache of llama3-8b .* for 64 x 10,000,000 tokens in float32 "
                                              r"needs .* TB; this machine has 21.0 GB free"):
        model.new_cache(64, 10_000_000)
    assert model.new_cache(1, 16).position == 0  # a cache that fits is made as before


def test_a_weights_directory_too_large_is_refused_before_the_empty_model(tmp_path, machine_with_21_gb_free):
    config = dict(model_type="llama", vocab_size=MAX_VOCABULARY, hidden_size=8192, intermediate_size=64,
                  num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, rms_norm_eps=1e-5)
    (tmp_path / "config.json").write_text(json.dumps(config))
    save_file({"model.embed_tokens.weight": torch.zeros(2, 2)}, tmp_path / "model.safetensors")
    with pytest.raises(NotEnoughMemory, match=r"\(275B parameters\) in float32 needs 1.10 TB; this machine has "
                                              r"21.0 GB free"):
        load_pretrained(tmp_path)


def test_bytes_read_like_the_message():
    assert [decimal_bytes(n) for n in (512, 21 * 10**9, 1_340_000_000_000, 3 * 10**18)] == \
        ["512 B", "21.0 GB", "1.34 TB", "3,000 PB"]


def test_the_cli_refuses_an_enormous_spec_before_allocating(tmp_path):
    path = tmp_path / "enormous.json"
    path.write_text(json.dumps(_huge_spec_document()))
    line = refusal_line(run_archscope("profile", "--arch", str(path), "--device", "cpu", "--max-new-tokens", "1"))
    assert "archscope: enormous with random weights" in line and "B free" in line


def test_the_cli_refuses_an_enormous_weights_directory_before_allocating(tmp_path):
    config = dict(model_type="llama", vocab_size=MAX_VOCABULARY, hidden_size=MAX_WIDTH, intermediate_size=64,
                  num_hidden_layers=1, num_attention_heads=8, num_key_value_heads=8, rms_norm_eps=1e-5)
    (tmp_path / "config.json").write_text(json.dumps(config))
    save_file({"model.embed_tokens.weight": torch.zeros(2, 2)}, tmp_path / "model.safetensors")
    line = refusal_line(run_archscope("profile", "--model", str(tmp_path), "--device", "cpu", "--max-new-tokens", "1"))
    assert "in float32 needs" in line and "B free" in line


def test_a_run_whose_batch_cannot_fit_is_refused_before_its_inputs_are_made(machine_with_21_gb_free):
    from app.runtime.session import RunConfig

    session = Session.from_arch("llama3-8b", "explore", device="cpu")
    with pytest.raises(NotEnoughMemory, match="the cache of llama3-8b .* for 1,000,000,000 x 36 tokens"):
        session.run(RunConfig(prompt="four", max_new_tokens=32, batch=10**9, probe=False))
