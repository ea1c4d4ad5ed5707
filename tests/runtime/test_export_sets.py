"""An export writes its files as a set: all of them or none. What a killed export left in
a folder -- temporary files, or a committed set half renamed -- is finished or removed by
the next export into that folder (tests/ui/test_killed_app.py kills a real one)."""

import json

from app.files import COMMIT_SUFFIX, PARTIAL_SUFFIX, finish_interrupted_writes
from app.runtime.export import export, to_csv, to_json
from app.runtime.snapshot import ProfileSnapshot
from tests.runtime.snapshot_documents import snapshot_document


def test_an_export_leaves_its_files_and_nothing_else(tmp_path):
    snapshot = ProfileSnapshot.from_dict(snapshot_document())
    written = export(snapshot, tmp_path / "run.json", tmp_path / "run.csv", tmp_path / "run.trace.json")
    assert sorted(path.name for path in written) == ["run.csv", "run.json", "run.trace.json"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run.csv", "run.json", "run.trace.json"]
    assert (tmp_path / "run.json").read_text() == to_json(snapshot)


def test_the_next_export_removes_uncommitted_temporaries_and_completes_a_committed_set(tmp_path):
    old = ProfileSnapshot.from_dict(snapshot_document("old"))
    new = ProfileSnapshot.from_dict(snapshot_document("new"))
    (tmp_path / "run.json").write_text(to_json(new))  # renamed before the kill
    (tmp_path / "run.csv").write_text(to_csv(old))
    committed = tmp_path / f".run.csv.x1{PARTIAL_SUFFIX}"
    committed.write_text(to_csv(new))
    (tmp_path / f".run.json{COMMIT_SUFFIX}").write_text(json.dumps(
        {"renames": [[str(tmp_path / "gone"), str(tmp_path / "run.json")], [str(committed), str(tmp_path / "run.csv")]]}))
    stray = tmp_path / f".other.json.x2{PARTIAL_SUFFIX}"  # a set killed before its commit
    stray.write_text("{")

    export(new, tmp_path / "elsewhere.json")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["elsewhere.json", "run.csv", "run.json"]
    assert (tmp_path / "run.csv").read_bytes().decode() == to_csv(new)
    assert finish_interrupted_writes(tmp_path) == []
