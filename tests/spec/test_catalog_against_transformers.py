"""The catalog's analytic counts against transformers' own models, built on the meta
device from the config our converter writes, and against the published headlines."""

import pytest

from app.spec import catalog
from app.spec.analysis import analyze
from app.spec.hf import hf_config_from_spec, spec_from_hf_config, supported_model_types

from app.spec.hf import bailing, longcat_flash

# model types transformers has no model of (remote code only): Meituan's N-gram LongCat, Ling 2.5
NO_TRANSFORMERS_MODEL = longcat_flash.NO_TRANSFORMERS_MODEL + bailing.NO_TRANSFORMERS_MODEL

HF_ENTRIES = [name for name in catalog.names() if catalog.get(name).model_type in supported_model_types()]
# a model transformers does not build is compared where it can be, in its parity test
META_ENTRIES = [name for name in HF_ENTRIES if catalog.get(name).model_type not in NO_TRANSFORMERS_MODEL]


# transformers 5.18 builds these causal LMs by class only (no AutoModelForCausalLM entry)
NO_AUTO_CAUSAL_LM = {"mistral4": "Mistral4ForCausalLM"}
# and these text decoders by their base-model class only (no causal-LM class at all): Step 3.5's is
# Step3p7TextModel (models/step3p7); the count adds the untied output head it lacks
TEXT_MODEL_ONLY = {"step3p5": "Step3p7TextModel"}


def transformers_param_count(config: dict) -> int:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    hf_config = transformers.AutoConfig.for_model(**config)
    # A multimodal config counts its whole model, vision front-end included (AutoModelForCausalLM
    # would build mllama's text decoder alone).
    auto = transformers.AutoModelForImageTextToText if "vision_config" in config else transformers.AutoModelForCausalLM
    with torch.device("meta"):
        if config["model_type"] in NO_AUTO_CAUSAL_LM:
            model = getattr(transformers, NO_AUTO_CAUSAL_LM[config["model_type"]])(hf_config)
        elif config["model_type"] in TEXT_MODEL_ONLY:
            model = getattr(transformers, TEXT_MODEL_ONLY[config["model_type"]])(hf_config)
            head = 0 if config["tie_word_embeddings"] else config["vocab_size"] * config["hidden_size"]
            return head + sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
        else:
            model = auto.from_config(hf_config)
    # Trained parameters: Laguna keeps its router's score-correction bias as a frozen
    # nn.Parameter (DeepSeek keeps it as a buffer); set by a balancing rule, not by gradients,
    # the analysis counts it for neither.
    return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)


@pytest.mark.parametrize("name", ["kimi-k2.5", "kimi-k2.6"])
def test_kimi_k25_decoder_equals_transformers_kimi_k25_text_model(name):
    """The catalog stores K2.5's text_config (deepseek_v3, counted above); here the release's own
    form: transformers' kimi_k25 model built from the wrapper our converter writes, its vision
    tower and projector left out of the count."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from app.spec.hf.deepseek import kimi_k25_to_config

    spec = catalog.get(name)
    hf_config = transformers.AutoConfig.for_model(**kimi_k25_to_config(spec))
    with torch.device("meta"):
        model = transformers.AutoModelForImageTextToText.from_config(hf_config)
    decoder = sum(parameter.numel() for key, parameter in model.named_parameters()
                  if not key.startswith(("model.vision_tower.", "model.mm_projector.")))
    assert decoder == analyze(spec).total_params


@pytest.mark.parametrize("name", META_ENTRIES)
def test_total_params_equal_transformers_meta_model(name):
    spec = catalog.get(name)
    assert analyze(spec).total_params == transformers_param_count(hf_config_from_spec(spec))


@pytest.mark.parametrize("name", META_ENTRIES)
def test_explore_scale_also_equals_transformers(name):
    spec = catalog.get(name, "explore")
    assert analyze(spec).total_params == transformers_param_count(hf_config_from_spec(spec))


@pytest.mark.parametrize("name", HF_ENTRIES)
def test_hf_config_round_trip(name):
    for scale in ("full", "explore", "slice"):
        spec = catalog.get(name, scale)
        assert spec_from_hf_config(hf_config_from_spec(spec)) == spec


@pytest.mark.parametrize("name", catalog.names())
def test_published_headline_within_three_percent(name):
    entry = catalog.entry(name)
    analysis = analyze(catalog.get(name))
    assert entry.published_total > 0, "every entry records its published size"
    # What the headline counts beyond the text decoder (MTP modules, a vision encoder) is
    # named in the entry's notes and added back here.
    extra = entry.headline_extra_params + (analysis.mtp_params if entry.headline_counts_mtp else 0)
    if extra or entry.headline_active_excludes:
        assert entry.notes, "an entry that adds to its count says why"
    if entry.headline_tolerance != 0.03:
        assert entry.notes, "an entry that widens its check says why"
    assert analysis.total_params + extra == pytest.approx(entry.published_total, rel=entry.headline_tolerance)
    if entry.published_active:
        active = entry.active_comparable_to_headline(analysis)
        assert active == pytest.approx(entry.published_active, rel=0.03)


@pytest.mark.parametrize("name", [name for name in catalog.names() if (catalog.entry(name).config or {}).get("model_type")
                                  == "llama4_text"])
def test_llama4_configs_come_out_with_their_published_interleave_step(name):
    published = catalog.entry(name).config
    written = hf_config_from_spec(catalog.get(name))
    assert written["interleave_moe_layer_step"] == published["interleave_moe_layer_step"]
    assert "moe_layers" not in written  # the step says it, as the published config does
    assert spec_from_hf_config(written) == catalog.get(name)


def test_a_moe_placement_no_step_gives_is_written_as_a_list():
    from dataclasses import replace

    spec = catalog.get("llama4-maverick", "explore")
    dense, moe = spec.layers[0].ffn, spec.layers[1].ffn
    placed = [False, True, True, False, False, True, False, True]  # no step gives this
    layers = tuple(replace(layer, ffn=moe if sparse else dense) for layer, sparse in zip(spec.layers, placed))
    odd = replace(spec, layers=layers)
    written = hf_config_from_spec(odd)
    assert written["moe_layers"] == [i for i, layer in enumerate(layers) if layer.ffn_kind == "moe"]
    assert spec_from_hf_config(written) == odd
