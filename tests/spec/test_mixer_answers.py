"""Every mixer kind answers the analysis' questions itself, in its own class, and a mixer
this version does not know is refused by name instead of counting as 0."""

import dataclasses
import typing

import pytest

from app.spec import analysis, catalog
from app.spec.components import MIXER_ANSWERS, MIXER_TYPES, Mixer


def test_the_mixer_union_and_the_mixer_types_name_the_same_kinds():
    assert set(typing.get_args(Mixer)) == set(MIXER_TYPES)


@pytest.mark.parametrize("kind", MIXER_TYPES, ids=lambda kind: kind.__name__)
def test_every_mixer_kind_answers_every_question_in_its_own_class(kind):
    missing = [answer for answer in MIXER_ANSWERS if answer not in vars(kind)]
    assert not missing, f"{kind.__name__} does not answer {missing}"


def test_every_mixer_kind_is_in_the_catalog_and_answers_with_whole_numbers():
    """Each kind's answers, asked of a real entry's layer, are non-negative integers."""
    seen = {}
    for name in catalog.names():
        for layer in catalog.get(name).layers:
            if layer.mixer is not None:
                seen.setdefault(type(layer.mixer), layer.mixer)
    assert set(seen) == set(MIXER_TYPES)
    for mixer in seen.values():
        answers = [mixer.params(1024), mixer.kv_values_per_token(), mixer.state_values(),
                   mixer.score_flops_per_token(4096, image_features=1601), mixer.cache_window]
        assert all(isinstance(value, int) and value >= 0 for value in answers), (type(mixer).__name__, answers)
        assert mixer.params(1024) > 0


@dataclasses.dataclass(frozen=True)
class HalfAddedMixer:
    """A new mixer kind added to the spec but not taught to the analysis."""

    num_heads: int = 4


@pytest.mark.parametrize("question", [
    lambda mixer: analysis.mixer_params(mixer, 64),
    lambda mixer: analysis.kv_values_per_token(mixer),
    lambda mixer: analysis.state_values(mixer),
    lambda mixer: analysis.cache_window(mixer),
    lambda mixer: analysis.attention_flops_per_token(mixer, 128),
], ids=["params", "kv values", "state values", "cache window", "flops"])
def test_a_mixer_the_analysis_does_not_know_is_refused_by_name(question):
    with pytest.raises(TypeError, match="unknown mixer HalfAddedMixer"):
        question(HalfAddedMixer())


def test_a_layer_without_a_mixer_holds_nothing():
    assert analysis.kv_values_per_token(None) == analysis.state_values(None) == analysis.cache_window(None) == 0
    assert analysis.attention_flops_per_token(None, 128) == 0


def test_explore_scale_and_validation_do_not_pass_an_unknown_mixer_through():
    """A half-added kind used to come out of explore() at full width and validate clean."""
    import dataclasses as dc

    from app.spec.scale import explore

    spec = catalog.get("llama3-8b")
    layers = [dc.replace(layer, mixer=HalfAddedMixer()) if i == 0 else layer for i, layer in enumerate(spec.layers)]
    half_added = spec.with_layers(layers)
    assert "layers[0].mixer: unknown mixer kind HalfAddedMixer" in [str(problem) for problem in half_added.validate()]
    with pytest.raises(TypeError, match="explore scale: unknown mixer HalfAddedMixer"):
        explore(half_added)
