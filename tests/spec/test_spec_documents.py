"""Spec JSON and HF config dicts as untrusted input: round trips are exact, and anything
malformed is rejected with a SpecError whose every problem names its field."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.spec import SpecError, catalog
from app.spec.hf import hf_config_from_spec, spec_from_hf_config
from app.spec.serialize import spec_from_dict, spec_from_json, spec_to_dict, spec_to_json

# Hostile numbers included: integers far past float's range (2**1400), NaN and infinities,
# which Python's json module reads from `NaN` and `Infinity`.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.integers(-2**1400, 2**1400)
    | st.sampled_from([10**9, 2**62, 10**400, -10**400]) | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
SAMPLE_NAMES = ["gpt2-small", "llama3-8b"] + [n for n in ("gemma3-27b", "deepseek-v3", "qwen3-next-80b-a3b",
                                                           "gpt-oss-20b", "nemotron-3-nano-30b-a3b")
                                              if n in catalog.names()]


@pytest.mark.parametrize("name", catalog.names())
@pytest.mark.parametrize("scale", catalog.SCALES)
def test_json_round_trip_is_exact(name, scale):
    spec = catalog.get(name, scale)
    again = spec_from_json(spec_to_json(spec))
    assert again == spec
    assert again.name == spec.name and again.notes == spec.notes
    assert json.loads(spec_to_json(spec))["schema"] == "archscope.spec/1"


def test_validation_names_the_field_and_the_rule():
    document = spec_to_dict(catalog.get("llama3-8b"))
    document["layers"][3]["mixer"]["num_kv_heads"] = 3
    document["layers"][5]["ffn"]["intermediate_size"] = -1
    with pytest.raises(SpecError) as caught:
        spec_from_dict(document)
    messages = [str(p) for p in caught.value.problems]
    assert "layers[3].mixer.num_kv_heads: 3 does not divide num_heads 32" in messages
    assert "layers[5].ffn.intermediate_size: must be positive, found -1" in messages


def test_wrong_types_are_all_reported_at_once():
    document = spec_to_dict(catalog.get("gpt2-small"))
    document["d_model"] = "wide"
    document["layers"][0]["mixer"]["kind"] = "telepathy"
    document["layers"][1]["norm_placement"] = "middle"
    with pytest.raises(SpecError) as caught:
        spec_from_dict(document)
    paths = {p.path for p in caught.value.problems}
    assert {"d_model", "layers[0].mixer.kind", "layers[1].norm_placement"} <= paths


def test_unknown_schema_version_is_rejected():
    document = spec_to_dict(catalog.get("gpt2-small")) | {"schema": "archscope.spec/99"}
    with pytest.raises(SpecError, match="schema"):
        spec_from_dict(document)


def _paths(value, prefix=()):
    """Every path into a JSON document, for mutation."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            yield from _paths(item, prefix + (index,))


def _mutate(document, path, replacement, delete):
    if not path:
        return replacement
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return document


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(SAMPLE_NAMES), replacement=json_values, delete=st.booleans())
def test_malformed_spec_documents_raise_only_spec_errors(data, name, replacement, delete):
    document = spec_to_dict(catalog.get(name, "explore"))
    path = data.draw(st.sampled_from(list(_paths(document))))
    document = _mutate(document, path, replacement, delete)
    try:
        spec_from_dict(document)
    except SpecError as error:
        assert error.problems
        if path:  # a document that is still an object: every problem names a field
            assert all(problem.path for problem in error.problems), error.problems


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(SAMPLE_NAMES), replacement=json_values, delete=st.booleans())
def test_malformed_hf_configs_raise_only_spec_errors(data, name, replacement, delete):
    config = json.loads(json.dumps(hf_config_from_spec(catalog.get(name))))
    path = data.draw(st.sampled_from(list(_paths(config))))
    config = _mutate(config, path, replacement, delete)
    try:
        spec_from_hf_config(config)
    except SpecError as error:
        assert error.problems
        if path:
            assert all(problem.path for problem in error.problems), error.problems


@given(json_values)
def test_arbitrary_json_is_rejected_cleanly(value):
    for reader in (spec_from_dict, spec_from_hf_config):
        try:
            reader(value)
        except SpecError as error:
            assert error.problems


def test_unknown_model_type_lists_the_supported_ones():
    with pytest.raises(SpecError, match="model_type: unsupported 'bert'; expected one of .*llama"):
        spec_from_hf_config({"model_type": "bert"})


def test_missing_keys_are_named():
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config({"model_type": "llama", "vocab_size": 100})
    paths = {p.path for p in caught.value.problems}
    assert {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"} <= paths


def test_a_shared_expert_gate_needs_a_shared_expert():
    document = spec_to_dict(catalog.get("qwen3-30b-a3b", "explore"))
    document["layers"][0]["ffn"]["shared_gate"] = True
    with pytest.raises(SpecError, match=r"layers\[0\]\.ffn\.shared_gate: gates a shared expert, but the MoE has none"):
        spec_from_dict(document)


@pytest.mark.parametrize("latent, bias, expected", [
    (300, False, r"layers\[1\]\.ffn\.latent_size: 300 exceeds d_model 256"),
    (-64, False, r"layers\[1\]\.ffn\.latent_size: must be zero or positive, found -64"),
    (64.5, False, r"layers\[1\]\.ffn\.latent_size: expected"),
    ("64", False, r"layers\[1\]\.ffn\.latent_size: expected"),
    (0, True, r"layers\[1\]\.ffn\.latent_bias: biases latent projections, but the MoE has no latent_size"),
])
def test_a_hostile_latent_moe_is_refused_at_its_field(latent, bias, expected):
    """Nemotron 3 Super's latent: wider than the token, negative, not an integer, or biases
    without a latent -- each named at its field path (layer 1 is an MoE block)."""
    document = spec_to_dict(catalog.get("nemotron-3-super-120b-a12b", "explore"))
    assert document["layers"][1]["ffn"]["latent_size"] == 64
    document["layers"][1]["ffn"]["latent_size"] = latent
    document["layers"][1]["ffn"]["latent_bias"] = bias
    with pytest.raises(SpecError, match=expected):
        spec_from_dict(document)


def test_a_latent_as_wide_as_the_token_is_allowed():
    document = spec_to_dict(catalog.get("nemotron-3-super-120b-a12b", "explore"))
    document["layers"][1]["ffn"]["latent_size"] = 256
    assert spec_from_dict(document).layers[1].ffn.latent_size == 256
