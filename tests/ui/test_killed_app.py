"""The app killed with SIGKILL loses nothing: an edit made a moment before is offered back
at the next start, continuous editing too; an export killed midway leaves the old set of
files or the new one, whole, and no temporary files once the app has started again.

Each test runs the real app in a process of its own (tests/ui/app_process.py) with its
settings and data in the test's folder; its timers are the app's own, never called by hand.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.runtime.export import to_chrome_trace, to_csv, to_json
from app.runtime.snapshot import ProfileSnapshot
from app.spec import catalog
from app.spec.serialize import spec_to_dict
from tests.runtime.snapshot_documents import snapshot_document

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120  # a cold start on a busy two-core machine
AUTOSAVE_TIMEOUT_S = 10  # far above the schedule's 1.5 s bound


class AppProcess:
    def __init__(self, home: Path, *args: str):
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1",
                   XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
                   XDG_CACHE_HOME=str(home / "cache"))
        self.process = subprocess.Popen([sys.executable, "-m", "tests.ui.app_process", *args], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def next_event(self, timeout_s: float = START_TIMEOUT_S) -> dict:
        """The next line the app printed (readline blocks: the timeout is the app's own start)."""
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout_s)
            raise AssertionError(f"the app ended without a word: {self.process.stderr.read()[-3000:]}")
        return json.loads(line)

    def wait_for(self, event: str) -> dict:
        while (found := self.next_event())["event"] != event:
            pass
        return found

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self.process.stdout.close()
        self.process.stderr.close()


def started(home: Path) -> dict:
    """Start the app, read what it offered back at its start, and let it end."""
    app = AppProcess(home, "report")
    report = app.wait_for("started")
    assert app.process.wait(START_TIMEOUT_S) == 0, app.process.stderr.read()[-3000:]
    return report


def wait_for_file(pattern: str, home: Path) -> Path:
    deadline = time.monotonic() + AUTOSAVE_TIMEOUT_S
    while time.monotonic() < deadline:
        found = sorted(home.glob(pattern))
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no {pattern} under {home} after {AUTOSAVE_TIMEOUT_S} s")


@pytest.mark.slow
def test_one_edit_then_sigkill_is_offered_back_at_the_next_start(tmp_path):
    drawn = spec_to_dict(catalog.get("llama3-8b"))
    app = AppProcess(tmp_path, "edit", "1", "0")
    assert app.wait_for("started")["spec"] == drawn
    edited = app.wait_for("edited")
    assert edited["refused"] is None and edited["spec"] != drawn
    wait_for_file("data/**/autosave.json", tmp_path)  # the app's own timer wrote it
    app.kill()

    report = started(tmp_path)
    assert len(report["offered"]) == 1 and "unsaved edits" in report["offered"][0]
    assert report["spec"] == edited["spec"] and report["modified"]


@pytest.mark.slow
def test_twenty_quick_edits_then_sigkill_without_a_pause_are_offered_back(tmp_path):
    app = AppProcess(tmp_path, "edit", "20", "100")
    drawn = app.wait_for("started")["spec"]
    states = [app.wait_for("edited") for _ in range(20)]
    assert all(state["refused"] is None for state in states)
    app.kill()  # 100 ms after the last edit: the 800 ms pause never came

    report = started(tmp_path)
    assert report["offered"] and report["modified"]
    assert report["spec"] != drawn and report["spec"] in [state["spec"] for state in states]


def expected_files(document: dict) -> dict[str, str]:
    snapshot = ProfileSnapshot.from_dict(document)
    return {"run.json": to_json(snapshot), "run.csv": to_csv(snapshot), "run.trace.json": to_chrome_trace(snapshot)}


def folder_files(folder: Path) -> dict[str, str]:
    return {path.name: path.read_bytes().decode() for path in folder.iterdir()
            if path.name.startswith(".") or path.suffix in (".json", ".csv")}


@pytest.mark.slow
@pytest.mark.parametrize("stop, survivor", [("fsync", "old"), ("rename", "new")])
def test_an_export_killed_midway_leaves_one_whole_set_after_the_next_start(tmp_path, stop, survivor):
    """Killed while writing (before every file was on disk): the old set stays. Killed
    between two renames: the next start completes the new set."""
    old, new = snapshot_document("old-run"), snapshot_document("new-run", decode_steps=5)
    folder = tmp_path / "exports"
    folder.mkdir()
    for name, text in expected_files(old).items():
        (folder / name).write_bytes(text.encode())
    snapshot = tmp_path / "new.json"
    snapshot.write_text(json.dumps(new))

    app = AppProcess(tmp_path, "export", str(snapshot), str(folder), stop)
    assert app.wait_for("hanging")["at"] == stop
    assert any(name.startswith(".") for name in os.listdir(folder))  # temporaries, mid-export
    app.kill()

    started(tmp_path)
    assert folder_files(folder) == expected_files(old if survivor == "old" else new)
