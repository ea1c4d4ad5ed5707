"""Architectures as data: specs, the catalog, validation, analysis, HF config mapping.

Pure Python: nothing here imports torch or Qt, so the catalog and its analysis are
instant and testable anywhere.
"""

from . import catalog
from .arch import SPEC_SCHEMA, ArchSpec
from .components import (
    MLP,
    Attention,
    CrossAttention,
    GatedDeltaNet,
    KimiDeltaAttention,
    Layer,
    LightningAttention,
    Mamba2,
    MoE,
    MultiHeadLatentAttention,
    Norm,
    QKNorm,
    Rope,
    RopeScaling,
    Router,
    SparseIndexer,
)
from .errors import Problem, SpecError

__all__ = [
    "SPEC_SCHEMA", "ArchSpec", "catalog", "Problem", "SpecError", "Attention", "CrossAttention", "GatedDeltaNet",
    "KimiDeltaAttention", "Layer", "LightningAttention", "MLP", "Mamba2", "MoE", "MultiHeadLatentAttention",
    "Norm", "QKNorm", "Rope", "RopeScaling", "Router", "SparseIndexer",
]
