"""§16 of the comparison: DeepSeek V3.2's sparse attention against V3's dense MLA. The
lightning indexer scores every cached token so that attention reads only the top k; below
k tokens it is pure overhead, and the study finds where the selection starts to pay."""

from __future__ import annotations

from dataclasses import replace

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
)
from .listing import LISTINGS
from .study import Arm, Settings, Study, StudyResult

QUESTION = ("Where does DeepSeek V3.2's sparse attention -- a lightning indexer choosing, for each query, the "
            "top-k past tokens to attend to -- start to make decoding cheaper than V3's dense MLA, and what does "
            "the indexer itself cost?")
SPARSE, DENSE = "V3.2 sparse MLA", "V3 dense MLA"


def arms(settings: Settings) -> list[Arm]:
    v32 = entry("deepseek-v3.2", settings)
    layer = replace(v32.layers[0], ffn=None)
    dense = replace(layer, mixer=replace(layer.mixer, indexer=None))
    return [
        Arm(SPARSE, layer_model(v32, [layer], f"{v32.name}: sparse"),
            f"DeepSeek V3.2's attention layer: {layer.mixer.describe()}"),
        Arm(DENSE, layer_model(v32, [dense], f"{v32.name}: dense"),
            f"the same layer without its indexer, as DeepSeek V3 has it: {dense.mixer.describe()}"),
    ]


def contexts(settings: Settings) -> list[int]:
    return published_contexts(settings, tiny=[64, 512], quick=[1024, 4096, 8192],
                              full=[1024, 2048, 4096, 16384, 65536, 131072])


def run(settings: Settings) -> StudyResult:
    top_k = entry("deepseek-v3.2", settings).layers[0].mixer.indexer.top_k
    return context_study(LISTINGS["sparse-attention"], QUESTION, arms(settings), contexts(settings), settings,
                         decode_rows, [f"the indexer keeps the top {top_k:,} tokens", ONE_LAYER], answer, "layer_ms",
                         "Decode step of one layer", quoted=False)


def answer(result: StudyResult) -> str:
    """Where the sparse layer's decode step first beats the dense one, and both at the
    longest context they share, with the index keys' extra cache."""
    common = sorted(common_contexts(result, "layer_ms", [SPARSE, DENSE]))
    if not common:
        return "No context length fit both arms in memory; see the notes."
    context = common[-1]
    took = {arm: measured_at(result, "layer_ms", arm, context) for arm in (SPARSE, DENSE)}
    per_token = {arm: measured_at(result, "kv_bytes_per_token", arm, context) for arm in (SPARSE, DENSE)}
    pays = next((x for x in common if measured_at(result, "layer_ms", SPARSE, x)
                 < measured_at(result, "layer_ms", DENSE, x)), None)
    where = (f"the selection first paid at {int(pays):,} tokens" if pays is not None
             else f"the selection did not pay up to {int(context):,} tokens")
    return (f"{where[0].upper()}{where[1:]}; at {int(context):,} tokens a decode step of the sparse layer took "
            f"{took[SPARSE]:.2f} ms against {took[DENSE]:.2f} ms dense ({took[DENSE] / took[SPARSE]:.2f}x as fast), "
            f"its index keys adding {human_bytes(per_token[SPARSE] - per_token[DENSE])} of cache per token to "
            f"{human_bytes(per_token[DENSE])}.")


STUDY = Study(LISTINGS["sparse-attention"], QUESTION, run, answer)
