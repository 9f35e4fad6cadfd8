"""Area model of the PE array: EIE Table II's logic next to CACTI's SRAMs, scaled with the configuration.

Per-PE module areas at the EIE configuration (45 nm, um^2, Table II): ActQueue 758,
PtrRead 121,849, SpmatRead 469,412, ArithmUnit 3,110, ActRW 18,934, filler 23,961
(total 638,024). Scaling rules, first order:

* The SRAMs are CACTI's (:func:`eie_sim.cost.sram.sram_figures`, 45 nm, the energy table's
  cell type): the spmat SRAM (``spmat_sram_kb`` x ``sram_width``), two pointer banks of half
  ``ptr_sram_kb`` x ``ptr_bits`` and the activation SRAM (``act_sram_kb`` x ``act_bits``).
  The rest of each of those modules at the reference -- Table II's area less CACTI's SRAM area
  (SpmatRead 39,823, PtrRead 20,364, ActRW 11,844 um^2 with lstp cells) -- is its logic.
* SpmatRead and PtrRead logic stays as it is; ActRW's (two register files of
  ``act_regs_per_pe`` x ``act_bits``) is proportional to those bits.
* ActQueue is proportional to ``fifo_depth`` x entry bits (``act_bits`` + 32-bit index).
* ArithmUnit is dominated by the multiplier: proportional to ``(act_bits / 16)**2``.
* Filler keeps its share of the PE (3.9%).
* LNZD nodes: 189 um^2 each (Table II), ``lnzd_nodes(n_pe)`` of them (21 for 64 PEs).
* Another node scales every area by ``(node_nm / 45)**2``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ArchConfig
from ..cycle.kernels import lnzd_nodes
from .energy import REFERENCE, TABLE2, srams
from .sram import DEFAULT_CELL, sram_figures

__all__ = ["AreaReport", "area_report", "sram_area_um2"]



@dataclass(frozen=True)
class AreaReport:
    """Areas in um^2: ``pe_by_module`` for one PE, ``pe_um2`` one PE, ``lnzd_um2`` all LNZD
    nodes, ``total_um2`` the array; ``area_mm2`` the array in mm^2."""

    pe_by_module: dict
    pe_um2: float
    lnzd_um2: float
    total_um2: float
    n_pe: int
    node_nm: float
    source: str = "EIE (ISCA 2016) Table II logic and CACTI 7 45 nm SRAMs, scaled as in eie_sim.cost.area"

    @property
    def area_mm2(self) -> float:
        return self.total_um2 / 1e6

    def to_dict(self) -> dict:
        return {"pe_by_module_um2": dict(self.pe_by_module), "pe_um2": self.pe_um2, "lnzd_um2": self.lnzd_um2,
                "total_um2": self.total_um2, "area_mm2": self.area_mm2, "n_pe": self.n_pe, "node_nm": self.node_nm,
                "source": self.source}


def sram_area_um2(config: ArchConfig, cell_type: str = DEFAULT_CELL) -> dict[str, float]:
    """CACTI area (um^2) of one PE's SRAMs: {spmat, ptr (both banks), act}."""
    out = {"spmat": 0.0, "ptr": 0.0, "act": 0.0}
    for name, (cap, width, n) in srams(config).items():
        out[name] = n * sram_figures(cap, width, cell_type).area_mm2 * 1e6
    return out


def area_report(config: ArchConfig, node_nm: float = 45.0, cell_type: str = DEFAULT_CELL) -> AreaReport:
    """Area of an ``n_pe`` array with ``config``'s memories and widths (module docstring)."""
    a = TABLE2["module_area_um2"]
    r = REFERENCE
    sram, sram_ref = sram_area_um2(config, cell_type), sram_area_um2(r, cell_type)
    reg_bits = lambda c: 2 * c.act_regs_per_pe * c.act_bits  # noqa: E731
    mods = {
        "ActQueue": a["ActQueue"] * (config.fifo_depth * (config.act_bits + 32)) / (r.fifo_depth * (r.act_bits + 32)),
        "PtrRead": a["PtrRead"] - sram_ref["ptr"] + sram["ptr"],
        "SpmatRead": a["SpmatRead"] - sram_ref["spmat"] + sram["spmat"],
        "ArithmUnit": a["ArithmUnit"] * (config.act_bits / r.act_bits) ** 2,
        "ActRW": (a["ActRW"] - sram_ref["act"]) * reg_bits(config) / reg_bits(r) + sram["act"],
    }
    core_ref = sum(a[k] for k in mods)
    mods["filler"] = a["filler"] * sum(mods.values()) / core_ref
    s = (node_nm / 45.0) ** 2
    mods = {k: v * s for k, v in mods.items()}
    pe = sum(mods.values())
    lnzd = TABLE2["lnzd_node_area_um2"] * lnzd_nodes(config.n_pe) * s
    return AreaReport(mods, pe, lnzd, config.n_pe * pe + lnzd, config.n_pe, float(node_nm))
