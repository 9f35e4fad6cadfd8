"""Energy of the LSTM element-wise unit (:mod:`eie_sim.cycle.lstm`), per action, with sources.

The element-wise actions are entries of :data:`~eie_sim.cost.actions.ACTIONS` like every
other action (``in_table=False``): they exist only in sequence models, so they are not keys of
the energy tables (whose presets are calibrated on the FC suite and must list every key); they
are charged at fixed 45 nm figures scaled to the simulated ``act_bits``, for every table
(:attr:`~eie_sim.cost.actions.Action.source` says where each comes from):

    elem_mult       per B x B-bit multiply    Horowitz (ISSCC 2014, EIE Table I) 32-bit multiply
                                              3.1 pJ x (B / 32)**2 (0.775 pJ at 16 bits), the
                                              quadratic law of :func:`~eie_sim.cost.energy.mac_pj`
    elem_add        per 32-bit add            Horowitz 32-bit add, 0.1 pJ (the products are 2B bits)
    lut_read        per table read            two adjacent B-bit entries as one 2B-bit word of the
                                              1,025-entry table: :func:`~eie_sim.cost.energy.sram_read_pj`
                                              (Horowitz's SRAM law) at 2,050 x B / 8 bytes
    cell_reg_read   per cell-state read       the table's act_reg_read at the configuration (c lives in
    cell_reg_write  per cell-state write      a per-PE register file like the activations), and
                                              likewise act_reg_write

Static power of the element-wise unit is not charged (Table II has no such module; the PE's
static power is charged for every cycle, element-wise cycles included). The multiply, add and
table figures do not follow ``scale_table``'s node and voltage scaling; the cell-state register
figures follow it through the table's register figures they copy.
"""

from __future__ import annotations

from ..config import ArchConfig
from .actions import ELEMENTWISE_ACTIONS
from .energy import figure_law

__all__ = ["ELEM_ACTIONS", "elementwise_pj"]

#: action -> (counter, module, level), a view of the element-wise entries of ACTIONS
ELEM_ACTIONS = {a.key: (a.counters[0], a.module, a.level) for a in ELEMENTWISE_ACTIONS}


def elementwise_pj(config: ArchConfig, table_at: dict) -> dict[str, float]:
    """pJ per element-wise action at ``config``; ``table_at``: the energy table at ``config``
    (:meth:`~eie_sim.cost.energy.EnergyTable.at`), which the cell-state registers copy."""
    return {a.key: table_at[a.copy_of] if a.width_rule == "copy" else figure_law(a, config)
            for a in ELEMENTWISE_ACTIONS}
