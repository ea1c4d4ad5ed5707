"""Hugging Face Hub repositories: fetch only what loading needs, through the local cache.

Only configs, safetensors and tokenizer files are downloaded -- never pickled `.bin`
weights or Python files. With HF_HUB_OFFLINE=1 nothing is fetched: a repository already
in the cache loads from there, and one that is not is a clear error.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

from .errors import WeightsError
from .progress import Progress

ALLOW_PATTERNS = [
    "config.json", "generation_config.json",
    "*.safetensors", "model.safetensors.index.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
]
# "org/name" or a bare "name", optionally "@revision"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?(@[\w./-]+)?$")


def looks_like_repo_id(source: str) -> bool:
    return bool(_REPO_ID.match(source)) and not source.endswith(".gguf") and ".." not in source


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _progress_bar(progress: Progress):
    """A tqdm class that forwards the download's byte count to a callback (the UI's)."""
    from huggingface_hub.utils import tqdm

    class CallbackBar(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True  # the UI draws its own bar
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            result = super().update(n)
            if self.total:
                progress(int(self.n), int(self.total))
            return result

    return CallbackBar


def fetch_config(source: str) -> dict:
    """A Hub repository's config.json ("org/name[@revision]"), and nothing else: what the
    canvas needs to draw the architecture. Errors as download's."""
    import json

    from huggingface_hub import hf_hub_download

    repo_id, _, revision = source.partition("@")
    with _hub_errors(source):
        path = hf_hub_download(repo_id, "config.json", revision=revision or None,
                               cache_dir=os.environ.get("HF_HUB_CACHE") or None, local_files_only=offline())
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise WeightsError(f"{source}: config.json cannot be read: {reason}") from None


@contextmanager
def _hub_errors(source: str):
    """The Hub client's exceptions as WeightsError naming the repository."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    try:
        yield
    except LocalEntryNotFoundError:
        if offline():
            raise WeightsError(f"{source}: not in the local Hugging Face cache, and HF_HUB_OFFLINE is set so "
                               "nothing is downloaded (unset it, or pass a local directory or .gguf file)") from None
        raise WeightsError(f"{source}: cannot reach the Hugging Face Hub and the repository is not cached") from None
    except RepositoryNotFoundError:
        raise WeightsError(f"{source}: no such repository on the Hugging Face Hub (or it is private)") from None
    except EntryNotFoundError:
        raise WeightsError(f"{source}: the repository has no config.json") from None
    except (HfHubHTTPError, OSError, ValueError) as error:
        raise WeightsError(f"{source}: download failed: {error}") from None


def download(source: str, progress: Progress | None = None) -> Path:
    """The local snapshot folder of a Hub repository ("org/name[@revision]"). Without a
    callback, huggingface_hub draws its own progress bars on stderr (the CLI's)."""
    from huggingface_hub import snapshot_download

    repo_id, _, revision = source.partition("@")
    with _hub_errors(source):
        folder = snapshot_download(
            repo_id, revision=revision or None, allow_patterns=ALLOW_PATTERNS,
            cache_dir=os.environ.get("HF_HUB_CACHE") or None,
            local_files_only=offline(),
            tqdm_class=_progress_bar(progress) if progress is not None else None,
        )
    return Path(folder)
