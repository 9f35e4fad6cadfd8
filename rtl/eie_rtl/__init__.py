"""Amaranth RTL of the EIE processing element and PE array (EIE paper, section IV)."""

from .array import LNZDNode, PEArray, lnzd_levels
from .pe import (
    LOAD_ACC,
    LOAD_CODEBOOK,
    LOAD_CONFIG,
    LOAD_PTR,
    LOAD_SPMAT,
    LOAD_SRC,
    ActivationQueue,
    ActivationRW,
    ArithmeticUnit,
    PEParams,
    PointerRead,
    ProcessingElement,
    SpmatRead,
)

__all__ = [
    "PEArray", "LNZDNode", "lnzd_levels", "PEParams", "ProcessingElement", "ActivationQueue", "PointerRead",
    "SpmatRead", "ArithmeticUnit", "ActivationRW", "LOAD_PTR", "LOAD_SPMAT", "LOAD_CODEBOOK", "LOAD_SRC",
    "LOAD_ACC", "LOAD_CONFIG",
]
