"""Energy of a conv layer's feature-map traffic and pooling (:mod:`eie_sim.cycle.conv`), per action,
with sources.

The conv actions are entries of :data:`~eie_sim.cost.actions.ACTIONS` (``in_table=False``):
only conv layers count them, so they are not keys of the energy tables, and every existing table
(presets and TOML files) still loads. Their figures:

    pool_op      per act_bits compare/add   Horowitz (ISSCC 2014) 45 nm integer adds, 8-bit 0.03 pJ and
                                            32-bit 0.1 pJ, linear in the width through both points:
                                            0.03 + (B - 8) x 0.07 / 24 pJ (0.0533 pJ at B = 16); a
                                            comparator is a subtractor, so max and avg cost the same.
                                            Taken at 45 nm / 1.0 V (where the presets state Horowitz's
                                            figures) and scaled like the table's own entries:
                                            x (node_nm / 45) x (vdd / 1.0)**2 (first-order C V^2 rule of
                                            :func:`~eie_sim.cost.energy.scale_table`)
    fmap_read    per input-map value read   the table's act_sram_read at the configuration (the maps
    fmap_write   per output written         live in the activation SRAM), likewise act_sram_write

Charged by :func:`eie_sim.cost.report.energy_report` on the ``pool_ops``, ``fmap_reads`` and
``fmap_writes`` counters, under the ActRW module (the activation unit).
"""

from __future__ import annotations

from ..config import ArchConfig
from .actions import CONV_ACTIONS
from .energy import figure_law

__all__ = ["HOROWITZ_NODE_NM", "HOROWITZ_VDD", "node_factor", "conv_pj"]

HOROWITZ_NODE_NM = 45.0  # Horowitz 2014's figures are 45 nm
HOROWITZ_VDD = 1.0  # the supply the presets state them at (EnergyTable's default vdd)


def node_factor(table) -> float:
    """(node_nm / 45) x (vdd / 1.0)**2: a 45 nm Horowitz figure at ``table``'s node and voltage."""
    return (table.node_nm / HOROWITZ_NODE_NM) * (table.vdd / HOROWITZ_VDD) ** 2


def conv_pj(config: ArchConfig, table_at: dict, table) -> dict[str, float]:
    """pJ per conv action at ``config``; ``table_at``: ``table`` at ``config``
    (:meth:`~eie_sim.cost.energy.EnergyTable.at`), which the feature-map accesses copy."""
    k = node_factor(table)
    return {a.key: table_at[a.copy_of] if a.width_rule == "copy" else figure_law(a, config) * (k if a.node_vdd_scaled else 1.0)
            for a in CONV_ACTIONS}
