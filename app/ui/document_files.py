"""The document's files, without a dialog: a spec file or a Hub repository's config.json read
into a spec, the document saved, the recent-files list and the autosave. The window asks
the user and shows what went wrong; the reading and writing happen here."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

from ..files import write_atomic
from ..spec import ArchSpec, SpecError
from ..spec.serialize import spec_from_dict, spec_to_dict, spec_to_json
from ..spec.spec_file import spec_from_file
from .document import SpecDocument

AUTOSAVE_NAME = "autosave.json"
MAX_RECENT = 8


class FileRefused(Exception):
    """A file or repository that cannot be opened; its text is the whole message for the user."""


def data_dir() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.AppDataLocation) or Path.home() / ".archscope")


def open_spec_file(path: str | Path) -> tuple[ArchSpec, Path | None]:
    """The spec in a spec document or an HF config.json, and the path the document saves
    back to: the file itself for a spec document, none for a config (Save must not
    overwrite a config.json with a spec)."""
    path = Path(path)
    try:
        spec, is_document = spec_from_file(path)
    except (OSError, SpecError) as error:
        raise FileRefused(f"Could not open {path}:\n{error}") from None
    return spec, path if is_document else None


def spec_from_hub(repo_id: str) -> ArchSpec:
    """A Hub repository's architecture, from its config.json alone (from the local cache
    when HF_HUB_OFFLINE is set); `repo_id` is org/name, optionally @revision."""
    from ..spec.hf import spec_from_hf_config
    from ..weights.errors import WeightsError
    from ..weights.hub import fetch_config, looks_like_repo_id

    if not looks_like_repo_id(repo_id):
        raise FileRefused(f"Repository id: expected org/name, got {repo_id!r}")
    try:
        return spec_from_hf_config(fetch_config(repo_id), name=repo_id.partition("@")[0])
    except (WeightsError, SpecError) as error:
        raise FileRefused(f"Could not import {repo_id}:\n{error}") from None


def save_document(document: SpecDocument, path: str | Path) -> Path:
    """Write the spec to `path` (atomically); the document is then that file's, unmodified."""
    path = Path(path)
    write_atomic(path, spec_to_json(document.spec))
    document.path = path
    document.undo_stack.setClean()
    return path


def recent_files(settings: QSettings) -> list[str]:
    value = settings.value("recentFiles", [])
    return [value] if isinstance(value, str) else list(value or [])  # QSettings gives one entry as a string


def add_recent_file(settings: QSettings, path: Path) -> None:
    recent = [str(path)] + [p for p in recent_files(settings) if p != str(path)]
    settings.setValue("recentFiles", recent[:MAX_RECENT])


def write_autosave(path: Path, document: SpecDocument) -> None:
    payload = {"archscope_autosave": 1, "path": str(document.path or ""), "spec": spec_to_dict(document.spec)}
    write_atomic(path, json.dumps(payload, indent=1))


def read_autosave(path: Path) -> tuple[ArchSpec, Path | None] | None:
    """The autosaved spec and the file it was opened from; None when there is none or it
    cannot be read (a damaged autosave is not worth a dialog)."""
    try:
        payload = json.loads(path.read_text())
        spec = spec_from_dict(payload["spec"])
    except (OSError, ValueError, KeyError, TypeError, SpecError):
        return None
    return spec, Path(payload["path"]) if payload.get("path") else None
