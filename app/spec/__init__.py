"""Architectures as data: specs, the catalog, validation, analysis, HF config mapping.

Pure Python: nothing here imports torch or Qt, so the catalog and its analysis are
instant and testable anywhere.
"""

from . import catalog
from .arch import SPEC_SCHEMA, ArchSpec
from .components import Layer
from .ffn import MLP, MoE, Router
from .mixers import (
    Attention,
    CrossAttention,
    GatedDeltaNet,
    KimiDeltaAttention,
    LightningAttention,
    Mamba2,
    MultiHeadLatentAttention,
    SparseIndexer,
)
from .parts import Norm, QKNorm, Rope, RopeScaling
from .errors import Problem, SpecError

__all__ = [
    "SPEC_SCHEMA", "ArchSpec", "catalog", "Problem", "SpecError", "Attention", "CrossAttention", "GatedDeltaNet",
    "KimiDeltaAttention", "Layer", "LightningAttention", "MLP", "Mamba2", "MoE", "MultiHeadLatentAttention",
    "Norm", "QKNorm", "Rope", "RopeScaling", "Router", "SparseIndexer",
]
