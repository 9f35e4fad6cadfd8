"""Amaranth RTL of the EIE processing element and PE array (EIE paper, section IV)."""

from .actrw import ActivationRW
from .array import LNZDNode, PEArray, lnzd_levels
from .params import (
    ARRAY_COUNTERS,
    LOAD_ACC,
    LOAD_ACT,
    LOAD_BASE,
    LOAD_CODEBOOK,
    LOAD_CONFIG,
    LOAD_PTR,
    LOAD_SPMAT,
    LOAD_SRC,
    PE_COUNTERS,
    PEParams,
)
from .pe import ActivationQueue, ArithmeticUnit, PointerRead, ProcessingElement, SpmatRead
from .sram import SRAM

__all__ = [
    "PEArray", "LNZDNode", "lnzd_levels", "PEParams", "ProcessingElement", "ActivationQueue", "PointerRead",
    "SpmatRead", "ArithmeticUnit", "ActivationRW", "SRAM", "LOAD_PTR", "LOAD_SPMAT", "LOAD_CODEBOOK", "LOAD_SRC",
    "LOAD_ACC", "LOAD_CONFIG", "LOAD_BASE", "LOAD_ACT", "PE_COUNTERS", "ARRAY_COUNTERS",
]
