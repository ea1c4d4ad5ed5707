"""What differs between two specs: the delta table's rows and the block-by-block
pairing of the compare view. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest

from ..spec import ArchSpec, catalog
from ..spec.analysis import analyze
from ..spec.summary import catalog_row
from .grouping import Group, group_layers
from ..units import human_bytes, human_count
from .labels import ffn_text, mixer_text, norm_title

# The article's pairs (catalog slugs).
PRESETS: tuple[tuple[str, str], ...] = (
    ("deepseek-v3", "llama4-maverick"),
    ("gemma3-27b", "mistral-small-3.1"),
    ("qwen3-0.6b", "llama3-1b"),
    ("gpt-oss-20b", "qwen3-30b-a3b"),
    ("deepseek-v3", "kimi-k2"),
    ("deepseek-v3", "mistral-3-large"),
    ("qwen3-next-80b-a3b", "kimi-linear-48b-a3b"),
    ("olmo2-7b", "llama3-8b"),
    ("olmo3-7b", "qwen3-8b"),
    ("grok-2.5", "qwen3-235b-a22b"),
)


def preset_title(pair: tuple[str, str]) -> str:
    return " vs ".join(catalog.entry(name).title.split(" (")[0] for name in pair)


@dataclass(frozen=True)
class DeltaRow:
    field: str
    a: object  # compared values
    b: object
    text_a: str
    text_b: str

    @property
    def differs(self) -> bool:
        return self.a != self.b


def _first_attending(spec: ArchSpec):
    """The first mixer that attends to its context (softmax attention or MLA)."""
    return next((layer.mixer for layer in spec.layers if layer.attends_to_context), None)


def _positions(spec: ArchSpec) -> str:
    kinds = []
    for layer in spec.layers:
        if not layer.attends_to_context:
            continue
        kind = layer.mixer.position_kind
        if kind == "NoPE" and spec.learned_positions:
            kind = "learned"
        if kind not in kinds:
            kinds.append(kind)
    return " + ".join(kinds) or "-"


def _qk_norm(spec: ArchSpec) -> str:
    scopes = {layer.mixer.qk_norm.scope for layer in spec.layers
              if layer.mixer_kind == "attention" and layer.mixer.qk_norm is not None}
    return {"head": "per head", "all_heads": "all heads"}.get(next(iter(scopes)), "") if scopes else "none"


def _dense_hidden(spec: ArchSpec) -> int:
    return next((layer.ffn.intermediate_size for layer in spec.layers if layer.ffn_kind == "mlp"), 0)


def _expert_hidden(spec: ArchSpec) -> int:
    return next((layer.ffn.expert.intermediate_size for layer in spec.layers if layer.ffn_kind == "moe"), 0)


def _head_dim(spec: ArchSpec) -> int:
    mixer = _first_attending(spec)
    return mixer.query_key_dim if mixer is not None else 0


def delta_rows(a: ArchSpec, b: ArchSpec) -> list[DeltaRow]:
    row_a, row_b = catalog_row(a), catalog_row(b)
    analysis_a, analysis_b = analyze(a), analyze(b)

    def plain(field, value_a, value_b, show=str):
        return DeltaRow(field, value_a, value_b, show(value_a), show(value_b))

    def count(value):
        return human_count(value) if value else "-"

    return [
        plain("layers", a.num_layers, b.num_layers),
        plain("width (d_model)", a.d_model, b.d_model, lambda v: f"{v:,}"),
        plain("vocabulary", a.vocab_size, b.vocab_size, lambda v: f"{v:,}"),
        plain("attention", row_a["attention"], row_b["attention"]),
        plain("layer pattern", " | ".join(g.label() for g in group_layers(a.layers)),
              " | ".join(g.label() for g in group_layers(b.layers))),
        plain("query heads", row_a["heads"], row_b["heads"]),
        plain("KV heads", row_a["kv_heads"], row_b["kv_heads"]),
        plain("head dim", _head_dim(a), _head_dim(b)),
        plain("positions", _positions(a), _positions(b)),
        plain("QK-norm", _qk_norm(a), _qk_norm(b)),
        plain("norm placement", a.layers[0].norm_placement, b.layers[0].norm_placement),
        plain("norm", norm_title(a.layers[0].norm), norm_title(b.layers[0].norm)),
        plain("dense FFN hidden", _dense_hidden(a), _dense_hidden(b), count),
        plain("experts", row_a["experts"], row_b["experts"], count),
        plain("experts active", row_a["experts_active"], row_b["experts_active"], count),
        plain("shared experts", row_a["experts_shared"], row_b["experts_shared"], count),
        plain("expert hidden", _expert_hidden(a), _expert_hidden(b), count),
        plain("total params", analysis_a.total_params, analysis_b.total_params, human_count),
        plain("active params", analysis_a.active_params, analysis_b.active_params, human_count),
        plain("KV / token (bf16)", analysis_a.kv_bytes_per_token(2), analysis_b.kv_bytes_per_token(2), human_bytes),
        plain("KV at 128k (bf16)", analysis_a.kv_bytes_at(131_072, 2), analysis_b.kv_bytes_at(131_072, 2),
              human_bytes),
        plain("tied embeddings", a.tie_embeddings, b.tie_embeddings, lambda v: "yes" if v else "no"),
    ]


# --- block by block -----------------------------------------------------------------------------


def _blocks(groups: list[Group]) -> list[tuple[int, int]]:
    """(group, run) of each block the canvas draws, in drawing order: a block is keyed by
    its first run, as the canvas keys its boxes."""
    return [(group_index, block.run_indices[0]) for group_index, group in enumerate(groups)
            for block in group.blocks()]


def _slot_texts(layer) -> dict[str, tuple]:
    return {"mixer": mixer_text(layer.mixer), "ffn": ffn_text(layer.ffn),
            "norm": (layer.norm_placement, norm_title(layer.norm))}


def differing_slots(a: ArchSpec, b: ArchSpec) -> tuple[set, set]:
    """(group, run, slot) keys of the boxes to highlight on each side: blocks are paired
    in drawing order, and a box differs when its drawn text differs (an unpaired block
    differs whole)."""
    groups_a, groups_b = group_layers(a.layers), group_layers(b.layers)
    marks_a, marks_b = set(), set()
    for key_a, key_b in zip_longest(_blocks(groups_a), _blocks(groups_b)):
        texts_a = _slot_texts(groups_a[key_a[0]].runs[key_a[1]].layer) if key_a else {}
        texts_b = _slot_texts(groups_b[key_b[0]].runs[key_b[1]].layer) if key_b else {}
        for slot in ("mixer", "ffn", "norm"):
            if texts_a.get(slot) != texts_b.get(slot):
                if key_a:
                    marks_a.add((*key_a, slot))
                if key_b:
                    marks_b.add((*key_b, slot))
    return marks_a, marks_b
