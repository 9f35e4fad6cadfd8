"""The built-in energy tables: ``eie45`` (default), ``eie45-ideal`` and ``horowitz45``.

``eie45`` is calibrated to the EIE chip's Table II on the activity of real layers: the
per-action energies are chosen so that the power the model computes, averaged over the nine
Table III layers on the EIE configuration (64 PEs, :data:`~eie_sim.cost.energy.REFERENCE`),
equals Table II for every module of the PE (ActQueue 0.112, PtrRead 1.807, SpmatRead 4.955,
ArithmUnit 1.162, ActRW 1.122 mW; 9.157 mW in all) and for an LNZD node (0.023 mW). The paper
measured its powers from toggle rates annotated from RTL simulation of the benchmarks (EIE
section V), so the activity of those benchmarks, not an idealised full load, is what the
figures are per. The activity is the cycle model's: ``eie45_activity.json`` holds each layer's
counters and cycles, written by ``python -m eie_sim.cost.calibrate`` and checked against a fresh
simulation by the tests.

What the preset cannot know: the paper's real weights (the suite's are generated with Table
III's densities and the dispersion of the released AlexNet fc8, :mod:`eie_sim.cycle.suite`),
how Table II's power splits between the actions of one module (fixed rules, in
:func:`_calibrated`), and which activity the paper's simulation used. It reproduces the
suite-average power; a single layer's power differs with its activity (`eie-sim bench`).

``eie45-ideal`` is the same derivation on an idealised full-load workload (one entry per PE
and cycle, columns of 8 entries in one 64-bit word, no padding): every real layer reads more
pointers and words per entry than that, so it overstates power (11.97 mW per PE on the suite,
+31%).
"""

from __future__ import annotations

import json
from pathlib import Path

from .energy import (
    ACTION_KEYS,
    REFERENCE,
    TABLE1,
    TABLE2,
    Cost,
    EnergyTable,
    EnergyTableError,
    load_table,
    mac_pj,
    sram_leakage_mw,
    sram_read_pj,
    srams,
)
from ..errors import describe
from .actions import STATIC_ACTIONS
from .sram import sram_figures

__all__ = ["PRESETS", "preset", "get_table", "ACTIVITY_PATH", "suite_rates", "ideal_rates"]

ACTIVITY_PATH = Path(__file__).resolve().parent / "eie45_activity.json"
#: counters whose per-PE rate the calibration needs (lnzd_ops is per LNZD node)
RATE_COUNTERS = ("ptr_sram_reads", "spmat_sram_reads", "codebook_reads", "macs", "act_reg_reads", "act_reg_writes",
                 "act_sram_reads", "act_sram_writes", "queue_pushes", "queue_pops", "lnzd_ops")


def suite_rates(activity: dict) -> dict[str, float]:
    """Mean over the layers of ``activity`` of each counter per PE and cycle (per LNZD node and
    cycle for ``lnzd_ops``); ``macs`` counts real and padding MACs. Each layer weighs the same."""
    layers = activity["layers"]
    out = dict.fromkeys(RATE_COUNTERS, 0.0)
    for lay in layers.values():
        c = dict(lay["counters"], macs=lay["counters"]["macs_real"] + lay["counters"]["macs_padding"])
        for k in RATE_COUNTERS:
            units = lay["lnzd_nodes"] if k == "lnzd_ops" else lay["n_pe"]
            out[k] += c[k] / (units * lay["cycles"]) / len(layers)
    return out


def ideal_rates() -> dict[str, float]:
    """The idealised full load of ``eie45-ideal``: per PE and cycle one entry (MAC, codebook
    read, accumulator read and write), 1/8 column (a queue push and pop, two pointer-bank reads,
    an LNZD operation per node) and 1/8 64-bit word; no activation-SRAM traffic."""
    return {"ptr_sram_reads": 2 / 8, "spmat_sram_reads": 1 / 8, "codebook_reads": 1.0, "macs": 1.0,
            "act_reg_reads": 1.0, "act_reg_writes": 1.0, "act_sram_reads": 0.0, "act_sram_writes": 0.0,
            "queue_pushes": 1 / 8, "queue_pops": 1 / 8, "lnzd_ops": 1 / 8}


def _calibrated(name: str, rates: dict, workload: str, notes: tuple) -> EnergyTable:
    """Per-action energies that make each Table II module draw its power at ``rates``.

    For each module, power = clock + leakage + sum(action energy x rate x clock):
    ``E = (P_module - clock - leakage) x 1e3 / (800 MHz x rate)`` pJ, where the clock-network
    share of every module is Table II's (1.874 of 9.157 mW) and SRAM leakage is CACTI's at the
    reference SRAMs. Within a module: the MAC is Horowitz's (:func:`mac_pj`) and the codebook
    read takes the rest of the ArithmUnit energy per entry; the activation SRAM accesses are
    CACTI's and the register read and write share the rest of ActRW equally; a queue push and
    pop cost the same. Broadcast wires have no Table II figure (0); DRAM is Table I's.
    """
    t2, f_mhz = TABLE2, TABLE2["clock_mhz"]
    clock_frac = t2["kind_mw"]["clock_network"] / t2["pe_total_mw"]
    m = t2["module_mw"]
    leak = sram_leakage_mw(REFERENCE)
    act = srams(REFERENCE)["act"][:2]
    act_fig = sram_figures(*act)

    def per_action(dyn_mw: float, rate: float, what: str) -> float:
        e = dyn_mw * 1e3 / (f_mhz * rate) if rate else 0.0
        if e < 0:
            raise EnergyTableError(f"{name}: {what} gets {e:.4g} pJ; Table II cannot be met at these rates ({workload})")
        return e

    dyn = {k: m[k] * (1 - clock_frac) for k in m}
    src = f"EIE Table II {{m}} {{p}} mW, less clock share{{leak}}, over {{r}} per PE and cycle ({workload})"
    spmat = per_action(dyn["SpmatRead"] - leak["spmat"], rates["spmat_sram_reads"], "spmat_sram_read")
    ptr = per_action(dyn["PtrRead"] - leak["ptr"], rates["ptr_sram_reads"], "ptr_sram_read")
    mac = mac_pj(REFERENCE.act_bits, REFERENCE.acc_bits)
    codebook = per_action(dyn["ArithmUnit"], rates["macs"], "codebook_read") - mac
    act_sram_mw = (rates["act_sram_reads"] * act_fig.read_pj + rates["act_sram_writes"] * act_fig.write_pj) * f_mhz / 1e3
    reg = per_action(dyn["ActRW"] - leak["act"] - act_sram_mw, rates["act_reg_reads"] + rates["act_reg_writes"],
                     "act_reg_read/write")
    queue = per_action(dyn["ActQueue"], rates["queue_pushes"] + rates["queue_pops"], "queue_push/pop")
    lnzd = per_action(t2["lnzd_node_mw"] * (1 - clock_frac), rates["lnzd_ops"], "lnzd_op")
    if codebook < 0:
        raise EnergyTableError(f"{name}: the MAC alone exceeds ArithmUnit's power at these rates ({workload})")

    def r(k):
        return f"{rates[k]:.4g} {k}"

    e = {
        "spmat_sram_read": Cost(spmat, src.format(m="SpmatRead", p=m["SpmatRead"], leak=" and CACTI leakage", r=r("spmat_sram_reads"))),
        "ptr_sram_read": Cost(ptr, src.format(m="PtrRead", p=m["PtrRead"], leak=" and CACTI leakage", r=r("ptr_sram_reads"))),
        "mac": Cost(mac, "Horowitz 2014 via EIE Table I: 3.1 pJ x (16/32)^2 + 0.1 pJ x 48/32 (see mac_pj)"),
        "codebook_read": Cost(codebook, src.format(m="ArithmUnit", p=m["ArithmUnit"], leak="", r=r("macs")) + ", less the MAC"),
        "act_reg_read": Cost(reg, src.format(m="ActRW", p=m["ActRW"], leak=", CACTI leakage and activation-SRAM energy",
                                             r=r("act_reg_reads") + " + " + r("act_reg_writes"))),
        "act_sram_read": Cost(act_fig.read_pj, act_fig.source + ", read"),
        "act_sram_write": Cost(act_fig.write_pj, act_fig.source + ", write"),
        "queue_push": Cost(queue, src.format(m="ActQueue", p=m["ActQueue"], leak="", r=r("queue_pushes") + " + pops")),
        "lnzd_op": Cost(lnzd, src.format(m="LNZD node", p=t2["lnzd_node_mw"], leak="", r=r("lnzd_ops") + " per node")),
        "broadcast": Cost(0.0, "EIE Table II has no broadcast figure; folded into the ActQueue push"),
        "dram_byte": Cost(TABLE1["dram32_read_pj"] / 4, "EIE Table I (Horowitz 2014): 640 pJ per 32-bit DRAM read"),
    }
    e["act_reg_write"] = Cost(reg, e["act_reg_read"].source + " (write = read)")
    e["queue_pop"] = Cost(queue, e["queue_push"].source + " (pop = push)")
    e = {k: e[k] for k in ACTION_KEYS}
    s_src = "EIE Table II, {m} {p} mW x 1.874/9.157 (clock-network share, charged every cycle)"
    s = {
        "actqueue_static_mw": Cost(m["ActQueue"] * clock_frac, s_src.format(m="ActQueue", p=m["ActQueue"])),
        "ptrread_static_mw": Cost(m["PtrRead"] * clock_frac, s_src.format(m="PtrRead", p=m["PtrRead"])),
        "spmatread_static_mw": Cost(m["SpmatRead"] * clock_frac, s_src.format(m="SpmatRead", p=m["SpmatRead"])),
        "arithm_static_mw": Cost(m["ArithmUnit"] * clock_frac, s_src.format(m="ArithmUnit", p=m["ArithmUnit"])),
        "actrw_static_mw": Cost(m["ActRW"] * clock_frac, s_src.format(m="ActRW", p=m["ActRW"])),
        "lnzd_static_mw": Cost(t2["lnzd_node_mw"] * clock_frac, "EIE Table II LNZD node 0.023 mW x 1.874/9.157"),
    }
    s.update(_leakage(leak))
    return EnergyTable(name, e, s, notes=notes)


def _leakage(leak: dict) -> dict:
    """The static keys of ``leak``, the CACTI leakage of the reference SRAMs per PE."""
    geo = srams(REFERENCE)
    out = {}
    for a in STATIC_ACTIONS:
        if a.width_rule == "cacti_leakage":
            cap, width, n = geo[a.memory]
            out[a.key] = Cost(leak[a.memory], f"{sram_figures(cap, width).source}, leakage x {n}")
    return out


def load_activity(path: Path = ACTIVITY_PATH) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise EnergyTableError(f"eie45 activity file {str(path)!r}: {exc}; regenerate it with "
                               "python -m eie_sim.cost.calibrate") from None


def _eie45() -> EnergyTable:
    """Calibrated to EIE Table II on the Table III suite's activity (module docstring)."""
    act = load_activity()
    g = act["generator"]
    workload = (f"mean of the 9 Table III layers on {act['config']['n_pe']} PEs, seed {g['seed']}, "
                f"row/col CV {g.get('row_cv', 0):g}/{g.get('col_cv', 0):g}")
    return _calibrated("eie45", suite_rates(act), workload,
                       ("calibrated to EIE Table II on the Table III suite's activity; see eie_sim.cost.presets",))


def _eie45_ideal() -> EnergyTable:
    """Calibrated to EIE Table II on an idealised full load (:func:`ideal_rates`)."""
    return _calibrated("eie45-ideal", ideal_rates(), "idealised full load",
                       ("calibrated to EIE Table II at an idealised full load; overstates real layers' power",))


def _horowitz45() -> EnergyTable:
    """Bottom-up: Horowitz's 45 nm figures (ISSCC 2014, quoted in EIE Table I) and CACTI.

    The SRAMs (spmat, pointer banks, activation SRAM) are CACTI's (:mod:`eie_sim.cost.sram`);
    register files, the codebook and queues use :func:`sram_read_pj` at their capacity and
    width; the MAC :func:`mac_pj`; an LNZD node compares four act_bits values (4 x 0.1 pJ x
    16/32); DRAM is 160 pJ/byte. Table I has no clock figures, so the clock-network powers are
    EIE Table II's shares (as in eie45), and leakage is CACTI's; it has no wire figure, so the
    broadcast is 0.
    """
    r = REFERENCE
    hz = "Horowitz 2014 SRAM law (sram_read_pj)"
    geo = srams(r)
    spmat, ptr, act = (sram_figures(*geo[k][:2]) for k in ("spmat", "ptr", "act"))
    e = {
        "ptr_sram_read": Cost(ptr.read_pj, ptr.source + ", read"),
        "spmat_sram_read": Cost(spmat.read_pj, spmat.source + ", read"),
        "codebook_read": Cost(sram_read_pj(16 * 2, 16), f"{hz}: 16 x 16-bit codebook"),
        "mac": Cost(mac_pj(16, 48), "Horowitz 2014 via EIE Table I: 3.1 pJ x (16/32)^2 + 0.1 pJ x 48/32 (see mac_pj)"),
        "act_reg_read": Cost(sram_read_pj(64 * 2, 16), f"{hz}: 64 x 16-bit register file"),
        "act_reg_write": Cost(sram_read_pj(64 * 2, 16), f"{hz}: 64 x 16-bit register file (write = read)"),
        "act_sram_read": Cost(act.read_pj, act.source + ", read"),
        "act_sram_write": Cost(act.write_pj, act.source + ", write"),
        "queue_push": Cost(sram_read_pj(8 * 6, 48), f"{hz}: 8 x 48-bit FIFO"),
        "queue_pop": Cost(sram_read_pj(8 * 6, 48), f"{hz}: 8 x 48-bit FIFO"),
        "lnzd_op": Cost(4 * TABLE1["int32_add_pj"] * 16 / 32, "Horowitz 2014: four 16-bit compares at 0.1 pJ x 16/32"),
        "broadcast": Cost(0.0, "not modelled: Horowitz 2014 Table I gives no wire energy"),
        "dram_byte": Cost(TABLE1["dram32_read_pj"] / 4, "EIE Table I (Horowitz 2014): 640 pJ per 32-bit DRAM read"),
    }
    eie = preset("eie45")  # built once, shared with the eie45 preset
    s = {k: Cost(c.value, c.source + (" (Horowitz 2014 has no static figures)" if "leak" not in k else ""))
         for k, c in eie.static_mw.items()}
    return EnergyTable("horowitz45", e, s, notes=("bottom-up from Horowitz 2014 45 nm figures and CACTI SRAMs",))


PRESETS = {"eie45": _eie45, "eie45-ideal": _eie45_ideal, "horowitz45": _horowitz45}
_CACHE: dict = {}


def preset(name: str) -> EnergyTable:
    """A built-in table: ``eie45``, ``eie45-ideal`` or ``horowitz45``."""
    if name not in PRESETS:
        raise EnergyTableError(f"energy table={describe(name)}: expected one of {sorted(PRESETS)} or a .toml file")
    if name not in _CACHE:
        _CACHE[name] = PRESETS[name]()
    return _CACHE[name]


def get_table(spec) -> EnergyTable:
    """A table from a preset name, a TOML path or an :class:`EnergyTable`."""
    if isinstance(spec, EnergyTable):
        return spec
    if isinstance(spec, (str, Path)) and str(spec) in PRESETS:
        return preset(str(spec))
    if isinstance(spec, (str, Path)) and (str(spec).endswith(".toml") or Path(spec).exists()):
        return load_table(spec)  # a folder or an unreadable file is refused there, with its reason
    raise EnergyTableError(f"energy table={describe(spec)}: expected one of {sorted(PRESETS)} or a .toml file")
