"""Energy of the LSTM element-wise unit (:mod:`eie_sim.cycle.lstm`), per action, with sources.

These actions exist only in sequence models, so they are not keys of the energy tables (whose
presets are calibrated on the FC suite and must list every key); they are charged at fixed
45 nm figures scaled to the simulated ``act_bits``, for every table:

    elem_mult       per B x B-bit multiply    Horowitz (ISSCC 2014, EIE Table I) 32-bit multiply
                                              3.1 pJ x (B / 32)**2 (0.775 pJ at 16 bits), the
                                              quadratic law of :func:`~eie_sim.cost.energy.mac_pj`
    elem_add        per 32-bit add            Horowitz 32-bit add, 0.1 pJ (the products are 2B bits)
    lut_read        per table read            two adjacent B-bit entries as one 2B-bit word of the
                                              1,025-entry table: :func:`~eie_sim.cost.energy.sram_read_pj`
                                              (Horowitz's SRAM law) at 2,050 x B / 8 bytes
    cell_reg_read   per cell-state read       the table's act_reg_read at the configuration (c lives in
    cell_reg_write  per cell-state write      a per-PE register file like the activations)

Static power of the element-wise unit is not charged (Table II has no such module; the PE's
static power is charged for every cycle, element-wise cycles included). The figures do not
follow ``scale_table``'s node and voltage scaling.
"""

from __future__ import annotations

from ..config import ArchConfig
from .energy import TABLE1, sram_read_pj

__all__ = ["ELEM_ACTIONS", "elementwise_pj"]

# action -> (counter, module, level)
ELEM_ACTIONS = {
    "elem_mult": ("elem_mults", "ElemUnit", "logic"),
    "elem_add": ("elem_adds", "ElemUnit", "logic"),
    "lut_read": ("lut_reads", "ElemUnit", "registers"),
    "cell_reg_read": ("cell_reg_reads", "ElemUnit", "registers"),
    "cell_reg_write": ("cell_reg_writes", "ElemUnit", "registers"),
}


def elementwise_pj(config: ArchConfig, table_at: dict) -> dict[str, float]:
    """pJ per element-wise action at ``config``; ``table_at``: the energy table at ``config``."""
    B = config.act_bits
    return {
        "elem_mult": TABLE1["int32_mult_pj"] * (B / 32.0) ** 2,
        "elem_add": TABLE1["int32_add_pj"],
        "lut_read": sram_read_pj(2050 * B / 8, 2 * B),
        "cell_reg_read": table_at["act_reg_read"],
        "cell_reg_write": table_at["act_reg_write"],
    }
