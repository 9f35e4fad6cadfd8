"""Area model of the PE array (EIE paper, Table II), scaled with the configuration.

Per-PE module areas at the EIE configuration (45 nm, um^2, Table II): ActQueue 758,
PtrRead 121,849, SpmatRead 469,412, ArithmUnit 3,110, ActRW 18,934, filler 23,961
(total 638,024). Scaling rules, first order:

* SpmatRead and PtrRead are SRAM-dominated: proportional to ``spmat_sram_kb`` / 128 and
  ``ptr_sram_kb`` / 32.
* ActRW holds two register files of ``act_regs_per_pe`` x ``act_bits`` and the activation
  SRAM: proportional to those bytes (256 + 2,048 at the reference).
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
from .energy import REFERENCE, TABLE2

__all__ = ["AreaReport", "area_report"]



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
    source: str = "EIE (ISCA 2016) Table II, scaled as in eie_sim.cost.area"

    @property
    def area_mm2(self) -> float:
        return self.total_um2 / 1e6

    def to_dict(self) -> dict:
        return {"pe_by_module_um2": dict(self.pe_by_module), "pe_um2": self.pe_um2, "lnzd_um2": self.lnzd_um2,
                "total_um2": self.total_um2, "area_mm2": self.area_mm2, "n_pe": self.n_pe, "node_nm": self.node_nm,
                "source": self.source}


def area_report(config: ArchConfig, node_nm: float = 45.0) -> AreaReport:
    """Area of an ``n_pe`` array with ``config``'s memories and widths (module docstring)."""
    a = TABLE2["module_area_um2"]
    r = REFERENCE
    act_bytes = lambda c: 2 * c.act_regs_per_pe * c.act_bits / 8 + c.act_sram_kb * 1024  # noqa: E731
    mods = {
        "ActQueue": a["ActQueue"] * (config.fifo_depth * (config.act_bits + 32)) / (r.fifo_depth * (r.act_bits + 32)),
        "PtrRead": a["PtrRead"] * config.ptr_sram_kb / r.ptr_sram_kb,
        "SpmatRead": a["SpmatRead"] * config.spmat_sram_kb / r.spmat_sram_kb,
        "ArithmUnit": a["ArithmUnit"] * (config.act_bits / r.act_bits) ** 2,
        "ActRW": a["ActRW"] * act_bytes(config) / act_bytes(r),
    }
    core_ref = sum(a[k] for k in mods)
    mods["filler"] = a["filler"] * sum(mods.values()) / core_ref
    s = (node_nm / 45.0) ** 2
    mods = {k: v * s for k, v in mods.items()}
    pe = sum(mods.values())
    lnzd = TABLE2["lnzd_node_area_um2"] * lnzd_nodes(config.n_pe) * s
    return AreaReport(mods, pe, lnzd, config.n_pe * pe + lnzd, config.n_pe, float(node_nm))
