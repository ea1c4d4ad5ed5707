"""Writing user files safely: to a temporary file beside the target, flushed to disk, then
renamed over it, so an interrupted write never leaves half a file where the old one was;
and a set of files (a profile's JSON, CSV and trace) written as all of them or none."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

# A temporary file's name ends so: whatever a killed write leaves behind is recognised (and
# removed) by the next write of a set into that folder, never mistaken for a user's file.
PARTIAL_SUFFIX = ".archscope-partial"
# A set's commit record: written once every file of the set is on disk, naming each
# temporary file and its target. Its presence means "finish these renames".
COMMIT_SUFFIX = ".archscope-commit"


def _write_synced(path: Path, text: str) -> Path:
    """`text` in a new temporary file beside `path`, on disk (fsynced) before this returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def _sync_folder(folder: Path) -> None:
    """Make the renames in `folder` durable: without it a crash can bring back the old names."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder cannot be opened on Windows; its renames are durable there
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def write_atomic(path: str | Path, text: str) -> Path:
    path = Path(path)
    temporary = _write_synced(path, text)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return path


def write_set_atomic(files: dict[Path, str]) -> list[Path]:
    """Every file of `files` (target -> text), or none of them: each is written to a
    temporary file and fsynced; then a commit record naming them all is written; then they
    are renamed over their targets one after the other, and the record removed. A write
    killed before the record leaves the old set (its temporary files are removed by
    `finish_interrupted_writes`); one killed after it is completed by that same call."""
    targets = [Path(path) for path in files]
    folders = sorted({target.parent for target in targets})
    for folder in folders:
        finish_interrupted_writes(folder)
    temporaries: list[Path] = []
    try:
        for target in targets:
            temporaries.append(_write_synced(target, files[target]))
        pairs = [[str(temporary.resolve()), str(target.resolve())] for temporary, target in zip(temporaries, targets)]
        record = folders[0] / f".{targets[0].name}{COMMIT_SUFFIX}"
        write_atomic(record, json.dumps({"renames": pairs}))
    except BaseException:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
        raise
    _finish(record)
    for folder in folders:
        _sync_folder(folder)
    return targets


def _finish(record: Path) -> None:
    """Carry out a commit record's renames (those not done yet), then remove it."""
    try:
        renames = [(Path(temporary), Path(target))
                   for temporary, target in json.loads(record.read_text(encoding="utf-8"))["renames"]]
    except (ValueError, KeyError, TypeError):
        record.unlink()  # unreadable: not one of ours, or its set was never committed whole
        return
    for temporary, target in renames:
        if temporary.exists():
            os.replace(temporary, target)
    record.unlink()


def finish_interrupted_writes(folder: str | Path) -> list[Path]:
    """Clean up after writes into `folder` that a crash or a kill interrupted: a committed
    set is completed, and every other temporary file is removed. The files removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    for record in sorted(folder.glob(f".*{COMMIT_SUFFIX}")):
        _finish(record)
    removed = []
    for temporary in sorted(folder.glob(f".*{PARTIAL_SUFFIX}")):
        temporary.unlink(missing_ok=True)
        removed.append(temporary)
    return removed
