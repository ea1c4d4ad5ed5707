"""A file that describes an architecture: a spec document (schema "archscope.spec/1") or a
Hugging Face config.json. `spec_from_file` is the one reader for the CLI and the window, so
both refuse a hostile file the same way: every problem a SpecError that names the file.
`load_spec` takes what the command line does: such a file, or a catalog name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from . import catalog
from .arch import ArchSpec
from .errors import Problem, SpecError


class SpecFile(NamedTuple):
    spec: ArchSpec
    is_document: bool  # a spec document, not an HF config.json: saving may write the spec back to it


def spec_from_file(path: str | Path) -> SpecFile:
    """The architecture a spec document or a Hugging Face config.json describes (which of
    the two: a document has a "schema" key)."""
    from .hf import spec_from_hf_config
    from .serialize import spec_from_dict

    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as error:  # RecursionError: nested too deeply for the parser
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise SpecError([Problem(str(path), f"not valid JSON: {reason}")]) from None
    is_document = isinstance(document, dict) and "schema" in document
    try:
        if is_document:
            return SpecFile(spec_from_dict(document), True)
        return SpecFile(spec_from_hf_config(document, name=path.parent.name or path.stem), False)
    except SpecError as error:  # each problem names its field; say which file it is in
        raise SpecError([Problem(f"{path}: {problem.path}" if problem.path else str(path), problem.message)
                         for problem in error.problems]) from None


def load_spec(name: str, scale: str = "full") -> ArchSpec:
    """What a name on the command line means: a catalog name (at `scale`), or a spec JSON
    file or Hugging Face config.json (read as they are)."""
    path = Path(name)
    if path.suffix == ".json" and path.is_file():
        return spec_from_file(path).spec
    return catalog.get(name, scale)
