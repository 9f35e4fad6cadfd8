"""Energy tables: a cost in pJ for every action the cycle model counts, each with its source.

A table holds per-action energies *at a reference configuration* (the EIE chip's: 64-bit spmat
words, 128 KB spmat SRAM, 32 KB pointer SRAM, 2 KB activation SRAM, 16-bit activations, ...)
plus static power per PE. :meth:`EnergyTable.at` turns it into energies for any
:class:`ArchConfig`, scaling each SRAM-like action with :func:`sram_read_pj` and the MAC with
:func:`mac_pj` relative to the reference, so sweeps over SRAM width or capacity move the
energy per access (EIE paper, Fig. 9: wider words mean fewer reads, each costlier).

Action keys (one per counter of :mod:`eie_sim.cycle.kernels`)::

    ptr_sram_read    per pointer-bank read            (counter ptr_sram_reads)
    spmat_sram_read  per spmat SRAM word read         (spmat_sram_reads)
    codebook_read    per codebook look-up             (codebook_reads)
    mac              per multiply-accumulate          (macs_real + macs_padding)
    act_reg_read     per activation register read     (act_reg_reads)
    act_reg_write    per activation register write    (act_reg_writes)
    act_sram_read    per activation SRAM read         (act_sram_reads)
    act_sram_write   per activation SRAM write        (act_sram_writes)
    queue_push       per activation-queue push        (queue_pushes)
    queue_pop        per activation-queue pop         (queue_pops)
    lnzd_op          per LNZD node evaluation         (lnzd_ops)
    broadcast        per broadcast on the H-tree      (broadcasts)
    dram_byte        per byte of DRAM traffic         (dram_bytes)

Static keys (mW, charged for every cycle of a layer, idle PEs included; treated as clock
network power, i.e. a fixed energy per cycle at the reference clock)::

    actqueue_static_mw, ptrread_static_mw, spmatread_static_mw, arithm_static_mw,
    actrw_static_mw   per PE, by module
    lnzd_static_mw    per LNZD node

Presets: ``eie45`` (calibrated to the EIE chip's Table II, the default) and ``horowitz45``
(Horowitz, ISSCC 2014, 45 nm, as quoted in EIE Table I). Users load their own from TOML with
:func:`load_table` (the same keys, every one required, each with ``pj`` or ``mw`` and
``source``).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ArchConfig
from ..errors import ConfigError, EIEError, describe

__all__ = [
    "ACTION_KEYS",
    "STATIC_KEYS",
    "COUNTER_OF",
    "MODULE_OF",
    "LEVEL_OF",
    "EnergyTable",
    "EnergyTableError",
    "sram_read_pj",
    "mac_pj",
    "preset",
    "load_table",
    "get_table",
    "scale_table",
    "PRESETS",
    "TABLE1",
    "TABLE2",
]


class EnergyTableError(EIEError):
    """An energy table is malformed: a key is unknown or missing, or a value is not a finite number >= 0."""


ACTION_KEYS = (
    "ptr_sram_read",
    "spmat_sram_read",
    "codebook_read",
    "mac",
    "act_reg_read",
    "act_reg_write",
    "act_sram_read",
    "act_sram_write",
    "queue_push",
    "queue_pop",
    "lnzd_op",
    "broadcast",
    "dram_byte",
)
STATIC_KEYS = (
    "actqueue_static_mw",
    "ptrread_static_mw",
    "spmatread_static_mw",
    "arithm_static_mw",
    "actrw_static_mw",
    "lnzd_static_mw",
)

# action -> the counter(s) it is charged on
COUNTER_OF = {
    "ptr_sram_read": ("ptr_sram_reads",),
    "spmat_sram_read": ("spmat_sram_reads",),
    "codebook_read": ("codebook_reads",),
    "mac": ("macs_real", "macs_padding"),
    "act_reg_read": ("act_reg_reads",),
    "act_reg_write": ("act_reg_writes",),
    "act_sram_read": ("act_sram_reads",),
    "act_sram_write": ("act_sram_writes",),
    "queue_push": ("queue_pushes",),
    "queue_pop": ("queue_pops",),
    "lnzd_op": ("lnzd_ops",),
    "broadcast": ("broadcasts",),
    "dram_byte": ("dram_bytes",),
}
# action or static key -> module of the PE (EIE Table II) or of the array
MODULE_OF = {
    "queue_push": "ActQueue",
    "queue_pop": "ActQueue",
    "actqueue_static_mw": "ActQueue",
    "ptr_sram_read": "PtrRead",
    "ptrread_static_mw": "PtrRead",
    "spmat_sram_read": "SpmatRead",
    "spmatread_static_mw": "SpmatRead",
    "codebook_read": "ArithmUnit",
    "mac": "ArithmUnit",
    "arithm_static_mw": "ArithmUnit",
    "act_reg_read": "ActRW",
    "act_reg_write": "ActRW",
    "act_sram_read": "ActRW",
    "act_sram_write": "ActRW",
    "actrw_static_mw": "ActRW",
    "lnzd_op": "LNZD",
    "lnzd_static_mw": "LNZD",
    "broadcast": "Broadcast",
    "dram_byte": "DRAM",
}
# action -> level of the memory hierarchy (or logic / static)
LEVEL_OF = {
    "queue_push": "registers",
    "queue_pop": "registers",
    "codebook_read": "registers",
    "act_reg_read": "registers",
    "act_reg_write": "registers",
    "ptr_sram_read": "sram",
    "spmat_sram_read": "sram",
    "act_sram_read": "sram",
    "act_sram_write": "sram",
    "dram_byte": "dram",
    "mac": "logic",
    "lnzd_op": "logic",
    "broadcast": "logic",
}

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
    """Energy of one SRAM read (pJ) of ``width_bits`` from an SRAM of ``capacity_bytes``.

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

    def at(self, config: ArchConfig) -> dict[str, float]:
        """Per-action energies (pJ) for ``config``: SRAM-like actions scaled by
        :func:`sram_read_pj`, the MAC by :func:`mac_pj`, relative to the reference."""
        r = self.reference
        e = {k: c.value for k, c in self.energy_pj.items()}

        def ratio(cap_bytes, width, ref_cap_bytes, ref_width):
            return sram_read_pj(cap_bytes, width) / sram_read_pj(ref_cap_bytes, ref_width)

        e["spmat_sram_read"] *= ratio(config.spmat_sram_kb * 1024, config.sram_width, r.spmat_sram_kb * 1024, r.sram_width)
        # two banks of half the pointer SRAM each; one pointer per read
        e["ptr_sram_read"] *= ratio(config.ptr_sram_kb * 512, config.ptr_bits, r.ptr_sram_kb * 512, r.ptr_bits)
        for k in ("act_sram_read", "act_sram_write"):
            e[k] *= ratio(config.act_sram_kb * 1024 or 1, config.act_bits, r.act_sram_kb * 1024 or 1, r.act_bits)
        e["codebook_read"] *= ratio((1 << config.weight_bits) * config.act_bits / 8, config.act_bits,
                                    (1 << r.weight_bits) * r.act_bits / 8, r.act_bits)
        for k in ("act_reg_read", "act_reg_write"):
            e[k] *= ratio(config.act_regs_per_pe * config.act_bits / 8, config.act_bits,
                          r.act_regs_per_pe * r.act_bits / 8, r.act_bits)
        q_bits, rq_bits = config.act_bits + 32, r.act_bits + 32  # a queue entry: value and index
        for k in ("queue_push", "queue_pop"):
            e[k] *= ratio(config.fifo_depth * q_bits / 8, q_bits, r.fifo_depth * rq_bits / 8, rq_bits)
        e["mac"] *= mac_pj(config.act_bits, config.acc_bits) / mac_pj(r.act_bits, r.acc_bits)
        e["lnzd_op"] *= config.act_bits / r.act_bits
        e["broadcast"] *= config.act_bits / r.act_bits
        return e

    def static_pj_per_cycle(self) -> dict[str, float]:
        """Static energy per cycle (pJ) of each static key: mW / reference MHz * 1e3."""
        return {k: c.value * 1e3 / self.reference.clock_mhz for k, c in self.static_mw.items()}

    def sources(self) -> dict[str, str]:
        out = {k: c.source for k, c in self.energy_pj.items()}
        out.update({k: c.source for k, c in self.static_mw.items()})
        return out

    def to_toml(self) -> str:
        """The table as TOML that :func:`load_table` reads back."""
        lines = [f'name = "{self.name}"', f"node_nm = {self.node_nm!r}", f"vdd = {self.vdd!r}", ""]
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


# ----------------------------------------------------------------------------- presets


def _eie45() -> EnergyTable:
    """Calibrated to EIE Table II (one PE at 800 MHz, full load, 45 nm).

    Derivation. Full load means one entry per cycle. The reference workload has columns of
    C_REF = 8 entries per PE (one 64-bit spmat word), all activations non-zero, no padding, so
    per PE and cycle: 1 MAC and 1 codebook read, 1/8 spmat word read, 1/8 column, hence
    2/8 pointer-bank reads, 1/8 queue push and 1/8 pop, 1 accumulator read and 1 write. Of each
    module's power, the clock-network share (1.874 of 9.157 mW, Table II by kind) is static
    (charged every cycle); the rest is dynamic and divided by the module's action rate:
    ``E = P_module * (1 - 1.874/9.157) / (800 MHz * rate)``. The ArithmUnit energy per entry
    is split into the MAC (:func:`mac_pj`, Horowitz-scaled) and the codebook read (the rest);
    ActQueue equally into push and pop, ActRW equally into register read and write. The LNZD
    node (0.023 mW, Table II) is split the same way at one operation per broadcast (1/8 per
    cycle). Activation-SRAM accesses are not exercised at full load: they take the calibrated
    spmat read scaled by :func:`sram_read_pj` to a 2 KB, 16-bit access. DRAM: 640 pJ per 32-bit
    read (Table I), 160 pJ/byte. Broadcast: Table II has no separate figure; its energy is
    part of the ActQueue push (0 here).
    """
    t2 = TABLE2
    f_hz = t2["clock_mhz"] * 1e6
    clock_frac = t2["kind_mw"]["clock_network"] / t2["pe_total_mw"]
    c_ref = 8.0
    rates = {"entry": 1.0, "word": 1.0 / 8.0, "column": 1.0 / c_ref}

    def dyn_pj(module_mw: float, rate: float) -> float:
        return module_mw * 1e-3 * (1.0 - clock_frac) / (f_hz * rate) * 1e12

    m = t2["module_mw"]
    src = "EIE Table II, {m} {p} mW x (1 - 1.874/9.157 clock share) / (800 MHz x {r})"
    arith_entry = dyn_pj(m["ArithmUnit"], rates["entry"])
    mac = mac_pj(16, 48)
    e = {
        "ptr_sram_read": Cost(dyn_pj(m["PtrRead"], 2 * rates["column"]), src.format(m="PtrRead", p=1.807, r="2/8 bank reads per cycle")),
        "spmat_sram_read": Cost(dyn_pj(m["SpmatRead"], rates["word"]), src.format(m="SpmatRead", p=4.955, r="1/8 word reads per cycle")),
        "mac": Cost(mac, "Horowitz 2014 via EIE Table I: 3.1 pJ x (16/32)^2 + 0.1 pJ x 48/32 (see mac_pj)"),
        "codebook_read": Cost(arith_entry - mac, "EIE Table II ArithmUnit 1.162 mW dynamic share per entry (1.155 pJ) minus the MAC"),
        "act_reg_read": Cost(dyn_pj(m["ActRW"], 1.0) / 2, src.format(m="ActRW", p=1.122, r="1 read + 1 write per cycle") + ", halved"),
        "act_reg_write": Cost(dyn_pj(m["ActRW"], 1.0) / 2, src.format(m="ActRW", p=1.122, r="1 read + 1 write per cycle") + ", halved"),
        "queue_push": Cost(dyn_pj(m["ActQueue"], rates["column"]) / 2, src.format(m="ActQueue", p=0.112, r="1/8 columns per cycle") + ", halved"),
        "queue_pop": Cost(dyn_pj(m["ActQueue"], rates["column"]) / 2, src.format(m="ActQueue", p=0.112, r="1/8 columns per cycle") + ", halved"),
        "lnzd_op": Cost(dyn_pj(t2["lnzd_node_mw"], rates["column"]), "EIE Table II LNZD node 0.023 mW dynamic share at one operation per 8 cycles"),
        "broadcast": Cost(0.0, "EIE Table II has no broadcast figure; folded into the ActQueue push"),
        "dram_byte": Cost(TABLE1["dram32_read_pj"] / 4, "EIE Table I (Horowitz 2014): 640 pJ per 32-bit DRAM read"),
    }
    spmat = e["spmat_sram_read"].value
    act_sram = spmat * sram_read_pj(2048, 16) / sram_read_pj(128 * 1024, 64)
    act_src = "calibrated spmat read scaled by the Horowitz SRAM model from 128 KB x 64 bit to 2 KB x 16 bit"
    e["act_sram_read"] = Cost(act_sram, act_src)
    e["act_sram_write"] = Cost(act_sram, act_src + " (write = read)")
    s_src = "EIE Table II, {m} {p} mW x 1.874/9.157 (clock-network share, charged every cycle)"
    s = {
        "actqueue_static_mw": Cost(m["ActQueue"] * clock_frac, s_src.format(m="ActQueue", p=0.112)),
        "ptrread_static_mw": Cost(m["PtrRead"] * clock_frac, s_src.format(m="PtrRead", p=1.807)),
        "spmatread_static_mw": Cost(m["SpmatRead"] * clock_frac, s_src.format(m="SpmatRead", p=4.955)),
        "arithm_static_mw": Cost(m["ArithmUnit"] * clock_frac, s_src.format(m="ArithmUnit", p=1.162)),
        "actrw_static_mw": Cost(m["ActRW"] * clock_frac, s_src.format(m="ActRW", p=1.122)),
        "lnzd_static_mw": Cost(t2["lnzd_node_mw"] * clock_frac, "EIE Table II LNZD node 0.023 mW x 1.874/9.157"),
    }
    return EnergyTable("eie45", e, s, notes=("calibrated to EIE Table II at full load; see energy._eie45",))


def _horowitz45() -> EnergyTable:
    """Bottom-up from Horowitz's 45 nm figures (ISSCC 2014, quoted in EIE Table I).

    SRAM-like structures (spmat, pointer banks, activation SRAM, activation registers,
    codebook, queues) use :func:`sram_read_pj` at their capacity and width; the MAC uses
    :func:`mac_pj`; an LNZD node compares four act_bits values (4 x 0.1 pJ x 16/32); DRAM is
    160 pJ/byte. Table I has no leakage or clock figures, so the static powers are EIE Table
    II's clock-network shares (as in eie45); it has no wire figure, so the broadcast is 0.
    """
    r = REFERENCE
    hz = "Horowitz 2014 SRAM model (sram_read_pj)"
    e = {
        "ptr_sram_read": Cost(sram_read_pj(r.ptr_sram_kb * 512, r.ptr_bits), f"{hz}: 16 KB bank, 17-bit pointer"),
        "spmat_sram_read": Cost(sram_read_pj(r.spmat_sram_kb * 1024, r.sram_width), f"{hz}: 128 KB, 64-bit word"),
        "codebook_read": Cost(sram_read_pj(16 * 2, 16), f"{hz}: 16 x 16-bit codebook"),
        "mac": Cost(mac_pj(16, 48), "Horowitz 2014 via EIE Table I: 3.1 pJ x (16/32)^2 + 0.1 pJ x 48/32 (see mac_pj)"),
        "act_reg_read": Cost(sram_read_pj(64 * 2, 16), f"{hz}: 64 x 16-bit register file"),
        "act_reg_write": Cost(sram_read_pj(64 * 2, 16), f"{hz}: 64 x 16-bit register file (write = read)"),
        "act_sram_read": Cost(sram_read_pj(2048, 16), f"{hz}: 2 KB, 16-bit"),
        "act_sram_write": Cost(sram_read_pj(2048, 16), f"{hz}: 2 KB, 16-bit (write = read)"),
        "queue_push": Cost(sram_read_pj(8 * 6, 48), f"{hz}: 8 x 48-bit FIFO"),
        "queue_pop": Cost(sram_read_pj(8 * 6, 48), f"{hz}: 8 x 48-bit FIFO"),
        "lnzd_op": Cost(4 * TABLE1["int32_add_pj"] * 16 / 32, "Horowitz 2014: four 16-bit compares at 0.1 pJ x 16/32"),
        "broadcast": Cost(0.0, "not modelled: Horowitz 2014 Table I gives no wire energy"),
        "dram_byte": Cost(TABLE1["dram32_read_pj"] / 4, "EIE Table I (Horowitz 2014): 640 pJ per 32-bit DRAM read"),
    }
    eie = preset("eie45")  # built once, shared with the eie45 preset
    s = {k: Cost(c.value, c.source + " (Horowitz 2014 has no static figures)") for k, c in eie.static_mw.items()}
    return EnergyTable("horowitz45", e, s, notes=("bottom-up from Horowitz 2014 45 nm figures",))


PRESETS = {"eie45": _eie45, "horowitz45": _horowitz45}
_CACHE: dict = {}


def preset(name: str) -> EnergyTable:
    """A built-in table: ``eie45`` or ``horowitz45``."""
    if name not in PRESETS:
        raise EnergyTableError(f"energy table={describe(name)}: expected one of {sorted(PRESETS)} or a .toml file")
    if name not in _CACHE:
        _CACHE[name] = PRESETS[name]()
    return _CACHE[name]


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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EnergyTableError(f"energy table {str(p)!r}: not valid TOML ({exc})") from None
    where = str(p)
    allowed = {"name", "node_nm", "vdd", "reference", "energy_pj", "static_mw"}
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
    return EnergyTable(name, energy, static, reference=reference, node_nm=node, vdd=vdd, notes=(f"loaded from {where}",))


def get_table(spec) -> EnergyTable:
    """A table from a preset name, a TOML path or an :class:`EnergyTable`."""
    if isinstance(spec, EnergyTable):
        return spec
    if isinstance(spec, (str, Path)) and str(spec) in PRESETS:
        return preset(str(spec))
    if isinstance(spec, (str, Path)) and (str(spec).endswith(".toml") or Path(spec).exists()):
        return load_table(spec)
    raise EnergyTableError(f"energy table={describe(spec)}: expected one of {sorted(PRESETS)} or a .toml file")


def scale_table(table: EnergyTable, node_nm: float, vdd: float | None = None) -> EnergyTable:
    """Rescale ``table`` to another technology node and supply voltage.

    First-order CMOS scaling: switched capacitance is proportional to feature size and energy
    to C V^2, so every energy and every static power (treated as clock power, a fixed energy
    per cycle) is multiplied by ``(node_nm / table.node_nm) * (vdd / table.vdd)**2``. DRAM energy
    is an off-chip interface cost and does not scale with the logic node. ``vdd`` defaults to
    the table's. A first-order rule: real nodes below 28 nm scale less than linearly.
    """
    vdd = table.vdd if vdd is None else vdd
    for key, val in (("node_nm", node_nm), ("vdd", vdd)):
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val) or val <= 0:
            raise ConfigError(f"{key}={describe(val)}: expected a finite number > 0")
    k = (node_nm / table.node_nm) * (vdd / table.vdd) ** 2
    note = f"scaled from {table.name} ({table.node_nm:g} nm, {table.vdd:g} V) by (node ratio) x (V ratio)^2 = {k:.4g}"
    energy = {
        key: (c if key == "dram_byte" else Cost(c.value * k, f"{c.source}; {note}")) for key, c in table.energy_pj.items()
    }
    static = {key: Cost(c.value * k, f"{c.source}; {note}") for key, c in table.static_mw.items()}
    return EnergyTable(f"{table.name}@{node_nm:g}nm/{vdd:g}V", energy, static, reference=table.reference,
                       node_nm=float(node_nm), vdd=float(vdd), notes=table.notes + (note,))
