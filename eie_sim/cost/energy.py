"""Energy tables: a cost in pJ for every action the cycle model counts, each with its source.

A table holds per-action energies *at a reference configuration* (the EIE chip's: 64-bit spmat
words, 128 KB spmat SRAM, 32 KB pointer SRAM, 2 KB activation SRAM, 16-bit activations, ...)
plus static power per PE. :meth:`EnergyTable.at` turns it into energies for any
:class:`ArchConfig`, scaling each SRAM-like action with :func:`sram_read_pj` and the MAC with
:func:`mac_pj` relative to the reference, so sweeps over SRAM width or capacity move the
energy per access (EIE paper, Fig. 9: wider words mean fewer reads, each costlier).

The actions, their keys, counters, modules, levels and scaling rules are data: one
:class:`~eie_sim.cost.actions.Action` each in :data:`~eie_sim.cost.actions.ACTIONS`. A table
holds a figure for every dynamic key of :data:`ACTION_KEYS` (pJ per event: pointer-bank,
spmat-word and activation SRAM reads and writes, codebook look-ups, MACs, activation register
reads and writes, queue pushes and pops, LNZD node evaluations, broadcasts, DRAM bytes) and
every static key of :data:`STATIC_KEYS` (mW, charged for every cycle of a layer, idle PEs
included: the clock-network power of each PE module and of an LNZD node, a fixed energy per
cycle at the reference clock, and each SRAM's leakage at the reference configuration, scaled
to the simulated SRAMs with CACTI, :mod:`eie_sim.cost.sram`; leakage is power, so its energy
per cycle grows as the clock slows).

SRAM energies (spmat, pointer banks, activation SRAM) follow CACTI 7 at 45 nm
(:func:`~eie_sim.cost.sram.sram_figures`, low-standby-power cells by default): reads and
writes scale with the simulated capacity and word width as CACTI says, which is far from
linear in width (128 KB: 25 pJ at 32 bits, 98 pJ at 512). Register files, FIFOs and the
codebook are flip-flop arrays below CACTI's range; :func:`sram_read_pj` (Horowitz's 45 nm
points) gives their relative scaling.

Presets (:mod:`eie_sim.cost.presets`): ``eie45`` (the default: calibrated to the EIE chip's
Table II on the activity of the Table III suite), ``eie45-ideal`` (the same derivation on an
idealised full-load workload, which overstates real layers' power) and ``horowitz45``
(bottom-up: Horowitz, ISSCC 2014, 45 nm, as quoted in EIE Table I, and CACTI for the SRAMs).
Users load their own from TOML with :func:`load_table` (the same keys, every one required,
each with ``pj`` or ``mw`` and ``source``).
"""

from __future__ import annotations

import math
import tomllib
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ArchConfig
from ..errors import ConfigError, EIEError, describe
from .actions import ACTION, ACTION_KEYS, ACTIONS, STATIC_ACTIONS, STATIC_KEYS, Action
from .sram import CELL_TYPES, DEFAULT_CELL, sram_figures

__all__ = [
    "Action",
    "ACTIONS",
    "ACTION_KEYS",
    "STATIC_KEYS",
    "COUNTER_OF",
    "MODULE_OF",
    "LEVEL_OF",
    "EnergyTable",
    "EnergyTableError",
    "sram_read_pj",
    "mac_pj",
    "load_table",
    "scale_table",
    "srams",
    "flipflop_arrays",
    "figure_law",
    "sram_leakage_mw",
    "Cost",
    "REFERENCE",
    "TABLE1",
    "TABLE2",
]


class EnergyTableError(EIEError):
    """An energy table is malformed: a key is unknown or missing, or a value is not a finite number >= 0."""


#: action or static key -> the counter(s) it is charged on, its module (EIE Table II's or the
#: array's) and its level; views of ACTIONS (element-wise actions included), kept for callers
COUNTER_OF = {a.key: a.counters for a in ACTIONS if a.counters}
MODULE_OF = {a.key: a.module for a in ACTIONS}
LEVEL_OF = {a.key: a.level for a in ACTIONS if a.unit == "pJ"}

# ----------------------------------------------------------------------------- published figures

TABLE1 = {
    # Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm, as quoted in EIE (ISCA 2016) Table I
    "int32_add_pj": 0.1,
    "float32_add_pj": 0.9,
    "int32_mult_pj": 3.1,
    "float32_mult_pj": 3.7,
    "sram32_read_pj": 5.0,
    "dram32_read_pj": 640.0,
    # further Horowitz 2014 figures (same source)
    "int8_add_pj": 0.03,
    "int8_mult_pj": 0.2,
    "float16_add_pj": 0.4,
    "float16_mult_pj": 1.1,
}
HOROWITZ_SRAM_64BIT_PJ = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))  # Horowitz 2014, 64-bit reads

TABLE2 = {
    # EIE (ISCA 2016) Table II: one PE, 45 nm, 800 MHz, full load
    "pe_total_mw": 9.157,
    "module_mw": {"ActQueue": 0.112, "PtrRead": 1.807, "SpmatRead": 4.955, "ArithmUnit": 1.162, "ActRW": 1.122},
    "kind_mw": {"memory": 5.416, "clock_network": 1.874, "register": 1.026, "combinational": 0.841},
    "module_area_um2": {"ActQueue": 758.0, "PtrRead": 121849.0, "SpmatRead": 469412.0, "ArithmUnit": 3110.0,
                        "ActRW": 18934.0, "filler": 23961.0},
    "pe_area_um2": 638024.0,
    "lnzd_node_mw": 0.023,
    "lnzd_node_area_um2": 189.0,
    "clock_mhz": 800.0,
}


def sram_read_pj(capacity_bytes: float, width_bits: float) -> float:
    """Horowitz's SRAM law: energy of one read (pJ) of ``width_bits`` from ``capacity_bytes``.

    Used for the register files, FIFOs and the codebook (flip-flop arrays below the range of
    the CACTI table, :mod:`eie_sim.cost.sram`), and kept as the reference law of EIE Table I.

    Piecewise power law through Horowitz's 45 nm 64-bit reads (8 KB 10 pJ, 32 KB 20 pJ,
    1 MB 100 pJ): linear interpolation of log(energy) in log(capacity), extended with the end
    slopes; proportional to the word width. Horowitz's 32-bit SRAM read of 5 pJ (EIE Table I)
    is the 8 KB point at 32 bits. Writes are taken to cost the same as reads.
    """
    if not (capacity_bytes > 0 and width_bits > 0):
        raise ConfigError(f"SRAM capacity={capacity_bytes} bytes, width={width_bits} bits: expected both > 0")
    pts = HOROWITZ_SRAM_64BIT_PJ
    x = math.log(capacity_bytes)
    if x <= math.log(pts[1][0]):
        (c0, e0), (c1, e1) = pts[0], pts[1]
    else:
        (c0, e0), (c1, e1) = pts[1], pts[2]
    slope = (math.log(e1) - math.log(e0)) / (math.log(c1) - math.log(c0))
    e64 = math.exp(math.log(e0) + slope * (x - math.log(c0)))
    return e64 * width_bits / 64.0


def mac_pj(act_bits: int, acc_bits: int) -> float:
    """Energy (pJ) of a fixed-point multiply of two ``act_bits`` numbers plus an ``acc_bits`` add.

    Scaled from Horowitz's 32-bit integer multiply (3.1 pJ) quadratically in width and his
    32-bit add (0.1 pJ) linearly. The scaling reproduces his 8-bit figures (0.19 vs 0.2 pJ
    multiply, 0.025 vs 0.03 pJ add). At 16-bit values and a 48-bit accumulator:
    3.1 * (16/32)**2 + 0.1 * 48/32 = 0.775 + 0.15 = 0.925 pJ.
    """
    return TABLE1["int32_mult_pj"] * (act_bits / 32.0) ** 2 + TABLE1["int32_add_pj"] * acc_bits / 32.0


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Cost:
    """One figure and where it came from."""

    value: float
    source: str


REFERENCE = ArchConfig()  # the EIE chip's configuration: every table is stated at it


def srams(config: ArchConfig) -> dict[str, tuple[float, float, int]]:
    """The SRAMs of one PE as CACTI sees them: {name: (capacity bytes, word bits, how many)}.

    spmat: ``spmat_sram_kb`` of ``sram_width``-bit words; pointers: two banks of half
    ``ptr_sram_kb`` each, one ``ptr_bits`` pointer per read (EIE section IV); activations:
    ``act_sram_kb`` of ``act_bits`` values (none when 0).
    """
    out = {"spmat": (config.spmat_sram_kb * 1024.0, float(config.sram_width), 1),
           "ptr": (config.ptr_sram_kb * 512.0, float(config.ptr_bits), 2)}
    if config.act_sram_kb:
        out["act"] = (config.act_sram_kb * 1024.0, float(config.act_bits), 1)
    for name, (cap, width, _) in out.items():
        _check_sram(name, cap, width, config)
    return out


def flipflop_arrays(config: ArchConfig) -> dict[str, tuple[float, float]]:
    """The flip-flop arrays below CACTI's range, for Horowitz's law (:func:`sram_read_pj`):
    {name: (capacity bytes, word bits)} of the codebook (2**weight_bits values), the activation
    register file (act_regs_per_pe values), the activation queue (fifo_depth entries of a value
    and a 32-bit index) and the element-wise unit's table (1,025 values read in pairs)."""
    q_bits = config.act_bits + 32  # a queue entry: value and index
    return {"codebook": ((1 << config.weight_bits) * config.act_bits / 8, config.act_bits),
            "act_regs": (config.act_regs_per_pe * config.act_bits / 8, config.act_bits),
            "queue": (config.fifo_depth * q_bits / 8, q_bits),
            "lut": (2050 * config.act_bits / 8, 2 * config.act_bits)}


def figure_law(action: Action, config: ArchConfig, cell_type: str = DEFAULT_CELL, sram_geometry: dict | None = None):
    """The law of ``action.width_rule`` at ``config`` (:data:`~eie_sim.cost.actions.WIDTH_RULES`):
    pJ for the CACTI, Horowitz and MAC rules, act_bits for "act_bits"; None when the rule has no
    law ("none", "copy", the static rules) or the configuration lacks the SRAM.
    ``sram_geometry``: :func:`srams` of ``config``, if already at hand."""
    rule = action.width_rule
    if rule in ("cacti_read", "cacti_write"):
        geo = (srams(config) if sram_geometry is None else sram_geometry).get(action.memory)
        if geo is None:
            return None
        fig = sram_figures(*geo[:2], cell_type)
        return fig.read_pj if rule == "cacti_read" else fig.write_pj
    if rule == "horowitz_sram":
        return sram_read_pj(*flipflop_arrays(config)[action.memory])
    if rule == "mac":
        return mac_pj(config.act_bits, config.acc_bits)
    if rule == "act_bits":
        return config.act_bits
    if rule == "horowitz_mult":
        return TABLE1["int32_mult_pj"] * (config.act_bits / 32.0) ** 2
    if rule == "horowitz_add32":
        return TABLE1["int32_add_pj"]
    if rule == "horowitz_add":
        slope = (TABLE1["int32_add_pj"] - TABLE1["int8_add_pj"]) / 24.0
        return TABLE1["int8_add_pj"] + (config.act_bits - 8) * slope
    return None


_SRAM_FIELDS = {"spmat": ("spmat_sram_kb", "sram_width"), "ptr": ("ptr_sram_kb", "ptr_bits"),
                "act": ("act_sram_kb", "act_bits")}


@lru_cache(maxsize=1024)
def _sram_ok(cap: float, width: float, cell_type: str) -> str:
    """'' if the CACTI table covers the geometry, else its message."""
    try:
        sram_figures(cap, width, cell_type)
    except ConfigError as exc:
        return str(exc)
    return ""


def _check_sram(name: str, cap: float, width: float, config: ArchConfig) -> None:
    """Refuse an SRAM the energy model does not cover, naming the ArchConfig field that sets it
    (the activation SRAM's word is ``act_bits`` wide, the pointer SRAM's ``ptr_bits``)."""
    msg = _sram_ok(cap, width, DEFAULT_CELL)
    if msg:
        cap_f, width_f = _SRAM_FIELDS[name]
        head, _, expected = msg.partition(": ")
        what = width_f if "width" in head else cap_f
        label = {"spmat": "sparse-matrix", "ptr": "pointer", "act": "activation"}[name]
        part = "word width" if what == width_f else "capacity"
        raise ConfigError(f"{what}={getattr(config, what)}: sets the {label} SRAM's {part}, which the SRAM energy "
                          f"model covers only within {expected.removeprefix('expected ')}")


def sram_leakage_mw(config: ArchConfig, cell_type: str = DEFAULT_CELL) -> dict[str, float]:
    """CACTI leakage (mW, subthreshold + gate) of one PE's SRAMs: {spmat, ptr, act}."""
    out = {"spmat": 0.0, "ptr": 0.0, "act": 0.0}
    for name, (cap, width, n) in srams(config).items():
        out[name] = n * sram_figures(cap, width, cell_type).leakage_mw
    return out


def _ref_dict(cfg: ArchConfig) -> dict:
    return {k: getattr(cfg, k) for k in ("sram_width", "spmat_sram_kb", "ptr_sram_kb", "act_sram_kb", "act_bits",
                                         "acc_bits", "ptr_bits", "weight_bits", "index_bits", "fifo_depth",
                                         "act_regs_per_pe", "clock_mhz")}


@dataclass(frozen=True)
class EnergyTable:
    """Per-action energies (pJ) and static powers (mW), each a :class:`Cost`, stated at the
    configuration ``reference`` (default: the EIE chip), technology ``node_nm`` and ``vdd``."""

    name: str
    energy_pj: dict
    static_mw: dict
    reference: ArchConfig = REFERENCE
    node_nm: float = 45.0
    vdd: float = 1.0
    notes: tuple = field(default=())
    sram_cell: str = DEFAULT_CELL

    def __post_init__(self) -> None:
        _check_keys(self.energy_pj, ACTION_KEYS, "energy_pj", self.name)
        _check_keys(self.static_mw, STATIC_KEYS, "static_mw", self.name)
        for group in (self.energy_pj, self.static_mw):
            for key, cost in group.items():
                if not isinstance(cost, Cost):
                    raise EnergyTableError(f"table {self.name!r}: {key}={describe(cost)}; expected a Cost")
                _check_value(self.name, key, cost.value)
                if not isinstance(cost.source, str) or not cost.source.strip():
                    raise EnergyTableError(f"table {self.name!r}: {key} has no source; every figure must say where it came from")
        for key, val in (("node_nm", self.node_nm), ("vdd", self.vdd)):
            _check_value(self.name, key, val)
            if val == 0:
                raise EnergyTableError(f"table {self.name!r}: {key}=0; expected a value > 0")
        if self.sram_cell not in CELL_TYPES:
            raise EnergyTableError(f"table {self.name!r}: sram_cell={describe(self.sram_cell)}; "
                                   f"expected one of {', '.join(CELL_TYPES)}")

    def at(self, config: ArchConfig) -> dict[str, float]:
        """Per-action energies (pJ) for ``config``: each figure x its action's law at ``config`` /
        at the reference (:func:`figure_law`): the SRAMs by CACTI
        (:func:`~eie_sim.cost.sram.sram_figures`, reads and writes apart), register files,
        FIFOs and the codebook by :func:`sram_read_pj`, the MAC by :func:`mac_pj`, LNZD and
        broadcast in proportion to act_bits, DRAM unscaled."""
        r = self.reference
        e = {k: c.value for k, c in self.energy_pj.items()}
        mine, ref = srams(config), srams(r)
        for k in e:
            action = ACTION[k]
            now = figure_law(action, config, self.sram_cell, mine)
            then = figure_law(action, r, self.sram_cell, ref)
            if now is None or then is None:
                continue  # "none", or no activation SRAM here or at the reference: never counted
            e[k] *= now / then
        return e

    def static_pj_per_cycle(self, config: ArchConfig | None = None) -> dict[str, float]:
        """Static energy per cycle (pJ) of each static key for ``config`` (default: the reference).

        Clock-network keys: mW / reference MHz * 1e3, a fixed energy per cycle. Leakage keys:
        the reference leakage scaled by CACTI to ``config``'s SRAMs, over ``config``'s clock.
        """
        config = self.reference if config is None else config
        out = {a.key: self.static_mw[a.key].value * 1e3 / self.reference.clock_mhz
               for a in STATIC_ACTIONS if a.width_rule == "clock"}
        mine, ref = sram_leakage_mw(config, self.sram_cell), sram_leakage_mw(self.reference, self.sram_cell)
        for a in STATIC_ACTIONS:
            if a.width_rule == "cacti_leakage":
                sram = a.memory
                scale = mine[sram] / ref[sram] if ref[sram] else 0.0
                out[a.key] = self.static_mw[a.key].value * scale * 1e3 / config.clock_mhz
        return out

    def sources(self) -> dict[str, str]:
        out = {k: c.source for k, c in self.energy_pj.items()}
        out.update({k: c.source for k, c in self.static_mw.items()})
        return out

    def to_toml(self) -> str:
        """The table as TOML that :func:`load_table` reads back."""
        lines = [f'name = "{self.name}"', f"node_nm = {self.node_nm!r}", f"vdd = {self.vdd!r}",
                 f'sram_cell = "{self.sram_cell}"', ""]
        lines.append("[reference]")
        for k, v in _ref_dict(self.reference).items():
            lines.append(f"{k} = {v!r}")
        for section, group, unit in (("energy_pj", self.energy_pj, "pj"), ("static_mw", self.static_mw, "mw")):
            for k, c in group.items():
                src = c.source.replace("\\", "\\\\").replace('"', '\\"')
                lines += ["", f"[{section}.{k}]", f"{unit} = {c.value!r}", f'source = "{src}"']
        return "\n".join(lines) + "\n"


def _check_keys(group, keys, what, name) -> None:
    if not isinstance(group, dict):
        raise EnergyTableError(f"table {name!r}: {what} must be a mapping, got {describe(group)}")
    unknown = sorted(set(group) - set(keys))
    if unknown:
        raise EnergyTableError(f"table {name!r}: unknown key(s) in {what}: {unknown}; expected only {list(keys)}")
    missing = [k for k in keys if k not in group]
    if missing:
        raise EnergyTableError(f"table {name!r}: missing key(s) in {what}: {missing}; every action needs a figure")


def _check_value(name, key, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise EnergyTableError(f"table {name!r}: {key}={describe(value)}; expected a finite number >= 0")


# ----------------------------------------------------------------------------- TOML


def load_table(path) -> EnergyTable:
    """Read a table from TOML: top-level ``name``, optional ``node_nm``, ``vdd`` and
    ``[reference]`` (ArchConfig fields the figures are stated at), and one section per key:
    ``[energy_pj.<action>]`` with ``pj`` and ``source``, ``[static_mw.<key>]`` with ``mw`` and
    ``source``. Every key must be present; unknown keys and negative or non-finite values are
    errors."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EnergyTableError(f"energy table {str(p)!r}: no such file") from None
    except OSError as exc:  # a directory, no permission, ...
        raise EnergyTableError(f"energy table {str(p)!r}: cannot be read ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EnergyTableError(f"energy table {str(p)!r}: not valid TOML ({exc})") from None
    where = str(p)
    allowed = {"name", "node_nm", "vdd", "sram_cell", "reference", "energy_pj", "static_mw"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise EnergyTableError(f"energy table {where!r}: unknown top-level key(s) {unknown}; expected {sorted(allowed)}")
    name = data.get("name", p.stem)
    if not isinstance(name, str):
        raise EnergyTableError(f"energy table {where!r}: name={describe(name)}; expected a string")
    ref = data.get("reference", {})
    if not isinstance(ref, dict):
        raise EnergyTableError(f"energy table {where!r}: [reference] must be a table")
    bad = sorted(set(ref) - set(_ref_dict(REFERENCE)))
    if bad:
        raise EnergyTableError(f"energy table {where!r}: unknown key(s) in [reference]: {bad}")
    try:
        reference = ArchConfig(**{**_ref_dict(REFERENCE), **ref})
    except EIEError as exc:
        raise EnergyTableError(f"energy table {where!r}: [reference]: {exc}") from None

    def section(sec, keys, unit):
        raw = data.get(sec)
        if not isinstance(raw, dict):
            raise EnergyTableError(f"energy table {where!r}: missing [{sec}] section")
        _check_keys(raw, keys, sec, where)
        out = {}
        for k in keys:
            item = raw[k]
            if not isinstance(item, dict):
                raise EnergyTableError(f"energy table {where!r}: {sec}.{k} must be a table with {unit!r} and 'source'")
            extra = sorted(set(item) - {unit, "source"})
            if extra:
                raise EnergyTableError(f"energy table {where!r}: unknown key(s) {extra} in {sec}.{k}; expected {unit!r} and 'source'")
            if unit not in item:
                raise EnergyTableError(f"energy table {where!r}: {sec}.{k} has no {unit!r} value")
            if "source" not in item:
                raise EnergyTableError(f"energy table {where!r}: {sec}.{k} has no 'source'")
            _check_value(where, f"{sec}.{k}", item[unit])
            out[k] = Cost(float(item[unit]), str(item["source"]))
        return out

    energy = section("energy_pj", ACTION_KEYS, "pj")
    static = section("static_mw", STATIC_KEYS, "mw")
    node = data.get("node_nm", 45.0)
    vdd = data.get("vdd", 1.0)
    cell = data.get("sram_cell", DEFAULT_CELL)
    return EnergyTable(name, energy, static, reference=reference, node_nm=node, vdd=vdd, notes=(f"loaded from {where}",),
                       sram_cell=cell)


def scale_table(table: EnergyTable, node_nm: float, vdd: float | None = None) -> EnergyTable:
    """Rescale ``table`` to another technology node and supply voltage.

    First-order CMOS scaling: switched capacitance is proportional to feature size and energy
    to C V^2, so every energy and every static power (treated as clock power, a fixed energy
    per cycle) is multiplied by ``(node_nm / table.node_nm) * (vdd / table.vdd)**2``. DRAM energy
    is an off-chip interface cost and does not scale with the logic node. ``vdd`` defaults to
    the table's. A first-order rule: real nodes below 28 nm scale less than linearly.
    """
    if not isinstance(table, EnergyTable):
        raise ConfigError(f"table={describe(table)}: expected an EnergyTable")
    vdd = table.vdd if vdd is None else vdd
    for key, val, hi, unit in (("node_nm", node_nm, 1000.0, "nm"), ("vdd", vdd, 10.0, "V")):
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val) or not 0 < val <= hi:
            raise ConfigError(f"{key}={describe(val)}: expected a number in (0, {hi:g}] {unit}")
    k = (node_nm / table.node_nm) * (vdd / table.vdd) ** 2
    note = f"scaled from {table.name} ({table.node_nm:g} nm, {table.vdd:g} V) by (node ratio) x (V ratio)^2 = {k:.4g}"
    energy = {key: (Cost(c.value * k, f"{c.source}; {note}") if ACTION[key].node_vdd_scaled else c)
              for key, c in table.energy_pj.items()}
    static = {key: Cost(c.value * k, f"{c.source}; {note}") for key, c in table.static_mw.items()}
    return EnergyTable(f"{table.name}@{node_nm:g}nm/{vdd:g}V", energy, static, reference=table.reference,
                       node_nm=float(node_nm), vdd=float(vdd), notes=table.notes + (note,), sram_cell=table.sram_cell)
