"""Checkpoint names of xLSTM (transformers' xlstm: NX-AI/xLSTM-7b), as the published
checkpoint stores them and transformers' save_pretrained writes them back.

The decoder lives under `backbone.`: `embeddings`, `blocks.N` and `out_norm` (the final
norm); the head is `lm_head`. A block's pre-norms are `norm_mlstm` and `norm_ffn`, its mixer
`mlstm_layer` (q, k, v, the gates' `*_preact` projections, the per-head `multihead_norm`
and `out_proj`), its SwiGLU `ffn` with the gate, up and down projections named
`proj_up_gate`, `proj_up` and `proj_down`.
"""

from __future__ import annotations

from ..spec import ArchSpec
from .names_llama import NameMap

NORMS = {"pre_mixer_norm": "norm_mlstm", "pre_ffn_norm": "norm_ffn"}
MIXER_NAMES = {"q": "q", "k": "k", "v": "v", "ogate": "ogate_preact", "igate": "igate_preact",
               "fgate": "fgate_preact", "out_proj": "out_proj"}
MLP_NAMES = {"gate_proj": "proj_up_gate", "up_proj": "proj_up", "down_proj": "proj_down"}


def _layer(index: int, module: str, rest: str) -> str:
    block = f"backbone.blocks.{index}"
    if module in NORMS:
        return f"{block}.{NORMS[module]}.{rest}"
    first, _, leaf = rest.partition(".")
    if module == "mixer":
        if first == "norm_weight":
            return f"{block}.mlstm_layer.multihead_norm.weight"
        return f"{block}.mlstm_layer.{MIXER_NAMES[first]}.{leaf}"
    return f"{block}.ffn.{MLP_NAMES[first]}.{leaf}"


def xlstm(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping: NameMap = {}
    for ours in our_names:
        parts = ours.split(".")
        if parts[0] == "layers":
            mapping[ours] = (_layer(int(parts[1]), parts[2], ".".join(parts[3:])), None)
        elif parts[0] == "final_norm":
            mapping[ours] = (f"backbone.out_norm.{parts[-1]}", None)
        elif parts[0] == "embed_tokens":
            mapping[ours] = ("backbone.embeddings.weight", None)
        else:
            mapping[ours] = (ours, None)  # lm_head.weight
    return mapping


NAME_MAPS = {"xlstm": xlstm}
