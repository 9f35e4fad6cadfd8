"""eie-sim: a co-design toolkit for EIE-style sparse neural-network accelerators.

Tiers: the compressed-layer format (:mod:`eie_sim.format`), a bit-exact fixed-point golden model
(:mod:`eie_sim.golden`), model files (:mod:`eie_sim.model`); the cycle model, energy model,
RTL, trainer and design-space sweeps (:func:`sweep`, on Dask) build on them.
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
from .contract.model import Model, ModelLayer, load_model, save_model
from .cycle.simulator import SimResult, simulate
from .cost.energy import EnergyTable, EnergyTableError, load_table, preset, scale_table
from .cost.report import EnergyReport, energy_report
from .cost.area import AreaReport, area_report
from .explore.sweep import SweepIncomplete, SweepLayer, load_sweep, sweep

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
