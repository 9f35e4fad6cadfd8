"""The package layout: tiers import only downwards, modules stay short, the public API and the
import paths of the flat layout keep working."""

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pytest

import eie_sim
from eie_sim._compat import MOVED

PKG = Path(eie_sim.__file__).parent
BASE = {"config", "errors", "budget", "_version", "_compat"}
#: what each subpackage may import (besides itself and the base modules config, errors)
ALLOWED = {
    "contract": set(),
    "cycle": {"contract"},
    "train": {"contract"},
    "cost": {"contract", "cycle"},
    "io": {"contract", "train"},
    "explore": {"contract", "cycle", "cost", "train", "io"},
    "cli": {"contract", "cycle", "cost", "train", "io", "explore"},
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
    assert eie_sim.benchmarks.get is importlib.import_module("eie_sim.cycle.suite").get


@pytest.mark.parametrize("old", sorted(MOVED))
def test_flat_layout_paths_still_import(old):
    name = f"eie_sim.{old}"
    sys.modules.pop(name, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(name)
    assert module is importlib.import_module(f"eie_sim.{MOVED[old]}")
    assert any(issubclass(w.category, DeprecationWarning) and MOVED[old] in str(w.message) for w in caught)
