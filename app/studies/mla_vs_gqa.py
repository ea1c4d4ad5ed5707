"""§1.1 of the comparison: DeepSeek V3's multi-head latent attention against the grouped-
query attention it was not given, and the multi-head attention both replace."""

from __future__ import annotations

from dataclasses import replace

from ..spec.mixers import Attention
from ..spec.parts import Rope
from ..units import human_bytes
from .common import (
    ONE_LAYER,
    common_contexts,
    context_study,
    decode_rows,
    entry,
    layer_model,
    measured_at,
    published_contexts,
    times,
)
from .listing import LISTINGS
from .study import Arm, Settings, Study, StudyResult

QUESTION = ("It would have been interesting to see the KV cache per token savings comparison between MLA "
            "and GQA.")
# Llama 3.1 405B's grouping of 128 query heads: the GQA a model of DeepSeek V3's width would have had
GQA_KV_HEADS_PER_128 = 8


def arms(settings: Settings) -> list[Arm]:
    deepseek = entry("deepseek-v3", settings)
    first = deepseek.layers[0]  # the dense layers come first; their attention is every layer's
    mla = first.mixer
    heads, head_dim = mla.num_heads, mla.v_head_dim
    rope = Rope(mla.rope.theta if mla.rope else 10_000.0, head_dim)
    gqa_kv = max(1, heads * GQA_KV_HEADS_PER_128 // 128)
    gqa = Attention(num_heads=heads, num_kv_heads=gqa_kv, head_dim=head_dim, rope=rope)
    mha = replace(gqa, num_kv_heads=heads)

    def model(mixer, label):
        return layer_model(deepseek, [replace(first, mixer=mixer, ffn=None)], f"{deepseek.name}: {label}")

    return [
        Arm("MLA", model(mla, "MLA"), f"DeepSeek V3's attention layer: {mla.describe()}"),
        Arm(f"GQA {heads}/{gqa_kv}", model(gqa, "GQA"),
            f"the same query heads with {gqa_kv} key/value heads of width {head_dim} (Llama 3.1 405B's "
            f"{128 // GQA_KV_HEADS_PER_128} query heads per group): {gqa.describe()}"),
        Arm(f"MHA {heads}/{heads}", model(mha, "MHA"), f"one key/value head per query head: {mha.describe()}"),
    ]


def contexts(settings: Settings) -> list[int]:
    return published_contexts(settings, tiny=[64, 256],
                              quick=[512, 2048, 8192], full=[1024, 4096, 16384, 65536, 131072])


def run(settings: Settings) -> StudyResult:
    return context_study(LISTINGS["mla-vs-gqa"], QUESTION, arms(settings), contexts(settings), settings,
                         decode_rows, [ONE_LAYER], answer, "layer_ms", "Decode step of one layer")


def answer(result: StudyResult) -> str:
    """At the longest context every arm reached: how many times fewer cache bytes per token
    MLA holds than each other arm, and the decode time of each arm's layer."""
    labels = list(dict.fromkeys(row.arm for row in result.rows))
    common = common_contexts(result, "layer_ms", labels)
    if not common:
        return "No context length fit every arm in memory; see the notes."
    context = max(common)
    per_token = {label: measured_at(result, "kv_bytes_per_token", label, context) for label in labels}
    took = {label: measured_at(result, "layer_ms", label, context) for label in labels}
    mla, others = labels[0], labels[1:]
    savings = " and ".join(times(per_token[mla], per_token[other], other) for other in others)
    timing = ", ".join(f"{label} {took[label]:.2f} ms" for label in labels)
    return (f"At {int(context):,} tokens MLA holds {human_bytes(per_token[mla])} of cache per token, "
            f"{savings} ({', '.join(human_bytes(per_token[other]) for other in others)}); one decode step "
            f"of the layer took {timing}.")


STUDY = Study(LISTINGS["mla-vs-gqa"], QUESTION, run, answer)
