"""The palette's layer groups: whole patterns of layers (dense, MoE, sliding-window 5:1,
linear-mixer 3:1) sized from the open spec, and what inserting one at a group boundary
makes.

Pure data on top of `app.spec` (no Qt). A template borrows the model's own components
where it has them (its attention, its MoE, its linear mixer) and derives the rest the
way a palette drop on a box does (`components.apply_drop`), so an inserted group has the
widths of the model it joins.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ..spec import ArchSpec
from ..spec.components import Layer
from .palette_drops import SLOT_FFN, SLOT_MIXER, Refused, apply_drop
from .grouping import Group, group_layers

GROUP_PREFIX = "group:"  # palette keys of layer groups: "group:moe"

# (key, title, tooltip): the patterns the article draws, as a fixed set of palette items
GROUP_KINDS: tuple[tuple[str, str, str], ...] = (
    ("dense", "Dense attention + FFN", "Layers of attention and a dense feed-forward (Llama 3, Qwen3)"),
    ("moe", "MoE", "Layers of attention and a mixture of experts (Qwen3 MoE, DeepSeek V3)"),
    ("sliding", "Sliding window 5:1", "Five sliding-window layers, then one global (Gemma 3)"),
    ("linear", "Linear mixer 3:1", "Three linear-attention layers, then one full attention (Qwen3-Next, "
                                   "Kimi Linear)"),
)
TITLES = {key: title for key, title, _ in GROUP_KINDS}
# How many layers a new group has: the dense and MoE runs are short so that the diagram
# shows them as a group of their own; the count is the inspector's "repeat" afterwards.
DENSE_LAYERS, MOE_LAYERS = 4, 4
SLIDING_LOCAL, LINEAR_LOCAL = 5, 3


@dataclass(frozen=True)
class GroupTemplate:
    key: str  # "group:moe"
    title: str  # "MoE"
    tooltip: str
    layers: tuple[Layer, ...]

    @property
    def pattern(self) -> str:
        """"4 x MoE GQA", "5 x sliding-window GQA + 1 x global GQA"."""
        groups = group_layers(self.layers)
        if len(groups) == 1:
            return groups[0].label()
        return Group(0, tuple(run for group in groups for run in group.runs), 1).label()


def is_group_key(key: str) -> bool:
    return key.startswith(GROUP_PREFIX)


def _base_layer(spec: ArchSpec) -> Layer:
    """The layer new groups are modelled on: one with softmax attention and a
    feed-forward if the model has one (its norms, eps and residual scales come along)."""
    for test in (lambda layer: layer.attends_to_context and layer.ffn,
                 lambda layer: layer.mixer is not None and layer.ffn is not None,
                 lambda layer: True):
        found = next((layer for layer in spec.layers if test(layer)), None)
        if found is not None:
            return dataclasses.replace(found, ffn=_in_own_layer(found.ffn)) if found.ffn is not None else found
    raise Refused("the model has no layers to model a group on")


def _in_own_layer(ffn):
    """The feed-forward joining the residual in its own layer: LongCat's shortcut MoE joins
    after the next layer, which a group added at the end does not have, so the group's
    layers take the same experts without the shortcut."""
    return dataclasses.replace(ffn, shortcut=False) if getattr(ffn, "shortcut", False) else ffn


def _global_attention(spec: ArchSpec, base: Layer):
    """The model's full attention: its own when it has one, else derived (GQA)."""
    mixers = [layer.mixer for layer in spec.layers if layer.attends_to_context]
    full = [m for m in mixers if not m.is_local]
    if full:
        return full[0]
    if mixers:
        return dataclasses.replace(mixers[0], sliding_window=0, chunk_size=0)
    return apply_drop("gqa", SLOT_MIXER, spec, base).mixer


def _first(spec: ArchSpec, part: str, test):
    return next((getattr(layer, part) for layer in spec.layers
                 if getattr(layer, part) is not None and test(getattr(layer, part))), None)


def _feed_forward(spec: ArchSpec, base: Layer, key: str):
    """The model's own dense MLP or MoE, else the one a palette drop derives."""
    own = _first(spec, "ffn", lambda ffn: ffn.kind == ("moe" if key == "moe" else "mlp"))
    return _in_own_layer(own) if own is not None else apply_drop(key, SLOT_FFN, spec, base).ffn


def templates_for(spec: ArchSpec) -> list[GroupTemplate]:
    """Every layer-group template, sized for `spec`."""
    base = _base_layer(spec)
    attention = _global_attention(spec, base)
    dense, moe = _feed_forward(spec, base, "swiglu"), _feed_forward(spec, base, "moe")
    ffn = base.ffn if base.ffn is not None else dense  # the sliding and linear groups keep the model's kind
    attention_layer = dataclasses.replace(base, mixer=attention, ffn=ffn)
    local = _local_attention(spec, attention_layer)
    full = attention if attention.kind == "attention" else dataclasses.replace(local, sliding_window=0)
    linear = (_first(spec, "mixer", lambda mixer: mixer.recurrent)
              or apply_drop("gated_deltanet", SLOT_MIXER, spec, base).mixer)
    layers = {
        "dense": (dataclasses.replace(base, mixer=attention, ffn=dense),) * DENSE_LAYERS,
        "moe": (dataclasses.replace(base, mixer=attention, ffn=moe),) * MOE_LAYERS,
        "sliding": (dataclasses.replace(attention_layer, mixer=local),) * SLIDING_LOCAL
        + (dataclasses.replace(attention_layer, mixer=full),),
        "linear": (dataclasses.replace(attention_layer, mixer=linear),) * LINEAR_LOCAL + (attention_layer,),
    }
    return [GroupTemplate(GROUP_PREFIX + key, title, tooltip, layers[key]) for key, title, tooltip in GROUP_KINDS]


def _local_attention(spec: ArchSpec, layer: Layer):
    """Sliding-window attention with the model's window if it has one (4096 if not), on
    its rotary attention (a window needs positions; Llama 4's NoPE layers are global);
    MLA models get softmax heads derived from their latent attention's."""
    roped = _first(spec, "mixer", lambda mixer: mixer.kind == "attention")
    roped = next((layer.mixer for layer in spec.layers
                  if layer.mixer_kind == "attention" and layer.mixer.rope is not None), roped)
    if roped is None:
        roped = apply_drop("gqa", SLOT_MIXER, spec, layer).mixer
    return apply_drop("sliding", SLOT_MIXER, spec, dataclasses.replace(layer, mixer=roped)).mixer


def template(spec: ArchSpec, key: str) -> GroupTemplate:
    for candidate in templates_for(spec):
        if candidate.key == key:
            return candidate
    raise Refused(f"unknown layer group {key!r}")


_LAYER_PATH = re.compile(r"^layers\[(\d+)\]")


def insert_position(spec: ArchSpec, groups, at: int) -> int:
    """The layer index where a group inserted before group `at` starts."""
    return groups[at].start if at < len(groups) else spec.num_layers


def insert_edit(spec: ArchSpec, groups, at: int, key: str) -> tuple[tuple[Layer, ...], str]:
    """The layers to insert before group `at` and the undo text; Refused, with the first
    problem, if the inserted layers would make the spec invalid."""
    if not 0 <= at <= len(groups):
        raise Refused(f"no group boundary {at}: the model has {len(groups)} groups")
    chosen = template(spec, key)
    position = insert_position(spec, groups, at)
    after = spec.with_layers(spec.layers[:position] + chosen.layers + spec.layers[position:])
    inserted = range(position, position + len(chosen.layers))
    before = {str(problem) for problem in spec.validate()}
    for problem in after.validate():
        match = _LAYER_PATH.match(problem.path)
        if (int(match.group(1)) in inserted) if match else str(problem) not in before:
            raise Refused(f"{chosen.title} ({chosen.pattern}) would make the spec invalid: {problem}")
    where = "at the start" if at == 0 else "at the end" if at == len(groups) else f"before layer {position}"
    return chosen.layers, f"Insert {chosen.pattern} {where}"
