"""The layering of docs/DESIGN.md, enforced: the import-linter contracts in
pyproject.toml hold, what each layer reaches loads nothing it must not, and app's modules
import one another without a cycle."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_the_import_contracts_hold(capsys):
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert code == 0, capsys.readouterr().out


@pytest.mark.parametrize("contract", CONTRACTS, ids=[c["name"] for c in CONTRACTS])
def test_what_a_layer_reaches_loads_nothing_forbidden(contract):
    """Import-linter follows the imports a module writes, not the package __init__ files
    that Python runs on the way to it: `from ..weights.hub import x` also runs
    app/weights/__init__.py. So import every app module the layer reaches (as the contract
    sees it, ignored imports left out) in a fresh interpreter and look at sys.modules."""
    graph = grimp.build_graph("app", cache_dir=None)
    for ignored in contract.get("ignore_imports", []):
        importer, imported = (part.strip() for part in ignored.split("->"))
        graph.remove_import(importer=importer, imported=imported)
    reached = set()
    for source in contract["source_modules"]:
        reached |= {source} | graph.find_descendants(source) | graph.find_upstream_modules(source, as_package=True)
    modules = sorted(module for module in reached if module.split(".")[0] == "app")
    forbidden = contract["forbidden_modules"]
    code = ("import importlib, json, sys\n"
            "loaded = {}\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            f"    for package in {forbidden!r}:\n"
            "        if package in sys.modules: loaded.setdefault(package, name)\n"
            "print(json.dumps(loaded))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    assert not loaded, "; ".join(f"{package} loaded on importing {module}" for package, module in loaded.items())


def _cycles(graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_app_has_no_import_cycle():
    """Every import counts, those inside functions too (a lazy import still ties the two
    modules), and a package's __init__ is a module like the others: a package that imports
    its submodules while they import it back (`from . import Entry`) is a cycle -- the
    shared piece belongs in a module of its own. Only imports under `if TYPE_CHECKING:`
    are left out: they never run, and they let a component's module name ArchSpec in its
    annotations while ArchSpec's fields name the component (one home per component)."""
    graph = grimp.build_graph("app", cache_dir=None, exclude_type_checking_imports=True)
    cycles = _cycles(graph)
    shown = []
    for component in cycles:
        members = set(component)
        shown.append(" <-> ".join(component) + ":\n" + "\n".join(
            f"    {a} -> {b}" for a in component for b in sorted(graph.find_modules_directly_imported_by(a) & members)))
    assert not cycles, "import cycles among app's modules:\n" + "\n".join(shown)


def test_the_cycle_finder_finds_one():
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d"):
        graph.add_module(module)
    for importer, imported in (("pkg.a", "pkg.b"), ("pkg.b", "pkg.c"), ("pkg.c", "pkg.a"), ("pkg.c", "pkg.d"),
                               ("pkg", "pkg.d")):
        graph.add_import(importer=importer, imported=imported)
    assert _cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
