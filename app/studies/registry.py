"""Every study, by the name `archscope study NAME` takes, in the order listing.py lists them."""

from __future__ import annotations

from . import (attention_budget, experts, linear_hybrids, mla_vs_gqa, per_layer_embeddings, sliding_window,
               sparse_attention, width_depth)
from .listing import LISTINGS
from .study import Study

_ALL = (mla_vs_gqa, sliding_window, linear_hybrids, sparse_attention, width_depth, per_layer_embeddings,
        attention_budget, experts)
STUDIES: dict[str, Study] = {name: next(module.STUDY for module in _ALL if module.STUDY.name == name)
                             for name in LISTINGS}
