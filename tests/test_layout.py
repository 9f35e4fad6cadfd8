"""The package layout: tiers import only downwards, no import cycles, no private names imported
across modules, no layer-kind branches outside the kind modules, modules stay short, the public
API resolves."""

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pytest

import eie_sim

PKG = Path(eie_sim.__file__).parent
BASE = {"config", "errors", "budget", "progress", "_jit", "_lazy", "_version"}
#: what each subpackage may import (besides itself and the base modules config, errors)
ALLOWED = {
    "contract": set(),
    "cycle": {"contract"},
    "train": {"contract"},
    "cost": {"contract", "cycle"},
    "io": {"contract", "train"},
    "explore": {"contract", "cycle", "cost", "train", "io"},
    "codesign": {"contract", "cycle", "cost", "train", "io", "explore"},
    "cli": {"contract", "cycle", "cost", "train", "io", "explore", "codesign"},
}
TIERS = set(ALLOWED)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``path`` that names eie_sim or eie_rtl."""
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names = [f"{mod}.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names] if not node.module else [(node.lineno, mod)]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(ln, m) for ln, m in found if m.split(".")[0] in ("eie_sim", "eie_rtl")]


def _tier(module: str) -> str:
    """'' for the package root, the subpackage name, or 'base' for config / errors."""
    parts = module.split(".")
    if len(parts) == 1:
        return ""
    return parts[1] if parts[1] in TIERS else ("base" if parts[1] in BASE else parts[1])


def test_tiers_import_only_downwards():
    wrong = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.parts == ("__init__.py",):
            continue  # the root re-exports the public API
        own = rel.parts[0] if len(rel.parts) > 1 else "base"
        for line, mod in _imports(path):
            if mod.startswith("eie_rtl"):
                ok = own == "cli"
            else:
                target = _tier(mod)
                ok = target in ("base", own) or target in ALLOWED.get(own, set())
                if own == "base":
                    ok = target == "base" or mod in ("eie_sim._version",)
            if not ok:
                wrong.append(f"eie_sim/{rel}:{line} imports {mod}")
    assert not wrong, "\n".join(wrong)


def test_rtl_imports_only_the_contract_the_cycle_model_and_the_cost_model():
    rtl = Path(__file__).resolve().parents[1] / "rtl" / "eie_rtl"
    wrong = [f"{p.name}:{ln} imports {m}" for p in sorted(rtl.glob("*.py")) for ln, m in _imports(p)
             if m.startswith("eie_sim") and _tier(m) not in ("", "base", "contract", "cycle", "cost")]
    assert not wrong, "\n".join(wrong)


def test_every_module_under_600_lines():
    long = {str(p.relative_to(PKG)): n for p in PKG.rglob("*.py") if (n := len(p.read_text().splitlines())) > 600}
    assert not long


def test_public_names_resolve():
    missing = [n for n in eie_sim.__all__ if not hasattr(eie_sim, n)]
    assert not missing
    assert eie_sim.suite.get is importlib.import_module("eie_sim.cycle.suite").get


# ----------------------------------------------------------------------------- import graph, kinds


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports, at the top or inside a function (a
    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module)."""
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph = {}
    for mod, path in modules.items():
        targets = set()
        for _, name in _imports(path):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != mod:
                targets.add(name)
        graph[mod] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_modules():
    """No module imports (at the top or in a function) a module that imports it back, directly or
    through others; a package's ``__init__`` re-exporting its modules is not a cycle."""
    graph = _import_graph()
    # a package __init__ importing its own submodules (to re-export or register them) is the
    # package's public face, not a dependency its submodules can close a loop through
    for mod in graph:
        graph[mod] = {t for t in graph[mod] if not (PKG / Path(*t.split(".")[1:]) / "__init__.py").exists()
                      or t == "eie_sim"}
    graph = {m: {t for t in ts if t != "eie_sim"} for m, ts in graph.items()}
    assert not _cycles(graph), "\n".join(" <-> ".join(c) for c in _cycles(graph))


#: the subpackages whose modules may not import another module's private names (extend it as
#: others are cleaned up)
PRIVATE_IMPORT_CHECKED = ("contract", "cycle", "cost", "train", "io", "explore", "codesign", "cli")


def _private_imports(path: Path) -> list[str]:
    """``from X import _name`` in ``path`` (at the top or in a function) where X is another module
    of the package (relative or absolute); dunder names do not count."""
    own = _module_name(path)
    found = []
    for line, full in _imports_with_names(path):
        mod, _, name = full.rpartition(".")
        if mod != own and name.startswith("_") and not name.startswith("__"):
            found.append(f"{path.relative_to(PKG)}:{line} imports {name} from {mod}")
    return found


def _imports_with_names(path: Path) -> list[tuple[int, str]]:
    """(line, module.name) of every ``from module import name`` of the package in ``path``."""
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    package = parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                mod = ".".join(list(package[: len(package) - node.level + 1]) + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] == "eie_sim":
                found += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
    return found


def test_private_import_finder_finds_planted_imports():
    f = PKG / "explore" / "_planted_for_test.py"
    try:
        f.write_text("from .results import _Lock, load_sweep\nfrom ..cycle.kernels import _private_kernel\n"
                     "from eie_sim.explore.space import _Source\nfrom . import _planted_for_test\n"
                     "from ._planted_for_test import _x\nfrom .tables import __doc__\n"
                     "def f():\n    from .sweep import _client\n")
        hits = _private_imports(f)
        assert [h.split(" imports ")[1] for h in hits] == [
            "_Lock from eie_sim.explore.results", "_private_kernel from eie_sim.cycle.kernels",
            "_Source from eie_sim.explore.space", "_planted_for_test from eie_sim.explore",
            "_client from eie_sim.explore.sweep"]
    finally:
        f.unlink()


def test_no_cross_module_private_imports():
    """A module of :data:`PRIVATE_IMPORT_CHECKED` uses another module's public names only (what
    it needs is documented and in that module's ``__all__``), never ``from .x import _name``."""
    wrong = [hit for p in sorted(PKG.rglob("*.py")) if p.relative_to(PKG).parts[0] in PRIVATE_IMPORT_CHECKED
             for hit in _private_imports(p)]
    assert not wrong, "\n".join(wrong)


KIND_NAMES = ("fc", "lstm", "conv")
KIND_HOMES = ("contract/kinds/", "cycle/steps.py")


def _kind_branches(path: Path) -> list[str]:
    """Comparisons of a ``kind`` (name or attribute) with a layer-kind name, and type-name tests."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        names = [s for s in sides if isinstance(s, ast.Constant) and isinstance(s.value, str)]
        kindish = [s for s in sides if (isinstance(s, ast.Name) and s.id == "kind")
                   or (isinstance(s, ast.Attribute) and s.attr in ("kind", "__name__"))]
        if kindish and (any(c.value in KIND_NAMES for c in names) or any(
                isinstance(s, ast.Attribute) and s.attr == "__name__" for s in kindish)):
            found.append(f"{path.relative_to(PKG)}:{node.lineno}")
    return found


def test_kind_branch_finder_finds_planted_branches(tmp_path):
    f = PKG / "contract" / "_planted_for_test.py"
    try:
        f.write_text('if layer.kind == "lstm":\n    pass\nif kind != "fc": pass\nif type(x).__name__ == "LSTM": pass\n'
                     'if args.kind == "all": pass\n')
        assert len(_kind_branches(f)) == 3
    finally:
        f.unlink()


def test_no_layer_kind_branches_outside_the_kind_modules():
    """What differs between layer kinds is asked of the kind (eie_sim.contract.kinds, the cycle
    model's steps), never decided by comparing kind names or type names elsewhere."""
    wrong = [hit for p in sorted(PKG.rglob("*.py")) if not str(p.relative_to(PKG)).startswith(KIND_HOMES)
             for hit in _kind_branches(p)]
    assert not wrong, "\n".join(wrong)


def test_every_kind_module_is_registered_and_has_a_cycle_step():
    from eie_sim.contract.kinds import KIND_MODULES, kind_names
    from eie_sim.cycle.steps import step_kinds

    on_disk = sorted(p.stem for p in (PKG / "contract" / "kinds").glob("*.py") if p.stem not in ("__init__", "base"))
    assert sorted(KIND_MODULES) == on_disk
    assert sorted(kind_names()) == sorted(KIND_NAMES) == sorted(step_kinds())
