"""The two smaller scales of a catalog entry.

`explore`: a few tens of millions of parameters with the same structure -- the layer
pattern (a shortened run of it), head grouping, expert sharing, dense-first layers and
windows shrunk in proportion -- so any architecture runs with random weights on a laptop.
`slice`: the published widths, one layer of each distinct kind, to measure true
per-layer cost and extrapolate.
"""

from __future__ import annotations

from dataclasses import replace

from . import on_device
from .arch import ArchSpec
from .components import Layer
from .ffn import known_ffn
from .mixers import known_mixer
from .parts import Rope
from .vision import explore_vision

EXPLORE_D_MODEL = 256
EXPLORE_VOCAB = 8192
EXPLORE_MAX_HEADS = 8
EXPLORE_MAX_EXPERTS = 16
EXPLORE_MAX_LAYERS = 12


def _multiple(value: float, step: int = 8, minimum: int = 8) -> int:
    return max(minimum, int(round(value / step)) * step)


def _head_dim(value: int) -> int:
    return max(16, value // 4)


def _window(value: int) -> int:
    return min(max(16, value // 16), 256) if value else 0


class Shrinker:
    """The explore scale's rules, for each mixer and feed-forward kind's `explored` to
    apply to its own fields: widths in proportion, heads in whole query groups, windows
    shrunk as the context is."""

    width = EXPLORE_D_MODEL
    max_heads = EXPLORE_MAX_HEADS
    max_experts = EXPLORE_MAX_EXPERTS

    def __init__(self, spec: ArchSpec):
        self.d_model = spec.d_model
        self.ratio = EXPLORE_D_MODEL / spec.d_model
        kv_counts = {layer.mixer.num_kv_heads for layer in spec.layers if layer.mixer_kind == "attention"}
        # Set only where layers differ in kv heads (MiMo-V2-Flash's sliding layers have twice
        # its global layers'), so that explore keeps every layer's grouping and their ratio.
        self.fewest_kv_heads = min(kv_counts) if len(kv_counts) > 1 else 0

    multiple = staticmethod(_multiple)
    head_dim = staticmethod(_head_dim)
    window = staticmethod(_window)

    def heads(self, heads: int, kv_heads: int) -> tuple[int, int]:
        new_heads = min(heads, EXPLORE_MAX_HEADS)
        fewest = self.fewest_kv_heads
        if fewest and heads % fewest == 0:  # one whole query group of the layers with the fewest kv heads
            new_heads = min(heads, max(new_heads, heads // fewest), 4 * EXPLORE_MAX_HEADS)
        group = heads // kv_heads
        if group > 1 and heads % kv_heads == 0:
            # Whole query groups (or one smaller group) whose head count divides the width, as
            # configs require: Llama 4's 40/8 (groups of 5) -> 4/1, Qwen3's 32/4 -> 8/1.
            new_heads = next(h for h in range(new_heads, 0, -1)
                             if EXPLORE_D_MODEL % h == 0 and (h % group == 0 or h < group))
        new_kv = max(1, round(new_heads * kv_heads / heads))
        while new_heads % new_kv:
            new_kv -= 1
        return new_heads, new_kv

    def rope(self, rope: Rope | None, old_dim: int, new_dim: int) -> Rope | None:
        if rope is None:
            return None
        rotary = new_dim if rope.rotary_dim == old_dim else max(2, (rope.rotary_dim * new_dim // old_dim) // 2 * 2)
        # proportional RoPE spans the whole head, whatever its width
        return replace(rope, rotary_dim=rotary, frequency_dim=new_dim if rope.frequency_dim else 0)

    def layer(self, layer: Layer) -> Layer:
        # an absent mixer (a feed-forward-only layer) or feed-forward stays absent; an unknown
        # kind raises rather than being kept at full width unsaid
        mixer = known_mixer(layer.mixer).explored(self) if layer.mixer is not None else None
        ffn = known_ffn(layer.ffn).explored(self) if layer.ffn is not None else None
        return replace(layer, mixer=mixer, ffn=ffn)


def shortened_pattern(layers: tuple[Layer, ...], max_layers: int = EXPLORE_MAX_LAYERS) -> list[Layer]:
    """A short run of the layer sequence with the same pattern: an irregular prefix (dense
    first layers) kept as is, then whole periods of the repeating body -- two where
    they fit, so the boundary between periods is exercised too."""
    n = len(layers)
    for cost in range(1, n + 1):
        for offset in range(0, min(cost, 4)):
            period = cost - offset
            if period > max(1, (n - offset) // 2):
                continue
            body = layers[offset:]
            if all(body[i] == body[i % period] for i in range(len(body))):
                repeats = 2 if offset + 2 * period <= max_layers else 1
                repeats = max(repeats, -(-4 // period)) if offset + 4 <= max_layers else repeats
                return list(layers[:offset]) + list(body[:period]) * repeats
    # No short period (Nemotron-H's hand-placed pattern): keep a prefix that shows every
    # kind of layer, then any kind the prefix missed.
    chosen = list(layers[:max_layers])
    for layer in layers:
        if layer not in chosen:
            chosen.append(layer)
    return chosen


def explore(spec: ArchSpec) -> ArchSpec:
    shrink = Shrinker(spec)
    layers = shortened_pattern(tuple(shrink.layer(layer) for layer in spec.layers))
    small = replace(
        spec, name=f"{spec.name} (explore)", d_model=EXPLORE_D_MODEL, vocab_size=min(spec.vocab_size, EXPLORE_VOCAB),
        layers=tuple(layers), learned_positions=min(spec.learned_positions, 1024),
        mtp_layers=min(spec.mtp_layers, 1),
        vision=explore_vision(spec.vision, spec.vocab_size, min(spec.vocab_size, EXPLORE_VOCAB))
        if spec.vision is not None else None,
        ngram_embedding=spec.ngram_embedding.explored(shrink.ratio) if spec.ngram_embedding is not None else None,
    )
    return replace(small, **on_device.shrunk(small, shrink.ratio, _multiple))


def explore_counterparts(spec: ArchSpec) -> list[list[int]]:
    """For each layer of `spec`, the layers of explore(spec) built from the same layer (its
    shrunk twin): how a profile of the explore model maps back onto the full diagram."""
    shrink = Shrinker(spec)
    small = explore(spec).layers
    twins: dict = {}  # per distinct layer: a model has few, repeated many times
    for layer in spec.layers:
        if layer not in twins:
            shrunk = shrink.layer(layer)
            twins[layer] = [j for j, candidate in enumerate(small) if candidate == shrunk]
    return [twins[layer] for layer in spec.layers]


def slice_(spec: ArchSpec) -> ArchSpec:
    distinct: list[Layer] = []
    for layer in spec.layers:
        if layer not in distinct:
            distinct.append(layer)
    return replace(spec, name=f"{spec.name} (slice)", layers=tuple(distinct))
