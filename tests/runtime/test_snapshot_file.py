"""Reading a snapshot file the user chose: a valid one is returned as written; every broken
one is refused whole, with the file, the field path and what was expected; the app's reader
and the schema's reference validator (jsonschema) agree on what the schema says."""

import json

import jsonschema
import pytest

from app.resources import RESOURCES
from app.runtime import json_schema
from app.runtime.snapshot_file import MAX_SNAPSHOT_BYTES, SnapshotError, read_snapshot
from tests.runtime.malformed_snapshots import BROKEN, write_broken
from tests.runtime.snapshot_documents import snapshot_document

SCHEMA = json.loads((RESOURCES / "profile.schema.json").read_text())
# what the schema alone cannot say: per-layer lengths, the spec, the bounds, a sweep; and
# NaN, which JSON has not but Python's json reads, and jsonschema takes for a number
BEYOND_THE_SCHEMA = {"NaN time", "short layer_ms", "short kv_bytes", "missing mixer_ms", "routing of a layer it has not",
                     "no steps", "model layers disagree", "a spec that cannot be drawn",
                     "a sweep without its times", "huge step count", "huge layer count"}


def test_a_valid_snapshot_is_read_as_written(tmp_path):
    document = snapshot_document()
    jsonschema.validate(document, SCHEMA)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(document))
    assert read_snapshot(path) == document


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_snapshot_is_refused_naming_the_file_and_the_field(tmp_path, name):
    path = write_broken(tmp_path, name)
    with pytest.raises(SnapshotError) as refused:
        read_snapshot(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert BROKEN[name][1] in str(refused.value)
    if name not in BEYOND_THE_SCHEMA:  # the reference validator refuses it too
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(json.loads(path.read_text()), SCHEMA)


def test_a_file_past_the_size_bound_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as out:
        out.truncate(MAX_SNAPSHOT_BYTES + 2**20)  # sparse: nothing is written, nothing read
    with pytest.raises(SnapshotError, match=r"huge.json: the file is 201.0 MB; a snapshot is read up to 200 MB"):
        read_snapshot(path)


def test_every_problem_is_listed_up_to_a_bound(tmp_path):
    document = snapshot_document()
    for step in document["steps"]:
        step["wall_ms"] = -1
    path = tmp_path / "run.json"
    path.write_text(json.dumps(document))
    with pytest.raises(SnapshotError) as refused:
        read_snapshot(path)
    assert [f"steps[{i}].wall_ms: expected a number >= 0, found -1" in str(refused.value) for i in range(4)] == [True] * 4


def test_a_schema_keyword_the_reader_does_not_know_is_an_error_not_a_silent_pass():
    with pytest.raises(ValueError, match=r"steps: keywords \['maxItems'\] are not supported"):
        json_schema.problems({"steps": []}, {"properties": {"steps": {"type": "array", "maxItems": 3}}})
