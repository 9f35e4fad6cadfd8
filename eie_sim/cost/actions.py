"""The cost model's actions as data: one :class:`Action` for everything the energy model charges.

:data:`ACTIONS` is the single list the rest of :mod:`eie_sim.cost` derives from: the keys an
energy table must hold (:data:`ACTION_KEYS` in pJ per event, :data:`STATIC_KEYS` in mW), the
counters each action is charged on, the module and memory level it is reported under, how its
figure moves with the configuration (:data:`WIDTH_RULES`, applied by
:meth:`eie_sim.cost.energy.EnergyTable.at`) and whether :func:`eie_sim.cost.energy.scale_table`'s
node and voltage rule applies. Three kinds of entries:

* **dynamic table actions** (``unit="pJ"``, ``in_table=True``): an energy per counted event,
  a figure of every energy table (with its source), stated at the table's reference
  configuration and rescaled to the simulated one;
* **static keys** (``unit="mW"``, no counters): power charged for every cycle of a layer on
  every PE (idle ones included) or every LNZD node. ``clock``: clock-network power, a fixed
  energy per cycle at the reference clock; ``cacti_leakage``: SRAM leakage, scaled to the
  simulated SRAMs with CACTI, over the simulated clock;
* **conv actions** (``in_table=False``, :mod:`eie_sim.cycle.conv`): ``pool_op`` at Horowitz's
  45 nm add figures (:attr:`Action.source`) scaled to the table's node and voltage, and the
  feature-map reads and writes at the table's activation SRAM figures
  (:func:`eie_sim.cost.conv.conv_pj`); like the element-wise actions they are not table keys,
  so every existing table still loads;
* **element-wise actions** of the LSTM unit (``in_table=False``, :mod:`eie_sim.cycle.lstm`):
  they exist only in sequence models, so they are not keys of the energy tables (whose presets
  are calibrated on the FC suite and must list every key); their figure is a fixed 45 nm law of
  the simulated ``act_bits`` with the source in :attr:`Action.source`
  (:func:`eie_sim.cost.elementwise.elementwise_pj`). Element-wise static power is not charged
  (Table II has no such module; the PE's static power covers element-wise cycles too).

This module holds data only and imports nothing from the package, so every cost module can
import it without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import EIEError

__all__ = ["Action", "ActionError", "ACTIONS", "ACTION", "TABLE_ACTIONS", "STATIC_ACTIONS", "ELEMENTWISE_ACTIONS",
           "CONV_ACTIONS",
           "ACTION_KEYS", "STATIC_KEYS", "LEVELS", "UNITS", "WIDTH_RULES", "MEMORIES", "CHARGED_PER"]


class ActionError(EIEError):
    """An :class:`Action` has a field outside its allowed values."""


#: levels of the memory hierarchy an action's energy is reported under (``EnergyReport.by_level``)
LEVELS = ("registers", "sram", "dram", "logic", "static")
#: "pJ": energy per counted event; "mW": power charged every cycle
UNITS = ("pJ", "mW")
#: what a static key is charged per, every cycle ("event": a dynamic action, per counted event)
CHARGED_PER = ("event", "pe", "lnzd_node")
#: how a figure moves with the configuration. Table actions: figure at the reference x law at
#: the simulated configuration / law at the reference. Element-wise actions: the law itself (pJ).
WIDTH_RULES = {
    "cacti_read": "CACTI read energy of the PE's `memory` SRAM (eie_sim.cost.sram.sram_figures); "
                  "unscaled when the configuration or the reference has no such SRAM",
    "cacti_write": "CACTI write energy of the PE's `memory` SRAM, likewise",
    "horowitz_sram": "Horowitz's SRAM law (eie_sim.cost.energy.sram_read_pj) at the capacity (bytes) and word "
                     "width (bits) of the flip-flop array `memory`",
    "mac": "eie_sim.cost.energy.mac_pj(act_bits, acc_bits): a B x B-bit multiply, quadratic in B, and an "
           "acc_bits add, linear",
    "act_bits": "proportional to act_bits",
    "none": "the same at every configuration",
    "clock": "static: mW x 1e3 / the reference's clock_mhz = pJ per cycle, the same at every configuration",
    "cacti_leakage": "static: mW x CACTI leakage of the `memory` SRAMs at the configuration / at the reference, "
                     "x 1e3 / the configuration's clock_mhz = pJ per cycle (leakage is power)",
    "horowitz_mult": "Horowitz 32-bit integer multiply 3.1 pJ x (act_bits / 32)**2",
    "horowitz_add32": "Horowitz 32-bit integer add, 0.1 pJ",
    "horowitz_add": "Horowitz act_bits-bit integer add, linear in the width through the 8-bit (0.03 pJ) and 32-bit "
                    "(0.1 pJ) adds: 0.03 + (act_bits - 8) x 0.07 / 24 pJ (0.0533 pJ at 16 bits), at 45 nm / 1.0 V, "
                    "times the table's (node_nm / 45) x (vdd / 1.0)**2",
    "copy": "the energy table's figure for the action `copy_of` at the configuration",
}
#: the memories a width rule reads the geometry of: CACTI SRAMs (eie_sim.cost.energy.srams) and
#: flip-flop arrays below CACTI's range (eie_sim.cost.energy.flipflop_arrays)
MEMORIES = {
    "spmat": "sparse-matrix SRAM: spmat_sram_kb KB of sram_width-bit words",
    "ptr": "pointer SRAM: two banks of ptr_sram_kb / 2 KB, ptr_bits per read",
    "act": "activation SRAM: act_sram_kb KB of act_bits values (none when 0)",
    "codebook": "codebook: 2**weight_bits act_bits-bit values",
    "act_regs": "activation register file: act_regs_per_pe act_bits-bit values",
    "queue": "activation queue: fifo_depth entries of act_bits + 32 bits (value and index)",
    "lut": "element-wise table: 1,025 act_bits entries, read as two adjacent ones, one 2 x act_bits word",
}
_NEEDS_MEMORY = {"cacti_read": ("spmat", "ptr", "act"), "cacti_write": ("spmat", "ptr", "act"),
                 "cacti_leakage": ("spmat", "ptr", "act"), "horowitz_sram": ("codebook", "act_regs", "queue", "lut")}
_STATIC_RULES = ("clock", "cacti_leakage")
_ELEMENTWISE_RULES = ("horowitz_mult", "horowitz_add32", "horowitz_sram", "copy", "horowitz_add")


@dataclass(frozen=True)
class Action:
    """One thing the energy model charges.

    key: the energy table's key (``energy_pj`` for unit "pJ", ``static_mw`` for "mW") or, for
    an element-wise action, the ``EnergyReport.by_action`` key. counters: the cycle model's
    counters (:data:`eie_sim.cycle.simulator.COUNTERS`, or the LSTM step's) whose sum is the
    number of events charged; () for static power. module: the PE module of EIE Table II
    (ActQueue, PtrRead, SpmatRead, ArithmUnit, ActRW) or the array-level unit (LNZD, Broadcast,
    DRAM, ElemUnit). level: one of :data:`LEVELS`. unit: "pJ" (per event) or "mW" (static).
    width_rule: a key of :data:`WIDTH_RULES`; memory: the :data:`MEMORIES` entry it reads;
    copy_of: the table action a "copy" rule copies. node_vdd_scaled: the figure follows the
    table's node and voltage (``scale_table`` multiplies table figures by node ratio x vdd
    ratio**2; an element-wise figure follows it only through the table action it copies).
    charged_per: one of :data:`CHARGED_PER`. in_table: a key every energy table holds.
    source: where a figure that is not in the energy tables comes from (tables carry their own
    sources). doc: what one event is.
    """

    key: str
    counters: tuple
    module: str
    level: str
    width_rule: str
    unit: str = "pJ"
    memory: str = ""
    copy_of: str = ""
    node_vdd_scaled: bool = True
    charged_per: str = "event"
    in_table: bool = True
    source: str = ""
    doc: str = ""

    def __post_init__(self) -> None:
        def bad(field: str, expected: str) -> ActionError:
            return ActionError(f"action {self.key!r}: {field}={getattr(self, field)!r}; expected {expected}")

        if not isinstance(self.key, str) or not self.key:
            raise bad("key", "a non-empty string")
        if not isinstance(self.counters, tuple) or not all(isinstance(c, str) and c for c in self.counters):
            raise bad("counters", "a tuple of counter names")
        for name, allowed in (("level", LEVELS), ("unit", UNITS), ("width_rule", tuple(WIDTH_RULES)),
                              ("charged_per", CHARGED_PER)):
            if getattr(self, name) not in allowed:
                raise bad(name, f"one of {', '.join(allowed)}")
        static = self.unit == "mW"
        if static != (self.width_rule in _STATIC_RULES) or static != (self.level == "static") \
                or static == (self.charged_per == "event") or static == bool(self.counters):
            raise bad("unit", "mW exactly for static keys (level static, a clock or cacti_leakage rule, "
                              "charged per pe or lnzd_node, no counters)")
        if self.memory not in _NEEDS_MEMORY.get(self.width_rule, ("",)):
            raise bad("memory", f"one of {_NEEDS_MEMORY.get(self.width_rule, ('',))} for rule {self.width_rule}")
        if (self.width_rule == "copy") != bool(self.copy_of):
            raise bad("copy_of", "a table action exactly when width_rule is 'copy'")
        if not self.in_table and (self.width_rule not in _ELEMENTWISE_RULES or not self.source):
            raise bad("width_rule", f"one of {', '.join(_ELEMENTWISE_RULES)}, with a source, for an action outside "
                                    "the energy tables")
        if self.in_table and self.width_rule in ("horowitz_mult", "horowitz_add32", "copy"):
            raise bad("width_rule", "a rule relative to the reference for an energy-table action")


_HZ = "Horowitz (ISSCC 2014, EIE Table I)"

ACTIONS: tuple[Action, ...] = (
    # ------------------------------------------------------------ dynamic, pJ per event, in every table
    Action("ptr_sram_read", ("ptr_sram_reads",), "PtrRead", "sram", "cacti_read", memory="ptr",
           doc="one pointer-bank read"),
    Action("spmat_sram_read", ("spmat_sram_reads",), "SpmatRead", "sram", "cacti_read", memory="spmat",
           doc="one spmat SRAM word read"),
    Action("codebook_read", ("codebook_reads",), "ArithmUnit", "registers", "horowitz_sram", memory="codebook",
           doc="one codebook look-up"),
    Action("mac", ("macs_real", "macs_padding"), "ArithmUnit", "logic", "mac",
           doc="one multiply-accumulate, real or padding"),
    Action("act_reg_read", ("act_reg_reads",), "ActRW", "registers", "horowitz_sram", memory="act_regs",
           doc="one activation register read"),
    Action("act_reg_write", ("act_reg_writes",), "ActRW", "registers", "horowitz_sram", memory="act_regs",
           doc="one activation register write"),
    Action("act_sram_read", ("act_sram_reads",), "ActRW", "sram", "cacti_read", memory="act",
           doc="one activation SRAM read"),
    Action("act_sram_write", ("act_sram_writes",), "ActRW", "sram", "cacti_write", memory="act",
           doc="one activation SRAM write"),
    Action("queue_push", ("queue_pushes",), "ActQueue", "registers", "horowitz_sram", memory="queue",
           doc="one activation-queue push"),
    Action("queue_pop", ("queue_pops",), "ActQueue", "registers", "horowitz_sram", memory="queue",
           doc="one activation-queue pop"),
    Action("lnzd_op", ("lnzd_ops",), "LNZD", "logic", "act_bits", doc="one LNZD node evaluation"),
    Action("broadcast", ("broadcasts",), "Broadcast", "logic", "act_bits", doc="one broadcast on the H-tree"),
    Action("dram_byte", ("dram_bytes",), "DRAM", "dram", "none", node_vdd_scaled=False,
           doc="one byte of DRAM traffic (an off-chip interface cost: no node or voltage scaling)"),
    # ------------------------------------------------------------ element-wise unit of an LSTM step, pJ per event
    Action("elem_mult", ("elem_mults",), "ElemUnit", "logic", "horowitz_mult", node_vdd_scaled=False,
           in_table=False, source=f"{_HZ} 32-bit multiply 3.1 pJ x (act_bits / 32)**2, the quadratic law of mac_pj",
           doc="one act_bits x act_bits multiply"),
    Action("elem_add", ("elem_adds",), "ElemUnit", "logic", "horowitz_add32", node_vdd_scaled=False, in_table=False,
           source=f"{_HZ} 32-bit add, 0.1 pJ (the products are 2 x act_bits bits)", doc="one 32-bit add"),
    Action("lut_read", ("lut_reads",), "ElemUnit", "registers", "horowitz_sram", memory="lut",
           node_vdd_scaled=False, in_table=False,
           source="Horowitz 2014 SRAM law (sram_read_pj) at 2,050 x act_bits / 8 bytes, 2 x act_bits-bit word",
           doc="one table read: two adjacent entries as one word"),
    Action("cell_reg_read", ("cell_reg_reads",), "ElemUnit", "registers", "copy", copy_of="act_reg_read",
           in_table=False, source="the energy table's act_reg_read (c lives in a per-PE register file)",
           doc="one cell-state read"),
    Action("cell_reg_write", ("cell_reg_writes",), "ElemUnit", "registers", "copy", copy_of="act_reg_write",
           in_table=False, source="the energy table's act_reg_write (c lives in a per-PE register file)",
           doc="one cell-state write"),
    # ------------------------------------------------------------ feature maps and pooling of a conv layer, pJ per event
    Action("pool_op", ("pool_ops",), "ActRW", "logic", "horowitz_add", in_table=False,
           source=f"{_HZ} 45 nm adds, 8-bit 0.03 pJ and 32-bit 0.1 pJ, linear in the width: 0.0533 pJ at 16 bits; "
                  "scaled to the table's node and voltage",
           doc="one act_bits compare (max pool) or add (avg pool) in the activation unit"),
    Action("fmap_read", ("fmap_reads",), "ActRW", "sram", "copy", copy_of="act_sram_read", in_table=False,
           source="the energy table's act_sram_read (the feature maps live in the activation SRAM)",
           doc="one input-map value read into a patch"),
    Action("fmap_write", ("fmap_writes",), "ActRW", "sram", "copy", copy_of="act_sram_write", in_table=False,
           source="the energy table's act_sram_write (the feature maps live in the activation SRAM)",
           doc="one conv output written to the output map"),
    # ------------------------------------------------------------ static, mW, in every table
    Action("actqueue_static_mw", (), "ActQueue", "static", "clock", unit="mW", charged_per="pe",
           doc="ActQueue clock-network power per PE"),
    Action("ptrread_static_mw", (), "PtrRead", "static", "clock", unit="mW", charged_per="pe",
           doc="PtrRead clock-network power per PE"),
    Action("spmatread_static_mw", (), "SpmatRead", "static", "clock", unit="mW", charged_per="pe",
           doc="SpmatRead clock-network power per PE"),
    Action("arithm_static_mw", (), "ArithmUnit", "static", "clock", unit="mW", charged_per="pe",
           doc="ArithmUnit clock-network power per PE"),
    Action("actrw_static_mw", (), "ActRW", "static", "clock", unit="mW", charged_per="pe",
           doc="ActRW clock-network power per PE"),
    Action("lnzd_static_mw", (), "LNZD", "static", "clock", unit="mW", charged_per="lnzd_node",
           doc="clock-network power per LNZD node"),
    Action("spmat_leak_mw", (), "SpmatRead", "static", "cacti_leakage", unit="mW", memory="spmat", charged_per="pe",
           doc="spmat SRAM leakage per PE"),
    Action("ptr_leak_mw", (), "PtrRead", "static", "cacti_leakage", unit="mW", memory="ptr", charged_per="pe",
           doc="pointer SRAM leakage per PE (both banks)"),
    Action("act_leak_mw", (), "ActRW", "static", "cacti_leakage", unit="mW", memory="act", charged_per="pe",
           doc="activation SRAM leakage per PE"),
)

#: key -> Action
ACTION: dict[str, Action] = {a.key: a for a in ACTIONS}
if len(ACTION) != len(ACTIONS):
    raise ActionError(f"ACTIONS: keys={[a.key for a in ACTIONS]}; expected every key once")
#: the dynamic actions every energy table holds (``energy_pj``), in table order
TABLE_ACTIONS = tuple(a for a in ACTIONS if a.in_table and a.unit == "pJ")
#: the static keys every energy table holds (``static_mw``), in table order
STATIC_ACTIONS = tuple(a for a in ACTIONS if a.unit == "mW")
#: the LSTM element-wise actions, charged at fixed figures outside the tables
ELEMENTWISE_ACTIONS = tuple(a for a in ACTIONS if not a.in_table and a.module == "ElemUnit")
#: the conv layer's feature-map and pooling actions, charged outside the tables (eie_sim.cost.conv)
CONV_ACTIONS = tuple(a for a in ACTIONS if not a.in_table and a.module != "ElemUnit")
ACTION_KEYS = tuple(a.key for a in TABLE_ACTIONS)
STATIC_KEYS = tuple(a.key for a in STATIC_ACTIONS)
for _a in ELEMENTWISE_ACTIONS + CONV_ACTIONS:
    if _a.copy_of and _a.copy_of not in ACTION_KEYS:
        raise ActionError(f"action {_a.key!r}: copy_of={_a.copy_of!r}; expected one of {', '.join(ACTION_KEYS)}")
