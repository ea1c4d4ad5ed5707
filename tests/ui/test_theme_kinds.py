"""Every mixer and feed-forward kind has its canvas colour; a kind without one is an error,
not a grey box."""

import dataclasses

import pytest

from app.spec import catalog
from app.spec.ffn import FEED_FORWARD_TYPES
from app.spec.mixers import MIXER_TYPES
from app.ui import theme


def test_every_kind_in_the_catalog_has_a_colour_of_its_own():
    mixers, ffns = {}, {}
    for name in catalog.names():
        for layer in catalog.get(name).layers:
            if layer.mixer is not None:
                mixers.setdefault(type(layer.mixer), layer.mixer)
            if layer.ffn is not None:
                ffns.setdefault(type(layer.ffn), layer.ffn)
    assert set(mixers) == set(MIXER_TYPES) and set(ffns) == set(FEED_FORWARD_TYPES)
    assert all(theme.mixer_kind(mixer) in theme.KIND_COLOURS and theme.mixer_kind(mixer) != "none"
               for mixer in mixers.values())
    assert all(theme.ffn_kind(ffn) in theme.KIND_COLOURS and theme.ffn_kind(ffn) != "none" for ffn in ffns.values())
    assert theme.mixer_kind(None) == theme.ffn_kind(None) == "none"  # an empty slot is drawn as one


@dataclasses.dataclass(frozen=True)
class HalfAdded:
    width: int = 1


@pytest.mark.parametrize("kind_of", [theme.mixer_kind, theme.ffn_kind], ids=["mixer", "feed-forward"])
def test_a_kind_without_a_colour_is_an_error(kind_of):
    with pytest.raises(TypeError, match="no canvas colour for the .*HalfAdded"):
        kind_of(HalfAdded())
