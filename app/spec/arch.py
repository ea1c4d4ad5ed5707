"""ArchSpec: a whole decoder-only model as data, with its layers listed one by one.

Patterns such as "5 local : 1 global" are resolved when a spec is made (see
`patterns`), so everything downstream indexes `spec.layers[i]` the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from . import validation
from .components import Layer
from .hyper_connections import HyperConnections
from .ngram_embedding import NgramEmbedding
from .on_device import AltUp, MatFormer, PerLayerEmbedding
from .parts import Norm
from .vision import VisionFrontEnd

SPEC_SCHEMA = "archscope.spec/1"


@dataclass(frozen=True)
class ArchSpec:
    """Equality compares the architecture, not its labels (name, family, notes)."""

    name: str = field(compare=False)
    vocab_size: int
    d_model: int
    layers: tuple[Layer, ...]
    final_norm: Norm = Norm()
    tie_embeddings: bool = False
    embedding_scale: bool = False  # Gemma: embeddings multiplied by sqrt(d_model)
    embedding_multiplier: float = 1.0  # Granite: embeddings times a published constant (12.0)
    # ZAYA1: the embedding plus a learned bias, times a learned scale (two d_model vectors)
    embedding_affine: bool = False
    learned_positions: int = 0  # GPT-2: a learned position table of this many rows
    max_context: int = 0  # published maximum context length
    final_logit_softcap: float = 0.0  # 0: none
    # Grok 2.5: logits times output_multiplier_scale (0.5); Cohere2: times logit_scale;
    # Granite: divided by logits_scaling, so times its reciprocal
    output_logit_scale: float = 1.0
    mtp_layers: int = 0  # multi-token-prediction modules (DeepSeek V3, GLM-4.5, ...)
    model_type: str = ""  # the Hugging Face model_type this spec converts to
    # Gemma 3n's on-device parts (app/spec/on_device.py); None: absent
    per_layer_embedding: PerLayerEmbedding | None = None
    altup: AltUp | None = None
    matformer: MatFormer | None = None
    vision: VisionFrontEnd | None = None  # a multimodal model's image path; None: text only
    # LongCat-Flash-Lite's hashed n-gram tables beside the token embedding; None: absent
    ngram_embedding: NgramEmbedding | None = None
    # DeepSeek V4's manifold-constrained hyper-connections: several residual streams per
    # token, mixed around every sublayer; None: the one ordinary residual
    hyper_connections: HyperConnections | None = None
    family: str = field(default="", compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def with_layers(self, layers) -> ArchSpec:
        return replace(self, layers=tuple(layers))

    def validate(self) -> list:
        """Every structural problem (see `validation`); JSON is `serialize`'s, which builds on
        this class and so is not a method of it."""
        return validation.validate(self)
