"""Architectures as data: specs, the catalog, validation, analysis, HF config mapping.

Pure Python: nothing here imports torch or Qt, so the catalog and its analysis are
instant and testable anywhere. The parts of a layer are imported from their homes:
`app.spec.mixers`, `app.spec.ffn`, `app.spec.parts` (norms, rope), `app.spec.components`
(Layer).
"""

from . import catalog
from .arch import SPEC_SCHEMA, ArchSpec
from .components import Layer
from .errors import Problem, SpecError

__all__ = ["SPEC_SCHEMA", "ArchSpec", "catalog", "Layer", "Problem", "SpecError"]
