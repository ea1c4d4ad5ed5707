"""The user's saved roofs: one JSON file in ArchScope's configuration folder, holding each
calibrated device's roofs per dtype, keyed by the device and the thread count it used.

Pure Python (no torch, no Qt): the window may ask whether a device is calibrated without
loading torch. The micro-benchmarks that fill it live in app/runtime/calibrate.py.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..files import write_atomic
from ..spec.roofline import Roofs

ROOFS_SCHEMA = "archscope.roofs/1"
ROOFS_FILE_NAME = "roofs.json"


class RoofsFileError(ValueError):
    """The roofs file exists but is not one ArchScope can read: the message names it."""


@dataclass(frozen=True)
class SavedRoofs:
    path: Path  # the file written
    note: str = ""  # said to the user when an unreadable file had to be set aside first


def config_dir() -> Path:
    """ArchScope's configuration folder: $ARCHSCOPE_CONFIG_DIR when set (tests point it at
    a temporary folder), else the platform's usual place for a user's settings."""
    override = os.environ.get("ARCHSCOPE_CONFIG_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "ArchScope"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "ArchScope"
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "archscope"


def roofs_path() -> Path:
    return config_dir() / ROOFS_FILE_NAME


def device_key(device_name: str, threads: int) -> str:
    """One calibration's key: a CPU's rates depend on how many threads share the work, so
    each thread count is its own entry; a GPU (threads 0) is keyed by its name alone."""
    if threads <= 0:
        return device_name
    return f"{device_name} ({threads} thread{'s' if threads != 1 else ''})"


def read_roofs_file(path: Path | None = None) -> dict[str, dict[str, Roofs]]:
    """Every saved calibration, {device key: {dtype: Roofs}}; {} when there is no file yet.
    RoofsFileError naming the file when it is not valid JSON or not an ArchScope roofs file."""
    path = path or roofs_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise RoofsFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise RoofsFileError(f"{path}: not valid JSON ({error})") from None
    found = document.get("schema") if isinstance(document, dict) else type(document).__name__
    if found != ROOFS_SCHEMA:
        raise RoofsFileError(f"{path}: not an ArchScope roofs file (schema {found!r}, expected {ROOFS_SCHEMA!r})")
    devices = document.get("devices")
    if not isinstance(devices, dict):
        raise RoofsFileError(f"{path}: the 'devices' section is missing or not an object")
    saved: dict[str, dict[str, Roofs]] = {}
    for key, by_dtype in devices.items():
        try:
            saved[key] = {dtype: Roofs.from_dict(fields) for dtype, fields in by_dtype.items()}
        except (AttributeError, KeyError, TypeError) as error:
            raise RoofsFileError(f"{path}: devices[{key!r}] is not a set of roofs per dtype ({error})") from None
    return saved


def find_roofs(device_name: str, dtype: str, threads: int, path: Path | None = None) -> Roofs | None:
    """The saved roofs of this device, dtype and thread count, or None when never calibrated."""
    return read_roofs_file(path).get(device_key(device_name, threads), {}).get(dtype)


def save_roofs(roofs: Iterable[Roofs], path: Path | None = None) -> SavedRoofs:
    """Add these roofs to the file (replacing the same device, thread count and dtype),
    written atomically: a temporary file beside it, then renamed over it, so a crash never
    leaves half a file. A file that cannot be read is not lost: it is renamed to
    roofs.json.unreadable and the returned note says so."""
    path = path or roofs_path()
    note = ""
    try:
        saved = read_roofs_file(path)
    except RoofsFileError as problem:
        aside = path.with_name(path.name + ".unreadable")
        os.replace(path, aside)
        note = f"{problem}; it was kept as {aside} and a new {path.name} written"
        saved = {}
    for roof in roofs:
        saved.setdefault(device_key(roof.device, roof.threads), {})[roof.dtype] = roof
    document = {"schema": ROOFS_SCHEMA, "devices": {
        key: {dtype: roof.to_dict() for dtype, roof in sorted(by_dtype.items())}
        for key, by_dtype in sorted(saved.items())}}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(document, indent=2) + "\n")
    return SavedRoofs(path, note)
