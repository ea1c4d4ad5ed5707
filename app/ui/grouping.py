"""Layer grouping: a spec's layer list folded into repeated patterns, as the article
draws it ("5 x sliding-window GQA + 1 x global GQA", "3 dense, then 58 MoE").

Pure Python on top of `app.spec`: no Qt, so the canvas, the compare view and their
tests share one answer to "which layers are drawn as one block".
"""

from __future__ import annotations

from dataclasses import dataclass

from ..spec.components import Layer
from ..spec.ffn import known_ffn
from ..spec.mixers import known_mixer

# Longest repeating period looked for: MiMo-V2-Flash's hybrid pattern and Gemma 3 1B's
# 11:2 sliding:global ratio are the widest the catalog has.
MAX_PERIOD = 16


@dataclass(frozen=True)
class Run:
    """`count` identical consecutive layers inside one period of a group."""

    layer: Layer
    count: int


@dataclass(frozen=True)
class Block:
    """What the canvas draws as one block: a distinct layer of a group's period and the
    runs of the period that are that layer. Nemotron 3 Nano's period of seven runs (Mamba-2
    and MoE layers taking turns, one attention layer among them) is three blocks."""

    layer: Layer
    run_indices: tuple[int, ...]


@dataclass(frozen=True)
class Group:
    """Layers start .. stop-1: one period of runs, repeated `repeat` times."""

    start: int
    runs: tuple[Run, ...]
    repeat: int

    @property
    def period(self) -> int:
        return sum(run.count for run in self.runs)

    @property
    def stop(self) -> int:
        return self.start + self.period * self.repeat

    @property
    def size(self) -> int:
        return self.period * self.repeat

    def run_layer_indices(self, run_index: int) -> list[int]:
        """Every spec layer index that the run's block stands for, in all repeats."""
        offset = sum(run.count for run in self.runs[:run_index])
        count = self.runs[run_index].count
        return [self.start + r * self.period + offset + i for r in range(self.repeat) for i in range(count)]

    def layer_indices(self) -> list[int]:
        return list(range(self.start, self.stop))

    def run_label(self, run_index: int) -> str:
        """The run's layer kind; "global" is said only beside a windowed sibling."""
        windowed = any(_windowed(run.layer.mixer) for run in self.runs)
        return layer_label(self.runs[run_index].layer, say_global=windowed)

    def label(self) -> str:
        inner = " + ".join(f"{run.count} x {self.run_label(i)}" for i, run in enumerate(self.runs))
        if self.repeat == 1:
            return inner
        return f"{self.repeat} x ({inner})"

    # --- the blocks drawn for the group ------------------------------------------------------

    def blocks(self) -> tuple[Block, ...]:
        """One block per distinct layer of the period, in order of first appearance."""
        run_indices: dict[Layer, list[int]] = {}
        for index, run in enumerate(self.runs):
            run_indices.setdefault(run.layer, []).append(index)
        return tuple(Block(layer, tuple(indices)) for layer, indices in run_indices.items())

    def block_layer_indices(self, block: Block) -> list[int]:
        """Every spec layer index that the block stands for, in all repeats."""
        return sorted(i for run_index in block.run_indices for i in self.run_layer_indices(run_index))

    def block_label(self, block: Block) -> str:
        return self.run_label(block.run_indices[0])

    def layers_per_period(self, block: Block) -> int:
        return sum(self.runs[run_index].count for run_index in block.run_indices)

    def caption(self) -> str:
        """The canvas' header of the group: "58 x MoE MLA", "8 x (5 + 1) = 48 layers".

        The bare counts ("5 + 1") are the period's runs in order, one per block. Where a
        layer recurs in the period, or every run is one layer, they would not say which
        layers they count ("1 + 1 + 1 + 1 + 1 + 1 + 1"): then each block's count is
        named by its layer ("4 x (3 x Mamba-2 + 3 x MoE (no mixer) + 1 x NoPE GQA)")."""
        if len(self.runs) == 1:
            return f"{self.size} x {self.run_label(0)}"
        blocks = self.blocks()
        counts_say_enough = len(blocks) == len(self.runs) and any(run.count > 1 for run in self.runs)
        if counts_say_enough:
            inner = " + ".join(str(run.count) for run in self.runs)
        else:
            inner = " + ".join(f"{self.layers_per_period(block)} x {self.block_label(block)}" for block in blocks)
        if self.repeat > 1:
            return f"{self.repeat} x ({inner}) = {self.size} layers"
        return f"{inner} layers" if counts_say_enough else inner


def _runs(layers: tuple[Layer, ...] | list[Layer]) -> tuple[Run, ...]:
    runs: list[Run] = []
    for layer in layers:
        if runs and runs[-1].layer == layer:
            runs[-1] = Run(layer, runs[-1].count + 1)
        else:
            runs.append(Run(layer, 1))
    return tuple(runs)


def group_layers(layers: tuple[Layer, ...] | list[Layer], max_period: int = MAX_PERIOD) -> list[Group]:
    """The fewest groups that cover the layers in order (then the fewest blocks to draw,
    then the shortest periods). A period longer than one must repeat at least twice, so
    "3 dense, then 58 MoE" stays two groups and Kimi Linear's dense first layer does not
    shift its 3 : 1 pattern out of phase."""
    layers = tuple(layers)
    n = len(layers)
    # best[i]: (cost, group) of the best cover of layers[i:]; cost = (groups, blocks, periods)
    best: list[tuple[tuple[int, int, int], Group | None]] = [((0, 0, 0), None)] * (n + 1)
    for start in range(n - 1, -1, -1):
        choice = None
        for period in range(1, min(max_period, n - start) + 1):
            pattern = layers[start:start + period]
            if period > 1 and len(_runs(pattern)) == 1:
                continue  # identical layers: the period-1 run says it better
            runs = _runs(pattern)
            repeat = 1
            while True:
                stop = start + repeat * period
                if repeat >= 2 or period == 1:
                    rest_cost = best[stop][0]
                    cost = (rest_cost[0] + 1, rest_cost[1] + len(runs), rest_cost[2] + period)
                    if choice is None or cost < choice[0]:
                        choice = (cost, Group(start, runs, repeat))
                if layers[stop:stop + period] != pattern:
                    break
                repeat += 1
        best[start] = choice
    groups, start = [], 0
    while start < n:
        group = best[start][1]
        groups.append(_as_run_if_uniform(group))
        start = group.stop
    return groups


def _as_run_if_uniform(group: Group) -> Group:
    if len(group.runs) == 1 and group.repeat > 1:
        return Group(group.start, (Run(group.runs[0].layer, group.size),), 1)
    return group


def describe_groups(groups: list[Group]) -> str:
    """"3 x dense GQA, then 58 x MoE MLA"."""
    return ", then ".join(group.label() for group in groups)


# --- short names of what a layer is ------------------------------------------------------


def _windowed(mixer) -> bool:
    return mixer is not None and known_mixer(mixer).is_local


def mixer_label(mixer, say_global: bool = False) -> str:
    """A few words for a group header: "sliding-window GQA", "MLA", "Mamba-2"."""
    return "no mixer" if mixer is None else known_mixer(mixer).label(say_global)


def ffn_label(ffn) -> str:
    return "no FFN" if ffn is None else known_ffn(ffn).label()


def layer_label(layer: Layer, say_global: bool = False) -> str:
    if layer.ffn is None:
        return mixer_label(layer.mixer, say_global)
    if layer.mixer is None:
        return f"{ffn_label(layer.ffn)} (no mixer)"
    return f"{ffn_label(layer.ffn)} {mixer_label(layer.mixer, say_global)}"
