"""Plain-data summaries of a spec: one catalog row, and the per-layer table.

Shared by the command line and the UI, which only format them.
"""

from __future__ import annotations

from collections import Counter

from .analysis import analyze
from .arch import ArchSpec
from .mixers import known_mixer

LONG_CONTEXTS = (32_768, 131_072)


def _attention_heads(spec: ArchSpec) -> tuple[int, int]:
    """(query heads, key/value heads) of the first layer attending to its context."""
    for layer in spec.layers:
        if layer.attends_to_context:
            return layer.mixer.num_heads, layer.mixer.num_kv_heads
    return 0, 0


def mixer_pattern(spec: ArchSpec) -> str:
    """The attention kind in a few words: "GQA 32/8", "GQA 32/16x128, 52 sliding 1024 + 10
    global", "GQA 16/2x256 gated, 36 Gated DeltaNet + 12 global"."""
    mixers = [layer.mixer for layer in spec.layers if layer.mixer is not None]
    if not mixers:
        return "-"
    first_attention = next((layer.mixer for layer in spec.layers if layer.attends_to_context), None)
    head = first_attention.headline() if first_attention is not None else ""
    counts = Counter(_group_label(m, first_attention) for m in mixers)
    if len(counts) == 1:
        return head or next(iter(counts))
    # Layer counts, not a reduced ratio: Gemma 3 27B's 62 layers are 52 sliding + 10
    # global, which "26 : 5" would only obscure.
    mix = " + ".join(f"{count} {label}" for label, count in counts.items())
    return f"{head}, {mix}" if head else mix


def _group_label(mixer, first_attention) -> str:
    """A mixer's pattern label, with its query heads when they differ from those the
    headline names (Laguna XS.2: "30 sliding 512 (64 heads)" beside 48-head global layers)."""
    heads = getattr(mixer, "num_heads", None) if known_mixer(mixer).attends_to_context else None
    if first_attention is None or heads is None or heads == getattr(first_attention, "num_heads", heads):
        return mixer.pattern_label
    return f"{mixer.pattern_label} ({heads} heads)"


def experts(spec: ArchSpec) -> tuple[int, int, int]:
    """(routed experts, active per token, shared) of the first MoE layer; zeros if dense."""
    for layer in spec.layers:
        if layer.ffn_kind == "moe":
            return layer.ffn.num_experts, layer.ffn.top_k, int(layer.ffn.shared is not None)
    return 0, 0, 0


def catalog_row(spec: ArchSpec, dtype_bytes: int = 2) -> dict:
    analysis = analyze(spec)
    heads, kv_heads = _attention_heads(spec)
    routed, active, shared = experts(spec)
    return {
        "name": spec.name,
        "family": spec.family,
        "layers": spec.num_layers,
        "d_model": spec.d_model,
        "heads": heads,
        "kv_heads": kv_heads,
        "attention": mixer_pattern(spec),
        "experts": routed,
        "experts_active": active,
        "experts_shared": shared,
        "total_params": analysis.total_params,
        "active_params": analysis.active_params,
        "embedding_params": analysis.embedding_params,
        "head_params": analysis.head_params,
        "per_layer_embedding_params": analysis.per_layer_embedding_params,
        "kv_bytes_per_token": analysis.kv_bytes_per_token(dtype_bytes),
        **{f"kv_bytes_at_{n // 1024}k": analysis.kv_bytes_at(n, dtype_bytes) for n in LONG_CONTEXTS},
    }


def layer_rows(spec: ArchSpec, dtype_bytes: int = 2) -> list[dict]:
    return [
        {
            "index": row.index,
            "mixer": row.mixer,
            "ffn": row.ffn,
            "params": row.params,
            "active_params": row.active_params,
            "kv_bytes_per_token": row.kv_bytes_per_token(dtype_bytes),
            "window": row.window,
            "state_bytes": row.state_values * dtype_bytes,
        }
        for row in analyze(spec).layers
    ]
