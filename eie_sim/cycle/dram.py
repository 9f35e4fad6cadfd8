"""DRAM traffic of one layer: the bytes moved for everything that overflowed a PE's SRAM.

EIE keeps the whole compressed layer on chip (paper, section IV: each PE's spmat SRAM holds
its entries, two pointer banks its column pointers, the activation SRAM inputs and outputs
longer than the registers). The simulator lets a layer outgrow those SRAMs and counts what
does not fit as DRAM traffic instead of SRAM accesses (:mod:`eie_sim.cycle.kernels`, "SRAM
capacity"; latency assumed hidden by prefetching). The cycle model
(:mod:`eie_sim.cycle.simulator`) and the RTL driver (``rtl/eie_rtl/driver.py``) count the
overflowing accesses their own way and turn them into bytes here, so both report the same
``dram_bytes*`` counters.
"""

from __future__ import annotations

import operator

from ..config import ArchConfig
from ..errors import ConfigError, describe

__all__ = ["dram_bytes"]


def _count(name: str, value) -> int:
    """``value`` as a Python int >= 0, else a ConfigError naming ``name``."""
    try:
        n = operator.index(value)
    except TypeError:
        raise ConfigError(f"{name}={describe(value)}: expected an integer count >= 0") from None
    if n < 0:
        raise ConfigError(f"{name}={n}: expected an integer count >= 0")
    return int(n)


def dram_bytes(config: ArchConfig, ptr_reads: int, spmat_words: int, act_values: int) -> dict[str, int]:
    """DRAM traffic in bytes, all PEs, from counts of accesses that overflowed the SRAMs.

    ``ptr_reads``: pointer reads beyond the pointer SRAM (``ptr_bits`` each);
    ``spmat_words``: spmat word reads beyond the spmat SRAM (``sram_width`` bits each);
    ``act_values``: activation loads and write-backs beyond the activation SRAM (``act_bits``
    each). Returns ``{"dram_bytes", "dram_bytes_ptr", "dram_bytes_spmat", "dram_bytes_act"}``
    in that order: each part is its bits rounded up to whole bytes, and the total is the sum
    of the bits rounded up once (so it can be less than the sum of the parts).
    """
    bits_ptr = _count("ptr_reads", ptr_reads) * config.ptr_bits
    bits_spmat = _count("spmat_words", spmat_words) * config.sram_width
    bits_act = _count("act_values", act_values) * config.act_bits
    return {"dram_bytes": -(-(bits_ptr + bits_spmat + bits_act) // 8), "dram_bytes_ptr": -(-bits_ptr // 8),
            "dram_bytes_spmat": -(-bits_spmat // 8), "dram_bytes_act": -(-bits_act // 8)}
