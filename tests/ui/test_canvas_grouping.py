"""Layer grouping: the article's patterns come out as the article says them."""

import dataclasses

import pytest

from app.spec import catalog
from app.ui.grouping import describe_groups, group_layers


def test_every_entry_is_covered_exactly_once():
    for name in catalog.names():
        spec = catalog.get(name)
        groups = group_layers(spec.layers)
        covered = [index for group in groups for index in group.layer_indices()]
        assert covered == list(range(spec.num_layers)), name
        for group in groups:  # every block stands for layers identical to it
            for run_index, run in enumerate(group.runs):
                assert all(spec.layers[i] == run.layer for i in group.run_layer_indices(run_index)), name


def test_every_layer_of_a_group_is_in_exactly_one_block_of_identical_layers():
    for name in catalog.names():
        spec = catalog.get(name)
        for group in group_layers(spec.layers):
            blocks = group.blocks()
            assert len({block.layer for block in blocks}) == len(blocks), name
            indices = [i for block in blocks for i in group.block_layer_indices(block)]
            assert sorted(indices) == group.layer_indices(), name
            for block in blocks:
                assert all(spec.layers[i] == block.layer for i in group.block_layer_indices(block)), name


def test_a_period_of_layers_taking_turns_is_one_block_per_distinct_layer():
    groups = group_layers(catalog.get("nemotron-3-nano-30b-a3b").layers)
    assert [len(group.runs) for group in groups] == [7, 9, 2]
    first = groups[0]
    assert [(first.layers_per_period(block), first.block_label(block)) for block in first.blocks()] == [
        (3, "Mamba-2"), (3, "MoE (no mixer)"), (1, "NoPE GQA")]
    assert [len(group.blocks()) for group in groups] == [3, 3, 2]


@pytest.mark.parametrize("name, expected", [
    ("deepseek-v3", "3 x dense MLA, then 58 x MoE MLA"),
    ("gemma3-12b", "8 x (5 x dense sliding-window GQA + 1 x dense global GQA)"),
    ("qwen3-next-80b-a3b", "12 x (3 x MoE Gated DeltaNet + 1 x MoE gated GQA)"),
    ("llama3-8b", "32 x dense GQA"),
    ("gpt-oss-20b", "12 x (1 x MoE sliding-window GQA + 1 x MoE global GQA)"),
])
def test_article_patterns(name, expected):
    assert describe_groups(group_layers(catalog.get(name).layers)) == expected


def test_a_changed_layer_splits_its_run():
    layers = list(catalog.get("llama3-1b").layers)
    layers[5] = dataclasses.replace(layers[5], norm_placement="post")
    groups = group_layers(layers)
    assert [(g.start, g.size) for g in groups] == [(0, 5), (5, 1), (6, 10)]


def test_empty():
    assert group_layers([]) == []
