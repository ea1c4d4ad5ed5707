"""The converters of the windowed MoE entries (mellum, and the Trinity and Step families
beside it): a hostile value of each of their keys is refused by name, and a spec the format
cannot hold is refused when written."""

import dataclasses

import pytest

from app.spec import catalog
from app.spec.errors import SpecError
from app.spec.hf import hf_config_from_spec, spec_from_hf_config


def _refused(slug: str, key: str, value, expected: str) -> None:
    config = dict(catalog.entry(slug).config)
    config[key] = value
    with pytest.raises(SpecError) as caught:
        spec_from_hf_config(config)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("key, value, expected", [
    ("layer_types", ["full_attention"] * 27, "layer_types: has 27 entries, expected one per layer (28)"),
    ("layer_types", ["global"] * 28, "layer_types: unknown entries ['global']"),
    ("mlp_layer_types", ["moe"] * 28, "mlp_layer_types: unknown entries ['moe']"),
    ("sliding_window", 0, "sliding_window: the layer pattern has sliding layers, so a window is required"),
    ("rope_parameters", {"rope_type": "default", "rope_theta": 10000.0}, "rope_parameters: needs an object for "
     "layer type"),
    ("rope_parameters", {"full_attention": {"rope_theta": 5e5, "partial_rotary_factor": 0.5},
                         "sliding_attention": {"rope_theta": 5e5}},
     "rope_parameters: full_attention: partial_rotary_factor 0.5 is not built"),
    ("norm_topk_prob", "yes", "norm_topk_prob: expected true or false"),
    ("num_experts", 0, "num_experts: must be at least 1"),
])
def test_mellum_keys_are_refused_by_name(key, value, expected):
    _refused("mellum2-12b-a2.5b", key, value, expected)


def test_mellum_refuses_a_shared_expert_when_written():
    spec = catalog.get("mellum2-12b-a2.5b", "explore")
    moe = spec.layers[0].ffn
    edited = dataclasses.replace(spec, layers=tuple(
        dataclasses.replace(layer, ffn=dataclasses.replace(moe, shared=moe.expert)) for layer in spec.layers))
    with pytest.raises(SpecError, match="no shared expert"):
        hf_config_from_spec(edited)
