"""A spec JSON document as hostile input: sizes past any real model, numbers that are not
finite, nesting that would exhaust the stack -- each refused with a SpecError naming the
field and the bound, and by the CLI with exit code 2 and no traceback."""

import json

import pytest

from app.cli import main
from app.spec import SpecError, catalog
from app.spec.limits import MAX_LAYERS, MAX_VOCABULARY, MAX_WIDTH
from app.spec.serialize import spec_from_dict, spec_from_json, spec_to_dict

from ..limited_cli import refusal_line, run_archscope


def _document(name="llama3-8b", scale="explore"):
    return spec_to_dict(catalog.get(name, scale))


@pytest.mark.parametrize("field, value, expected", [
    ("d_model", 10**400, f"d_model: about 2**1328 exceeds the bound of {MAX_WIDTH:,} on a width"),
    ("vocab_size", 10**12, f"vocab_size: 1,000,000,000,000 exceeds the bound of {MAX_VOCABULARY:,}"),
    ("vocab_size", 2**1400, "vocab_size: about 2**1400 exceeds the bound"),
    ("final_logit_softcap", float("nan"), "final_logit_softcap: must be a finite number, found nan"),
    ("output_logit_scale", float("inf"), "output_logit_scale: must be a finite number, found inf"),
    ("final_logit_softcap", 10**400, "final_logit_softcap: must be a finite number, found an integer of 1329 bits"),
])
def test_out_of_bound_numbers_are_named_with_the_bound(field, value, expected):
    document = _document()
    document[field] = value
    with pytest.raises(SpecError) as caught:
        spec_from_dict(document)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems


def test_a_layer_field_past_its_bound_is_named_at_its_path():
    document = _document()
    document["layers"][2]["mixer"]["num_heads"] = 2**62
    with pytest.raises(SpecError, match=r"layers\[2\]\.mixer\.num_heads: about 2\*\*62 exceeds the bound of 16,384"):
        spec_from_dict(document)


@pytest.mark.parametrize("field, value, expected", [
    ("num_heads", 0, "layers[1].mixer.num_heads: must be positive, found 0"),
    ("qk_head_dim", 2**40, "layers[1].mixer.qk_head_dim: 1,099,511,627,776 exceeds the bound of 1,048,576"),
    ("v_head_dim", -4, "layers[1].mixer.v_head_dim: must be positive, found -4"),
    ("gate_soft_cap", -15.0, "layers[1].mixer.gate_soft_cap: must be zero or positive, found -15.0"),
    ("gate_soft_cap", float("inf"), "layers[1].mixer.gate_soft_cap: must be a finite number, found inf"),
    ("eps", 0.0, "layers[1].mixer.eps: must be positive, found 0.0"),
    ("chunk_size", 0, "layers[1].mixer.chunk_size: must be positive, found 0"),
])
def test_an_mlstm_field_is_refused_at_its_path(field, value, expected):
    """xLSTM 7B's mixer: each field's rule, named where the document breaks it."""
    document = _document("xlstm-7b")
    document["layers"][1]["mixer"][field] = value
    with pytest.raises(SpecError) as caught:
        spec_from_dict(document)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems


def test_too_many_layers_are_refused_before_any_is_decoded():
    document = _document()
    document["layers"] = [document["layers"][0]] * (MAX_LAYERS + 1)
    with pytest.raises(SpecError, match=f"layers: 10,001 layers exceed the limit of {MAX_LAYERS:,}"):
        spec_from_dict(document)


def test_nesting_deeper_than_any_spec_is_a_spec_error():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(SpecError, match="not valid JSON"):
        spec_from_json(deep)
    document = _document()
    nested: list = []
    for _ in range(10_000):
        nested = [nested]
    document["notes"] = nested
    with pytest.raises(SpecError, match="nested more than 64 levels deep"):
        spec_from_dict(document)


def test_the_cli_refuses_a_deep_spec_file_in_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"schema": "archscope.spec/1", "layers": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert f"{path}: not valid JSON: nested too deeply" in refusal_line(run_archscope("show", str(path)))


def test_the_cli_names_the_file_and_the_field(tmp_path, capsys):
    document = _document()
    document["d_model"] = 10**400
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(document))
    assert main(["show", str(path)]) == 2
    assert capsys.readouterr().err.strip() == \
        f"archscope: {path}: d_model: about 2**1328 exceeds the bound of {MAX_WIDTH:,} on a width"


def test_a_name_with_terminal_escapes_is_shown_escaped(tmp_path, capsys):
    document = _document("gpt2-small")
    document["name"] = "evil\x1b[2J\x1b]0;owned\x07"
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(document))
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert out.splitlines()[0].startswith(r"evil\x1b[2J\x1b]0;owned\x07 [")
