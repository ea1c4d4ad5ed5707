"""The saved roofs: where they live, that they come back per device and thread count, that
a write is never half done, and that an unreadable file is named, not silently lost."""

import json
import os
from pathlib import Path

import pytest

from app.runtime import roofs_file
from app.runtime.roofs_file import RoofsFileError, config_dir, find_roofs, read_roofs_file, roofs_path, save_roofs
from app.spec.roofline import Roofs


def roofs(dtype="float32", threads=1, device="AMD EPYC", flops_per_s=80e9) -> Roofs:
    return Roofs(device, dtype, 20e9, flops_per_s, threads, "2026-01-01T00:00:00+00:00")


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ARCHSCOPE_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def test_the_environment_override_wins_then_the_platform_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSCOPE_CONFIG_DIR", str(tmp_path / "mine"))
    assert config_dir() == tmp_path / "mine"
    assert roofs_path() == tmp_path / "mine" / "roofs.json"
    monkeypatch.delenv("ARCHSCOPE_CONFIG_DIR")
    monkeypatch.setattr(roofs_file.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "archscope"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert config_dir() == Path.home() / ".config" / "archscope"
    monkeypatch.setattr(roofs_file.sys, "platform", "darwin")
    assert config_dir() == Path.home() / "Library" / "Application Support" / "ArchScope"
    monkeypatch.setattr(roofs_file.sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "roaming"))
    assert config_dir() == tmp_path / "roaming" / "ArchScope"


def test_roofs_come_back_per_device_dtype_and_thread_count(config):
    assert find_roofs("AMD EPYC", "float32", 1) is None  # nothing saved yet
    saved = save_roofs([roofs("float32", 1), roofs("bfloat16", 1, flops_per_s=2e9), roofs("float32", 2, flops_per_s=150e9)])
    assert saved.path == config / "roofs.json" and saved.note == ""
    save_roofs([Roofs("NVIDIA H100", "float16", 3e12, 7e14)])  # a second save keeps the first's entries
    assert find_roofs("AMD EPYC", "float32", 1) == roofs("float32", 1)
    assert find_roofs("AMD EPYC", "bfloat16", 1).flops_per_s == 2e9
    assert find_roofs("AMD EPYC", "float32", 2).flops_per_s == 150e9
    assert find_roofs("AMD EPYC", "float32", 4) is None  # another thread count is another calibration
    assert find_roofs("NVIDIA H100", "float16", 0).bandwidth_bytes_per_s == 3e12
    save_roofs([roofs("float32", 1, flops_per_s=90e9)])  # a recalibration replaces its own entry only
    assert find_roofs("AMD EPYC", "float32", 1).flops_per_s == 90e9
    assert find_roofs("AMD EPYC", "bfloat16", 1).flops_per_s == 2e9


def test_a_failed_write_leaves_the_previous_file_whole(config, monkeypatch):
    save_roofs([roofs("float32")])
    before = roofs_path().read_text()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(roofs_file.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_roofs([roofs("bfloat16")])
    assert roofs_path().read_text() == before
    assert os.listdir(config) == ["roofs.json"]  # the temporary file went too


@pytest.mark.parametrize("text, problem", [
    ("{not json", "not valid JSON"),
    (json.dumps({"schema": "someone.else/3", "devices": {}}), "not an ArchScope roofs file"),
    (json.dumps([1, 2]), "not an ArchScope roofs file"),
])
def test_an_unreadable_file_is_named_and_kept_aside_when_saving(config, text, problem):
    config.mkdir()
    roofs_path().write_text(text)
    with pytest.raises(RoofsFileError, match=problem) as raised:
        read_roofs_file()
    assert str(roofs_path()) in str(raised.value)
    saved = save_roofs([roofs()])
    assert str(roofs_path()) in saved.note and problem in saved.note and "roofs.json.unreadable" in saved.note
    assert (config / "roofs.json.unreadable").read_text() == text
    assert find_roofs("AMD EPYC", "float32", 1) == roofs()
