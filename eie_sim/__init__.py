"""eie-sim: a co-design toolkit for EIE-style sparse neural-network accelerators.

One subpackage per tier; each imports only the tiers below it (``cli -> codesign -> explore ->
io -> cost / cycle / train -> contract -> config, errors``):

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
"""

from ._version import __version__
from .contract.codebook import kmeans_codebook, linear_codebook, make_codebook, quantize
from .config import ArchConfig
from .errors import (
    ActivationError,
    ConfigError,
    EIEError,
    EncodingError,
    FixedPointError,
    ModelFileError,
    PointerOverflowError,
)
from .contract.examples import example_model
from .contract.fixedpoint import QFormat
from .contract.format import CompressedLayer, PEColumns, Storage, decode, encode, encode_for
from .contract.golden import ForwardResult, SpmvResult, error_bound, reference_forward, reference_spmv
from .contract.model import Model, ModelLayer, load_model, one_code_width, save_model
from .cycle.simulator import SimResult, simulate
from .cost.energy import EnergyTable, EnergyTableError, load_table, scale_table
from .cost.presets import preset
from .cost.report import EnergyReport, energy_report
from .cost.area import AreaReport, area_report
from .explore.sweep import SweepIncomplete, SweepLayer, load_sweep, sweep
from .codesign import CodesignResult, CodesignSpace, SearchSettings, codesign
from .contract.master import MasterWeights, load_master, save_with_master
from .cycle import suite  # noqa: F401  (eie_sim.suite, the Table III benchmark suite)

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
