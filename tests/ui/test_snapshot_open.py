"""Profile > Open snapshot with a broken file: a dialog names the file and the field, and
the window is as it was -- the run it showed is still shown, and Export still writes it."""

import json

import pytest
from PySide6.QtWidgets import QMessageBox

from tests.runtime.malformed_snapshots import BROKEN, write_broken
from tests.runtime.snapshot_documents import snapshot_document


@pytest.fixture
def dialogs(monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text, *args: shown.append(text))
    return shown


def test_broken_snapshots_are_refused_and_the_shown_run_still_exports(open_window, dialogs, tmp_path):
    window = open_window("qwen3-0.6b")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(snapshot_document("good-run")))
    assert window.open_snapshot(good) and not dialogs
    shown = window.runs.snapshot
    for name in BROKEN:
        path = write_broken(tmp_path, name)
        assert not window.open_snapshot(path), name
        assert dialogs[-1].startswith(f"Could not open the snapshot:\n{path}: "), name
        assert BROKEN[name][1] in dialogs[-1], name
        assert window.runs.snapshot is shown and window.runs.record.model["name"] == "good-run", name
    assert len(dialogs) == len(BROKEN)

    written = window.export_profile(tmp_path / "export")
    assert {path.name for path in written} >= {"good-run.json", "good-run.csv", "good-run.trace.json"}
    assert json.loads((tmp_path / "export" / "good-run.json").read_text())["model"]["name"] == "good-run"
    assert window.document.spec.name == "good-run"  # the canvas kept the good run's architecture
