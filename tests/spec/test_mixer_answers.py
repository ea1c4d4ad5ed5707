"""Every mixer and feed-forward kind answers every question itself, in its own module's
class, and a kind this version does not know is refused by name instead of counting as 0,
passing explore at full width or drawing as a grey box."""

import dataclasses
import typing

import pytest

from app.spec import analysis, catalog, roofline
from app.spec.cost import MixerSite, Step
from app.spec.ffn import FEED_FORWARD_TYPES, FFN_ANSWERS, FFN_KINDS, FeedForward
from app.spec.mixers import MIXER_ANSWERS, MIXER_KINDS, MIXER_TYPES, Mixer
from app.spec.scale import Shrinker, explore


def test_the_unions_and_the_registries_name_the_same_kinds():
    assert set(typing.get_args(Mixer)) == set(MIXER_TYPES) == set(MIXER_KINDS.values())
    assert set(typing.get_args(FeedForward)) == set(FEED_FORWARD_TYPES) == set(FFN_KINDS.values())
    assert all(MIXER_KINDS[kind.kind] is kind for kind in MIXER_TYPES)


@pytest.mark.parametrize("kind", MIXER_TYPES + FEED_FORWARD_TYPES, ids=lambda kind: kind.__name__)
def test_every_kind_answers_every_question_in_its_own_class(kind):
    """Not inherited, not defaulted: a new kind lists each answer in its own body."""
    answers = MIXER_ANSWERS if kind in MIXER_TYPES else FFN_ANSWERS
    own = set(vars(kind)) | {field.name for field in dataclasses.fields(kind)}
    missing = [answer for answer in answers if answer not in own]
    assert not missing, f"{kind.__name__} does not answer {missing}"


def _one_of_each_kind():
    """A real catalog layer's mixer and feed-forward of every kind."""
    mixers, ffns = {}, {}
    for name in catalog.names():
        spec = catalog.get(name)
        for layer in spec.layers:
            if layer.mixer is not None:
                mixers.setdefault(type(layer.mixer), (spec, layer.mixer))
            if layer.ffn is not None:
                ffns.setdefault(type(layer.ffn), (spec, layer.ffn))
    return mixers, ffns


def test_every_kind_is_in_the_catalog_and_answers_with_whole_numbers_and_words():
    mixers, ffns = _one_of_each_kind()
    assert set(mixers) == set(MIXER_TYPES) and set(ffns) == set(FEED_FORWARD_TYPES)
    step = Step("decode", 1, 4096, 2, 2)
    for spec, mixer in mixers.values():
        site = MixerSite(spec.d_model, None, spec.vision)
        answers = [mixer.params(1024), mixer.vector_params(1024), mixer.per_image_params(1024),
                   mixer.kv_values_per_token(), mixer.state_values(), mixer.cache_window,
                   mixer.score_flops_per_token(4096, image_features=1601)]
        assert all(isinstance(value, int) and value >= 0 for value in answers), (type(mixer).__name__, answers)
        assert mixer.params(1024) > mixer.vector_params(1024)
        cost = mixer.step_cost(step, site)
        assert cost.weight_bytes > 0 and cost.flops > 0
        assert mixer.point_kind in roofline.MIXER_POINT_KINDS
        assert all(isinstance(text, str) and text for text in
                   (mixer.title, mixer.label(), mixer.describe(), mixer.pattern_label, mixer.canvas_style))
        assert mixer.box_lines() and isinstance(mixer.explored(Shrinker(spec)), type(mixer))
        # a layer that attends to its context has positions to speak of; a recurrent one keeps a state
        # (and so may an attention whose projections look back a few tokens: ZAYA1's CCA convolves
        # its queries and keys), but never a layer that neither attends nor recurs
        assert bool(mixer.position_kind) == mixer.attends_to_context
        if mixer.attends_to_context:  # the catalog's attention column starts with it
            assert isinstance(mixer.headline(), str) and mixer.headline()
        if mixer.recurrent:
            assert mixer.state_values() > 0
        elif mixer.state_values() > 0:
            assert mixer.attends_to_context and mixer.kv_values_per_token() > 0
    for spec, ffn in ffns.values():
        assert ffn.params(1024) >= ffn.active_params(1024) > 0
        assert ffn.step_cost(step, spec.d_model).flops > 0
        assert ffn.point_kind in roofline.FFN_POINT_KINDS
        assert all(isinstance(text, str) and text for text in (ffn.title, ffn.label(), ffn.describe()))
        assert ffn.box_lines() and isinstance(ffn.explored(Shrinker(spec)), type(ffn))


@dataclasses.dataclass(frozen=True)
class HalfAddedMixer:
    """A new mixer kind added to the spec but not taught to the registry."""

    num_heads: int = 4


@pytest.mark.parametrize("question", [
    lambda mixer: analysis.mixer_params(mixer, 64),
    lambda mixer: analysis.kv_values_per_token(mixer),
    lambda mixer: analysis.state_values(mixer),
    lambda mixer: analysis.cache_window(mixer),
    lambda mixer: analysis.attention_flops_per_token(mixer, 128),
    lambda mixer: analysis.describe_mixer(mixer),
    lambda mixer: roofline.mixer_point_kind(mixer),
], ids=["params", "kv values", "state values", "cache window", "flops", "description", "roofline kind"])
def test_a_mixer_the_registry_does_not_know_is_refused_by_name(question):
    with pytest.raises(TypeError, match="unknown mixer HalfAddedMixer"):
        question(HalfAddedMixer())


def test_a_layer_without_a_mixer_holds_nothing():
    assert analysis.kv_values_per_token(None) == analysis.state_values(None) == analysis.cache_window(None) == 0
    assert analysis.attention_flops_per_token(None, 128) == 0


def test_explore_scale_and_validation_do_not_pass_an_unknown_kind_through():
    """A half-added kind used to come out of explore() at full width and validate clean."""
    spec = catalog.get("llama3-8b")
    layers = [dataclasses.replace(layer, mixer=HalfAddedMixer(), ffn=HalfAddedMixer()) if i == 0 else layer
              for i, layer in enumerate(spec.layers)]
    half_added = spec.with_layers(layers)
    problems = [str(problem) for problem in half_added.validate()]
    assert "layers[0].mixer: unknown mixer kind HalfAddedMixer" in problems
    assert "layers[0].ffn: unknown feed-forward kind HalfAddedMixer" in problems
    with pytest.raises(TypeError, match="unknown mixer HalfAddedMixer"):
        explore(half_added)
