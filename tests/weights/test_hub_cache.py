"""Hub repository ids load from the local Hugging Face cache when offline; a repository
that is not cached is a clear error, never a hang or a traceback from the Hub client."""

import json

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers

from app.weights import WeightsError, load_pretrained
from app.weights.hub import looks_like_repo_id

from ..parity.reference import reference_logits, save_reference

LLAMA = dict(model_type="llama", vocab_size=67, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)
REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """A cache laid out as huggingface_hub writes it: models--org--name/snapshots/<rev>/...
    and refs/main naming the revision."""
    repo = tmp_path / "models--tiny-org--tiny-llama"
    snapshot = repo / "snapshots" / REVISION
    snapshot.mkdir(parents=True)
    reference = save_reference(LLAMA, snapshot)
    backend = Tokenizer(models.WordLevel({"hello": 0, "world": 1, "<unk>": 2}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.save(str(snapshot / "tokenizer.json"))
    (snapshot / "tokenizer_config.json").write_text(json.dumps({"eos_token": "world"}))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REVISION)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return reference


def test_a_cached_repository_loads_by_id_offline(hub_cache):
    loaded = load_pretrained("tiny-org/tiny-llama")
    assert loaded.source == "tiny-org/tiny-llama"
    ids = torch.randint(0, 67, (1, 9))
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(ids), reference_logits(hub_cache, ids), atol=1e-4, rtol=0)
    assert loaded.tokenizer.encode("hello world") == [0, 1]
    assert loaded.tokenizer.eos_token_ids == (1,)


def test_a_revision_can_be_named(hub_cache):
    assert load_pretrained(f"tiny-org/tiny-llama@{REVISION}").spec.num_layers == 2


def test_offline_and_not_cached_is_a_clear_error(hub_cache):
    with pytest.raises(WeightsError, match=r"other-org/absent: not in the local Hugging Face cache, and "
                                           r"HF_HUB_OFFLINE is set"):
        load_pretrained("other-org/absent")


def test_sources_that_are_neither_paths_nor_repo_ids():
    assert looks_like_repo_id("HuggingFaceTB/SmolLM2-135M") and looks_like_repo_id("gpt2")
    assert not looks_like_repo_id("../weights") and not looks_like_repo_id("a/b/c")
    with pytest.raises(WeightsError, match=r"missing\.gguf: no such GGUF file"):
        load_pretrained("missing.gguf")
    with pytest.raises(WeightsError, match="expected a local Hugging Face model directory"):
        load_pretrained("not a/valid source!")
