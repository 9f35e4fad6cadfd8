"""SRAM figures from CACTI 7 at 45 nm: read and write energy, leakage, area, access time.

The table ``cacti/sram_45nm.csv`` was generated once with CACTI 7.0 (HewlettPackard/cacti,
commit 1ffd8df) by ``python -m eie_sim.cost.cacti.generate`` from ``cacti/sram.cfg.template``:
one bank, one read/write port, a scratch RAM without tags or ECC, 360 K, CACTI's ED^2-optimal
array organisation, for capacities 1 KB .. 1 MB (powers of two) x word widths 16 .. 512 bits
and three ITRS device types. CACTI is not needed at run time.

Cell and peripheral type: ``itrs-lstp`` (low standby power) by default. EIE is a low-power
design, and lstp is the only type consistent with its Table II: a 128 KB x 64-bit lstp SRAM
leaks 0.03 mW and reads in 32.3 pJ, so one read per 8 cycles at 800 MHz is 3.2 mW of
SpmatRead's 4.955 mW; the same SRAM leaks 8.5 mW in ``itrs-lop`` and 138 mW in ``itrs-hp``,
more than the whole PE's 9.157 mW. Its 2.1 ns access time spans two cycles at 800 MHz; the
spmat SRAM is read once per 64-bit word (eight entries), so EIE can pipeline it.

Between grid points figures are interpolated bilinearly in log(capacity) x log(width) on
log(figure); at grid points they are the table's values exactly. Up to a factor of 2 beyond
the grid's edges (0.5 KB .. 2 MB, 8 .. 1024 bits) the edge cell is extrapolated; anything
further out, or a cell with a corner CACTI could not organise (1 KB x 512 bits), is refused
with a :class:`~eie_sim.errors.ConfigError`. CACTI's optimiser chooses a different array
organisation at some points, so neighbouring figures are not always monotone (e.g. 16 KB:
11.6 pJ at 64 bits, 10.7 pJ at 128 bits): these are CACTI's numbers, not smoothed.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ConfigError, describe

__all__ = ["SramFigures", "sram_figures", "CELL_TYPES", "DEFAULT_CELL", "TABLE_PATH", "grid"]

TABLE_PATH = Path(__file__).resolve().parent / "cacti" / "sram_45nm.csv"
CELL_TYPES = ("itrs-lstp", "itrs-lop", "itrs-hp")
DEFAULT_CELL = "itrs-lstp"
FIGURES = ("read_pj", "write_pj", "leakage_mw", "gate_leakage_mw", "area_mm2", "access_ns", "cycle_ns")
EXTRAPOLATE = 2.0  # how far beyond the grid's edges (a factor) the edge cell is extended


@dataclass(frozen=True)
class SramFigures:
    """One SRAM of ``capacity_bytes`` x ``width_bits`` words: energy per read and per write (pJ),
    leakage (mW, subthreshold + gate), area (mm^2), access and cycle time (ns)."""

    capacity_bytes: float
    width_bits: float
    cell_type: str
    read_pj: float
    write_pj: float
    leakage_mw: float
    area_mm2: float
    access_ns: float
    cycle_ns: float

    @property
    def source(self) -> str:
        return (f"CACTI 7.0, 45 nm {self.cell_type}, {self.capacity_bytes / 1024:g} KB x {self.width_bits:g} bit, "
                "one bank (eie_sim/cost/cacti/sram_45nm.csv)")


@lru_cache(maxsize=None)
def grid(cell_type: str = DEFAULT_CELL) -> tuple[np.ndarray, np.ndarray, dict]:
    """(capacities in bytes, widths in bits, {figure: 2-D array [capacity, width], NaN where CACTI
    found no organisation}) of one cell type, read from the committed table."""
    if cell_type not in CELL_TYPES:
        raise ConfigError(f"cell_type={describe(cell_type)}: expected one of {', '.join(CELL_TYPES)}")
    with open(TABLE_PATH, newline="") as f:
        rows = [r for r in csv.DictReader(line for line in f if not line.startswith("#")) if r["cell_type"] == cell_type]
    caps = np.array(sorted({int(r["capacity_bytes"]) for r in rows}), dtype=float)
    widths = np.array(sorted({int(r["width_bits"]) for r in rows}), dtype=float)
    figs = {k: np.full((caps.size, widths.size), np.nan) for k in FIGURES}
    for r in rows:
        i = int(np.searchsorted(caps, int(r["capacity_bytes"])))
        j = int(np.searchsorted(widths, int(r["width_bits"])))
        for k in FIGURES:
            figs[k][i, j] = float(r[k])
    for a in figs.values():
        a.setflags(write=False)
    return caps, widths, figs


def _check(axis: np.ndarray, x: float, what: str, unit: str) -> None:
    """Refuse x unless it is a number within the grid's range, extended by EXTRAPOLATE."""
    lo, hi = axis[0] / EXTRAPOLATE, axis[-1] * EXTRAPOLATE
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not lo <= x <= hi:
        raise ConfigError(f"SRAM {what}={describe(x)}: expected {lo:g} .. {hi:g} {unit} "
                          f"(the CACTI table covers {axis[0]:g} .. {axis[-1]:g} {unit}, extrapolated up to x{EXTRAPOLATE:g})")


def _cell(axis: np.ndarray, x: float) -> tuple[int, float]:
    """(lower index of the grid cell holding x, fraction along it in log space); x is checked."""
    i = int(np.clip(np.searchsorted(axis, x, side="right") - 1, 0, axis.size - 2))
    t = (math.log(x) - math.log(axis[i])) / (math.log(axis[i + 1]) - math.log(axis[i]))
    return i, t


def sram_figures(capacity_bytes: float, width_bits: float, cell_type: str = DEFAULT_CELL) -> SramFigures:
    """CACTI figures of one SRAM (module docstring): exact at grid points, log-log bilinear between."""
    caps, widths, _ = grid(cell_type)
    _check(caps, capacity_bytes, "capacity", "bytes")  # refuse bad arguments before the cache sees them
    _check(widths, width_bits, "width", "bits")
    return _figures(float(capacity_bytes), float(width_bits), cell_type)


@lru_cache(maxsize=4096)
def _figures(capacity_bytes: float, width_bits: float, cell_type: str) -> SramFigures:
    """The interpolation, once per SRAM: energy tables ask for the same few SRAMs on every
    report, so this keeps the CACTI model off the sweep's per-point path."""
    caps, widths, figs = grid(cell_type)
    i, u = _cell(caps, capacity_bytes)
    j, v = _cell(widths, width_bits)
    w = np.array([[(1 - u) * (1 - v), (1 - u) * v], [u * (1 - v), u * v]])
    used = w != 0  # a corner with weight 0 does not count (grid points on a cell's edge are exact)
    out = {}
    for k in FIGURES:
        c = figs[k][i : i + 2, j : j + 2]
        if np.isnan(c[used]).any():
            raise ConfigError(f"SRAM {capacity_bytes:g} bytes x {width_bits:g} bits ({cell_type}): CACTI found no "
                              f"organisation for a neighbouring grid point; choose a larger capacity or a narrower word")
        if np.count_nonzero(used) == 1:
            out[k] = float(c[used][0])  # exactly the table's value, no exp(log()) round trip
        else:
            out[k] = float(np.exp(np.sum(w[used] * np.log(np.maximum(c[used], 1e-30)))))
    return SramFigures(float(capacity_bytes), float(width_bits), cell_type, out["read_pj"], out["write_pj"],
                       out["leakage_mw"] + out["gate_leakage_mw"], out["area_mm2"], out["access_ns"], out["cycle_ns"])
