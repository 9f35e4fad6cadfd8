"""Architecture configuration of an EIE-style PE array (EIE paper, sections IV-V)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from .errors import ConfigError, describe

__all__ = ["ArchConfig", "check_int", "check_positive"]


def check_int(name: str, value: object, lo: int, hi: int | None = None) -> int:
    """Return ``value`` as int if it is an integer in [lo, hi]; else raise ConfigError."""
    import numpy as np

    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name}={describe(value)}: expected an integer, got {type(value).__name__}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise ConfigError(f"{name}={value}: expected an integer {rng}")
    return value


def check_positive(name: str, value: object) -> float:
    """Return ``value`` as float if it is a finite number > 0 (not a bool); else raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={describe(value)}: expected a finite number > 0")
    return float(value)


#: the integer fields' ranges; the lower bounds of acc_bits (2 * act_bits) and sram_width
#: (weight_bits + index_bits) depend on other fields and are raised to them when checked
FIELD_RANGES = {
    "n_pe": (1, 1 << 16),
    "fifo_depth": (1, 1 << 16),
    "weight_bits": (1, 8),
    "index_bits": (1, 8),
    "act_bits": (2, 24),
    "acc_bits": (4, 62),
    "ptr_bits": (1, 40),
    "sram_width": (2, 4096),
    "spmat_sram_kb": (1, 1 << 20),
    "ptr_sram_kb": (1, 1 << 20),
    "act_regs_per_pe": (1, 1 << 20),
    "act_sram_kb": (0, 1 << 20),
}


@dataclass(frozen=True)
class ArchConfig:
    """Parameters of an EIE PE array. Defaults are the EIE chip's (paper Table II, section VI).

    n_pe            number of processing elements (64 in EIE).
    fifo_depth      activation-queue depth per PE, in (j, a_j) entries (8 in EIE, Fig. 8).
    sram_width      sparse-matrix SRAM word width in bits (64 in EIE, Fig. 9); one word holds
                    ``sram_width // (weight_bits + index_bits)`` entries.
    weight_bits     bits of a weight code v (4: 16 shared weights).
    index_bits      bits of a relative row index z (4).
    act_bits        total bits of activations and codebook values, signed fixed point (16).
    acc_bits        accumulator width in bits. Default 48: a product of two 16-bit values takes
                    32 bits, and 16 guard bits let 65,536 full-scale products accumulate without
                    saturating -- more than the 25,088 inputs of VGG-6 -- so with the defaults the
                    accumulator never saturates and each output is the exactly rounded dot
                    product. Narrower accumulators saturate (never wrap); see ``golden``.
    ptr_bits        width of a column pointer. 17, not the paper's 16: the 128 KB spmat SRAM of
                    one PE holds 131,072 8-bit entries, and a pointer to entry 131,072 (the end of
                    a full SRAM) needs 17 bits.
    clock_mhz       clock frequency in MHz (800 in EIE).
    spmat_sram_kb   sparse-matrix SRAM capacity per PE in KiB (128).
    ptr_sram_kb     pointer SRAM capacity per PE in KiB (32, two banks of 16).
    act_regs_per_pe source/destination activation registers per PE (64).
    act_sram_kb     activation SRAM per PE in KiB (2), used for vectors longer than the registers.
    """

    n_pe: int = 64
    fifo_depth: int = 8
    sram_width: int = 64
    weight_bits: int = 4
    index_bits: int = 4
    act_bits: int = 16
    acc_bits: int = 48
    ptr_bits: int = 17
    clock_mhz: float = 800.0
    spmat_sram_kb: int = 128
    ptr_sram_kb: int = 32
    act_regs_per_pe: int = 64
    act_sram_kb: int = 2

    def __post_init__(self) -> None:
        for name, (lo, hi) in FIELD_RANGES.items():  # in this order: the first bad field is the one named
            if name == "acc_bits":
                lo = 2 * self.act_bits
            elif name == "sram_width":
                lo = self.weight_bits + self.index_bits
            check_int(name, getattr(self, name), lo, hi)
        clk = self.clock_mhz
        if isinstance(clk, bool) or not isinstance(clk, (int, float)) or not math.isfinite(clk) or clk <= 0:
            raise ConfigError(f"clock_mhz={describe(clk)}: expected a finite number > 0 (MHz)")
        object.__setattr__(self, "clock_mhz", float(clk))

    @property
    def entry_bits(self) -> int:
        """Bits of one (v, z) entry."""
        return self.weight_bits + self.index_bits

    @property
    def entries_per_word(self) -> int:
        """Entries held by one sparse-matrix SRAM word."""
        return self.sram_width // self.entry_bits

    @property
    def spmat_capacity_entries(self) -> int:
        """Entries that fit in one PE's sparse-matrix SRAM."""
        return (self.spmat_sram_kb * 8192 // self.sram_width) * self.entries_per_word

    @property
    def ptr_capacity(self) -> int:
        """Pointers that fit in one PE's pointer SRAM."""
        return self.ptr_sram_kb * 8192 // self.ptr_bits

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
