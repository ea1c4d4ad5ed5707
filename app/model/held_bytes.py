"""The bytes per weight a loaded model's projections really hold, for the roofline
(app/spec/roofline.py's MatrixBytes): a GGUF file's matrices kept low-bit take a fraction of
the run's dtype. Apart from app/model/lowbit.py because it reads every kind of layer (the
routed experts' module imports the layers that import lowbit)."""

from __future__ import annotations

from torch import nn

from ..spec.roofline import MatrixBytes
from .experts import RoutedExperts
from .lowbit import LowBitEmbedding, LowBitLinear


def matrix_bytes(model: nn.Module) -> MatrixBytes | None:
    """The bytes per weight each part of the model's projections really takes (for the
    roofline), or None when every matrix is in the run's dtype. A feed-forward part averages
    over its matrices by weight count: an MoE layer's routed experts (low-bit, held as
    LowBitLinears, or float parameters) and its router and shared experts."""
    if not any(isinstance(module, LowBitLinear) for module in model.modules()):
        return None
    dtype_bytes = model.dtype.itemsize

    def per_weight(part: nn.Module | None) -> float:
        held = counted = 0
        for module in part.modules() if part is not None else ():
            if isinstance(module, LowBitLinear):
                held, counted = held + module.weight_bytes(), counted + module.in_features * module.out_features
            elif isinstance(module, nn.Linear):
                held, counted = held + module.weight.nbytes, counted + module.weight.numel()
            elif isinstance(module, RoutedExperts):  # float experts: stacked parameters, not linears
                stacked = [getattr(module, name) for name in module.held_matrices()]
                held, counted = held + sum(t.nbytes for t in stacked), counted + sum(t.numel() for t in stacked)
        return held / counted if counted else dtype_bytes

    embedding = model.embed_tokens
    return MatrixBytes(tuple(per_weight(block.mixer) for block in model.layers),
                       tuple(per_weight(block.ffn) for block in model.layers), per_weight(model.lm_head),
                       per_weight(embedding.matrix) if isinstance(embedding, LowBitEmbedding) else dtype_bytes)
