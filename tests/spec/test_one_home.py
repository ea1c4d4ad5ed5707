"""Each component kind has one home: outside the per-family data (HF converters, catalog
entries, checkpoint name maps), a mixer's spec class is named in at most five of app's
modules -- the one that defines it, the registry, its torch module, and what genuinely
builds one (the palette's attention variants, a study's GQA twin) -- so adding a kind does
not mean teaching a dozen files about it."""

import ast
from pathlib import Path

import pytest

from app.spec.mixers import MIXER_TYPES

APP = Path(__file__).resolve().parents[2] / "app"
PER_FAMILY_DATA = ("spec/hf/", "spec/catalog/", "weights/names_", "weights/name_maps")
MOST_FILES = 5


def _spec_imports() -> dict[str, set[str]]:
    """Spec class name -> the app modules that import it from app.spec (any submodule)."""
    found: dict[str, set[str]] = {}
    for path in APP.rglob("*.py"):
        relative = path.relative_to(APP).as_posix()
        if relative.startswith(PER_FAMILY_DATA):
            continue
        package = ["app", *path.relative_to(APP).parent.parts]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            if module == "app.spec" or module.startswith(("app.spec.mixers", "app.spec.components")):
                for alias in node.names:
                    found.setdefault(alias.name, set()).add(relative)
    return found


@pytest.mark.parametrize("kind", MIXER_TYPES, ids=lambda kind: kind.__name__)
def test_a_mixer_spec_class_is_imported_by_few_modules(kind):
    importers = _spec_imports().get(kind.__name__, set())
    assert importers, f"the scan found no importer of {kind.__name__}: it no longer reads the imports"
    named_in = len(importers) + 1  # and the module that defines it
    assert named_in <= MOST_FILES, f"{kind.__name__} is imported by {sorted(importers)}"
