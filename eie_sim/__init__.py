"""eie-sim: a co-design toolkit for EIE-style sparse neural-network accelerators.

One subpackage per tier; each imports only the tiers below it (``cli -> codesign -> explore ->
io -> cost / cycle / train -> contract -> config, errors, progress``):

* :mod:`eie_sim.contract` -- the compressed-layer format, codebooks, fixed point, the layer kinds,
  the bit-exact golden model and model files;
* :mod:`eie_sim.cycle` -- the cycle model of the PE array (a step per layer kind) and the Table III suite;
* :mod:`eie_sim.cost` -- energy tables, the energy report and area;
* :mod:`eie_sim.train` -- networks, data sets, pruning, weight sharing, DSD and Huffman coding;
* :mod:`eie_sim.io` -- ONNX import (and its compression) and export;
* :mod:`eie_sim.explore` -- design-space sweeps on Dask, their results store and figures;
* :mod:`eie_sim.codesign` -- the co-design search over compression and PE array together;
* :mod:`eie_sim.cli` -- the ``eie-sim`` command line.

The public API is ``eie_sim.<name>`` for every name in ``__all__``; ``eie_sim.suite`` is
the Table III benchmark suite (:mod:`eie_sim.cycle.suite`). The RTL is the separate package ``eie_rtl``.

Importing the package imports only :mod:`eie_sim._version`: every other name loads its module the
first time it is used (PEP 562 :func:`__getattr__`, one entry of :data:`_PROVIDERS` per module), so
that ``eie-sim --help`` or reading a model file never pays for Numba, pandas or Dask.
"""

from __future__ import annotations

import importlib
import sys
import types

from ._version import __version__

#: the module of every lazily loaded public name: module -> the names it provides
_PROVIDERS = {
    ".contract.codebook": ("kmeans_codebook", "linear_codebook", "make_codebook", "quantize"),
    ".config": ("ArchConfig",),
    ".errors": ("ActivationError", "ConfigError", "EIEError", "EncodingError", "FixedPointError", "ModelFileError",
                "PointerOverflowError"),
    ".contract.examples": ("example_model",),
    ".contract.fixedpoint": ("QFormat",),
    ".contract.format": ("CompressedLayer", "PEColumns", "Storage", "decode", "encode", "encode_for"),
    ".contract.golden": ("ForwardResult", "SpmvResult", "error_bound", "reference_forward", "reference_spmv"),
    ".contract.model": ("Model", "ModelLayer", "load_model", "one_code_width", "save_model"),
    ".cycle.simulator": ("SimResult", "simulate"),
    ".cost.energy": ("EnergyTable", "EnergyTableError", "load_table", "scale_table"),
    ".cost.presets": ("preset",),
    ".cost.report": ("EnergyReport", "energy_report"),
    ".cost.area": ("AreaReport", "area_report"),
    ".explore.sweep": ("SweepIncomplete", "SweepLayer", "load_sweep", "sweep"),
    ".codesign": ("CodesignResult", "CodesignSpace", "SearchSettings", "codesign"),
    ".contract.master": ("MasterWeights", "load_master", "save_with_master"),
}
#: public name -> (module, attribute); ``suite`` is the module eie_sim.cycle.suite itself
_LAZY = {name: (mod, name) for mod, names in _PROVIDERS.items() for name in names}
_LAZY["suite"] = (".cycle.suite", None)

__all__ = [
    "__version__",
    "ArchConfig",
    "CompressedLayer",
    "PEColumns",
    "Storage",
    "QFormat",
    "Model",
    "ModelLayer",
    "SpmvResult",
    "ForwardResult",
    "encode",
    "encode_for",
    "decode",
    "quantize",
    "kmeans_codebook",
    "linear_codebook",
    "make_codebook",
    "reference_spmv",
    "reference_forward",
    "error_bound",
    "save_model",
    "load_model",
    "one_code_width",
    "example_model",
    "simulate",
    "SimResult",
    "EnergyTable",
    "EnergyTableError",
    "EnergyReport",
    "AreaReport",
    "energy_report",
    "area_report",
    "sweep",
    "SweepLayer",
    "SweepIncomplete",
    "load_sweep",
    "codesign",
    "CodesignSpace",
    "SearchSettings",
    "CodesignResult",
    "MasterWeights",
    "save_with_master",
    "load_master",
    "load_table",
    "preset",
    "scale_table",
    "EIEError",
    "ConfigError",
    "EncodingError",
    "PointerOverflowError",
    "FixedPointError",
    "ActivationError",
    "ModelFileError",
]


def __getattr__(name: str):
    """Import the module of public name ``name`` on first use and keep the name (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    mod, attr = _LAZY[name]
    module = importlib.import_module(mod, __name__)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """The package's module type: importing the subpackage :mod:`eie_sim.codesign` must not replace
    the public function ``eie_sim.codesign`` (the import system sets a subpackage as an attribute
    of its parent; the eager package bound the function over it, and so does this)."""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, types.ModuleType) and name in _LAZY and _LAZY[name][1] is not None:
            return  # the subpackage stays in sys.modules; the attribute is the public name
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
