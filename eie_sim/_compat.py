"""Import paths of the flat layout (eie-sim 0.1 before the tiers became subpackages).

``import eie_sim.golden`` or ``from eie_sim.plots import plot`` keeps working: a finder on
``sys.meta_path`` answers the old dotted name with the module at its new place (the same module
object, so state and ``isinstance`` checks are shared) and warns once with a
:class:`DeprecationWarning` that names the new path. Nothing in eie-sim itself uses these paths.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: old module (under eie_sim) -> its place in the tiered layout
MOVED = {
    "fixedpoint": "contract.fixedpoint",
    "codebook": "contract.codebook",
    "format": "contract.format",
    "golden": "contract.golden",
    "model": "contract.model",
    "examples": "contract.examples",
    "report": "contract.info",
    "simulator": "cycle.simulator",
    "benchmarks": "cycle.suite",
    "energy": "cost.energy",
    "energy_report": "cost.report",
    "area": "cost.area",
    "nn": "train.nn",
    "data": "train.data",
    "compress": "train.compress",
    "huffman": "train.huffman",
    "sweep_engine": "explore.sweep",
    "plots": "explore.plots",
    "rtl_cli": "cli.rtl",
    "sweep_cli": "cli.sweep",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``eie_sim.<old>`` and loads it as the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):
        pkg, _, leaf = fullname.partition(".")
        if pkg != "eie_sim" or leaf not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        old = module.__name__
        new = "eie_sim." + MOVED[old.partition(".")[2]]
        warnings.warn(f"{old} moved to {new}; import it from there (or use the public eie_sim.<name>)",
                      DeprecationWarning, stacklevel=2)
        # the import system returns whatever sys.modules holds under the old name after this call
        sys.modules[old] = importlib.import_module(new)


def install() -> None:
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())
