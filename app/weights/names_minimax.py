"""Checkpoint names of MiniMax-01 / MiniMax-M1 (transformers' `minimax`), as transformers'
save_pretrained writes them.

The Llama lineage's layout, with Mixtral's feed-forward names (block_sparse_moe, its gate,
experts.N.w1/w3/w2 -- the same as MiniMax-M2). The lightning layers keep their q, k, v in
one fused qkv_proj, laid out per head as [q | k | v] rows, exactly as our module does, so
it loads as is.

Deliberately left unread: each lightning layer's `slope_rate`, `query_decay`, `key_decay`
and `diagonal_decay`. transformers saves these buffers, but they are fixed functions of
the head count, the layer's depth and the block size, which our module computes from the
spec; the parity tests check that the two agree.
"""

from __future__ import annotations

from ..spec import ArchSpec
from ..spec.mixers import LightningAttention
from .names_llama import NameMap
from .names_moe import moe_lineage, per_expert

mixtral_names = moe_lineage("block_sparse_moe", "gate",
                            per_expert({"gate_proj": "w1.weight", "up_proj": "w3.weight", "down_proj": "w2.weight"}))

# Our module inside a lightning layer -> the checkpoint's.
LIGHTNING_NAMES = {"gate_proj": "output_gate", "output_norm": "norm", "o_proj": "out_proj", "qkv_proj": "qkv_proj"}

# The derived buffers of a lightning layer the loader does not read (see above).
DERIVED_BUFFERS = ("slope_rate", "query_decay", "key_decay", "diagonal_decay")


def minimax_lineage(spec: ArchSpec, our_names: list[str]) -> NameMap:
    mapping = mixtral_names(spec, our_names)
    for ours, (theirs, transform) in mapping.items():
        parts = ours.split(".")
        if parts[0] != "layers" or parts[2] != "mixer" or not isinstance(spec.layers[int(parts[1])].mixer,
                                                                         LightningAttention):
            continue
        prefix, separator, rest = theirs.partition(".self_attn.")
        module, dot, leaf = rest.partition(".")
        mapping[ours] = (prefix + separator + LIGHTNING_NAMES[module] + dot + leaf, transform)
    return mapping


NAME_MAPS = {"minimax": minimax_lineage}
