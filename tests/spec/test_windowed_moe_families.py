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


@pytest.mark.parametrize("key, value, expected", [
    ("score_func", "softmax", "score_func: 'softmax' is not built"),
    ("route_norm", False, "route_norm: False is not built"),
    ("n_group", 8, "n_group: 8 is not built"),
    ("route_scale", 0, "route_scale: must be positive"),
    ("num_dense_layers", 61, "num_dense_layers: 61 is more than the 60 layers"),
    ("global_attn_every_n_layers", 0, "global_attn_every_n_layers: must be at least 1"),
    ("layer_types", ["sliding_attention"] * 59, "layer_types: has 59 entries, expected one per layer (60)"),
    ("sliding_window", 0, "sliding_window: the layer pattern has sliding layers, so a window is required"),
    ("mup_enabled", "yes", "mup_enabled: expected true or false"),
    ("num_shared_experts", -1, "num_shared_experts: must be at least 0"),
])
def test_afmoe_keys_are_refused_by_name(key, value, expected):
    _refused("trinity-large", key, value, expected)


def test_afmoe_refuses_what_it_cannot_write():
    """A shared MLP that is not a whole number of experts wide, dense layers after MoE ones,
    and a global layer with RoPE are refused when written, naming the layer."""
    spec = catalog.get("trinity-large", "explore")
    first_moe = next(i for i, layer in enumerate(spec.layers) if layer.ffn_kind == "moe")
    moe = spec.layers[first_moe].ffn
    odd_shared = dataclasses.replace(moe, shared=dataclasses.replace(moe.shared, intermediate_size=moe.expert.intermediate_size + 1))
    layers = list(spec.layers)
    for i in range(first_moe, len(layers)):
        layers[i] = dataclasses.replace(layers[i], ffn=odd_shared)
    with pytest.raises(SpecError, match="whole number of experts"):
        hf_config_from_spec(dataclasses.replace(spec, layers=tuple(layers)))
    layers = list(spec.layers)
    layers[-1] = dataclasses.replace(layers[-1], ffn=spec.layers[0].ffn)
    with pytest.raises(SpecError, match="dense layers come first"):
        hf_config_from_spec(dataclasses.replace(spec, layers=tuple(layers)))
    rope = next(layer.mixer.rope for layer in spec.layers if layer.mixer.rope is not None)
    layers = [dataclasses.replace(layer, mixer=dataclasses.replace(layer.mixer, rope=rope)) for layer in spec.layers]
    with pytest.raises(SpecError, match="none on the global ones"):
        hf_config_from_spec(dataclasses.replace(spec, layers=tuple(layers)))


def test_one_projected_gate_at_most():
    spec = catalog.get("trinity-large", "explore")
    layer = spec.layers[0]
    edited = dataclasses.replace(layer, mixer=dataclasses.replace(layer.mixer, softplus_gate="head"))
    problems = dataclasses.replace(spec, layers=(edited, *spec.layers[1:])).validate()
    assert [p for p in problems if p.path == "layers[0].mixer.sigmoid_gate"], problems


@pytest.mark.parametrize("key, value, expected", [
    ("use_head_wise_attn_gate", False, "use_head_wise_attn_gate: False is not built"),
    ("zero_centered", False, "zero_centered: False is not built"),
    ("moe_router_activation", "softmax", "moe_router_activation: 'softmax' is not built"),
    ("sink", True, "sink: True is not built"),
    ("swiglu_limits", [0.0] * 43 + [7.0, 7.0], "swiglu_limits: SwiGLU clamps are not built here"),
    ("rope_theta", [1e4] * 44, "rope_theta: expected a positive number or one per layer (45, or 48 with the MTP "
     "layers)"),
    ("partial_rotary_factors", [0.5] * 47 + [-1.0], "partial_rotary_factors: expected a positive number"),
    ("layer_types", ["global"] * 45, "layer_types: expected one of full_attention, sliding_attention per layer"),
    ("moe_layers_enum", "3,x", "moe_layers_enum: expected layer numbers separated by commas"),
    ("yarn_only_types", ["sliding_attention"], "yarn_only_types: transformers' Step 3.5 scales the full layers'"),
    ("attention_other_setting", {"num_attention_heads": 96, "num_attention_groups": 4},
     "attention_other_setting.num_attention_groups: the sliding layers' key/value heads"),
    ("sliding_window", 0, "sliding_window: the layer pattern has sliding layers, so a window is required"),
])
def test_step3p5_keys_are_refused_by_name(key, value, expected):
    _refused("step-3.5-flash", key, value, expected)


def test_step3p5_reads_its_lists_padded_with_the_mtp_layers():
    """The release pads its per-layer lists with the MTP layers' entries: they are cut off."""
    config = dict(catalog.entry("step-3.5-flash").config)
    config["layer_types"] = config["layer_types"] + ["sliding_attention"] * 3
    config["rope_theta"] = config["rope_theta"] + [1e4] * 3
    config["partial_rotary_factors"] = config["partial_rotary_factors"] + [1.0] * 3
    config["moe_layers_enum"] += ",45,46,47"
    assert spec_from_hf_config(config) == spec_from_hf_config(catalog.entry("step-3.5-flash").config)
