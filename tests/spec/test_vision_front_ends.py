"""The optional vision front-end of a spec: one source of truth through JSON, validation
that names the field, the analysis of the encoder and of the image's share of the cache,
and the two catalog entries (method A: gemma3-4b-vision, method B: llama3.2-11b-vision)."""

import json
from dataclasses import replace

import pytest

from app.spec import SpecError, catalog
from app.spec.analysis import analyze
from app.spec.hf import hf_config_from_spec, spec_from_hf_config
from app.spec.serialize import spec_from_json, spec_to_json

GEMMA = "gemma3-4b-vision"
LLAMA = "llama3.2-11b-vision"


@pytest.mark.parametrize("name", [GEMMA, LLAMA])
@pytest.mark.parametrize("scale", ["full", "explore"])
def test_json_round_trip_keeps_the_front_end(name, scale):
    spec = catalog.get(name, scale)
    again = spec_from_json(spec_to_json(spec))
    assert again == spec and again.vision == spec.vision


def test_a_text_spec_writes_no_vision_section():
    assert "vision" not in json.loads(spec_to_json(catalog.get("gemma3-4b")))


def test_validation_names_the_field():
    spec = catalog.get(GEMMA)
    document = json.loads(spec_to_json(spec))
    document["vision"]["tokens_per_image"] = 250
    with pytest.raises(SpecError) as error:
        spec_from_json(json.dumps(document))
    assert any(problem.path == "vision.tokens_per_image" for problem in error.value.problems)
    document["vision"]["encoder"]["patch_size"] = "14"
    with pytest.raises(SpecError) as error:
        spec_from_json(json.dumps(document))
    assert [problem.path for problem in error.value.problems] == ["vision.encoder.patch_size"]


def test_cross_attention_needs_a_cross_attention_front_end():
    spec = replace(catalog.get(LLAMA), vision=None)
    assert [problem.path for problem in spec.validate()] == ["layers[3].mixer"]


def test_gemma3_vision_analysis():
    analysis = analyze(catalog.get(GEMMA))
    vision = analysis.vision
    # SigLIP So400m: 27 layers of 1152, 896 px in 14-px patches; projector 1152 -> 2560
    assert vision.encoder_params == 416_866_032 and vision.projector_params == 1152 + 1152 * 2560
    assert vision.tokens_per_image == 256
    assert analysis.total_params == pytest.approx(4.3e9, rel=0.01)
    assert vision.flops_per_image > 2 * vision.encoder_params * 4096  # every patch through every weight
    # the text FLOPs per token do not count the encoder
    text_only = analyze(catalog.get("gemma3-4b"))
    assert analysis.flops_per_token(1000) == text_only.flops_per_token(1000)
    # 256 image tokens at positions 1-256: the global layers keep them, the 1024-token
    # windows let them go once 1024 more tokens have come
    image = range(1, 257)
    per_token = [row.kv_values_per_token * 2 for row in analysis.layers]
    assert analysis.image_kv_bytes_at(300, image) == [256 * value for value in per_token]
    late = analysis.image_kv_bytes_at(2000, image)
    assert [bool(value) for value in late] == [not row.window for row in analysis.layers]


def test_llama_vision_analysis():
    spec = catalog.get(LLAMA)
    analysis = analyze(spec)
    crossing = [i for i, layer in enumerate(spec.layers) if layer.mixer.kind == "cross_attention"]
    assert crossing == [3, 8, 13, 18, 23, 28, 33, 38]
    assert analysis.vision.tokens_per_image == 0  # no decoder positions
    assert spec.vision.encoder.features_per_image == 4 * (40 * 40 + 1)
    # per cross-attention layer: 6,404 features x 8 KV heads x (key + value) x 128, bf16
    kv = analysis.image_kv_bytes_at(10_000, range(0))
    assert [i for i, value in enumerate(kv) if value] == crossing
    assert kv[3] == 6404 * 8 * 2 * 128 * 2
    assert analysis.kv_bytes_per_token() == 32 * 8 * 2 * 128 * 2  # text tokens: self-attention layers only


def test_published_llama_vision_config_reads_as_the_catalog_entry():
    entry = catalog.entry(LLAMA)
    spec = spec_from_hf_config(entry.config)
    assert replace(spec, name=LLAMA) == catalog.get(LLAMA)
    assert spec_from_hf_config(hf_config_from_spec(spec)) == spec


def test_llama_vision_flops_count_the_image_once_and_attend_to_it_per_token():
    analysis = analyze(catalog.get(LLAMA))
    features = 6404  # 4 tiles of 40 x 40 patches + a class token
    kv_projections = 8 * 2 * 4096 * 8 * 128  # 8 cross-attention layers: keys and values, 8 heads of 128
    image_attention = 2 * 32 * 2 * 128 * features  # one layer's 32 queries over the image: scores, weighted sum
    assert analysis.vision.cross_kv_flops_per_image == 2 * features * kv_projections
    weights = analysis.active_params - analysis.embedding_params - analysis.vision_params - kv_projections
    assert analysis.flops_per_token(0) == 2 * weights + 8 * image_attention
    # text context grows the 32 self-attention layers' share only
    assert analysis.flops_per_token(2000) - analysis.flops_per_token(1000) == 32 * 2 * 32 * 256 * 1000
