"""Energy per inference: the cycle model's counters through an energy table.

``energy_report(sim_result, table)`` charges every counter at the table's energy for the
simulated configuration (:meth:`EnergyTable.at`), adds static power for every cycle of the
layer on every PE (idle ones included) and every LNZD node, and reports the total and its
breakdown by action, by module and by level, average power, throughput and efficiency, the
array's area, and a dense baseline with the savings of each compression technique.

The dense baseline follows the paper's decomposition (EIE section VI: DRAM -> SRAM, pruning,
weight sharing, activation skipping), per weight fetch and MAC, with Table I figures:

1. dense fp32 from DRAM:   M*K x (640 pJ DRAM 32-bit read + 3.7 + 0.9 pJ fp32 mult + add)
2. dense fp32 from SRAM:   M*K x (5 pJ SRAM 32-bit read + 4.6 pJ)
3. pruned (fp32 + index):  entries x (5 pJ x (32 + index_bits)/32 + 4.6 pJ)
4. weight sharing:         entries x (5 pJ x (weight_bits + index_bits)/32 + codebook read + 16-bit MAC)
5. activation skipping:    entries processed x the same as 4

(entries: stored, padding included; the codebook read and MAC come from the table.) A conv layer
runs its matrix once per output position (counter ``positions``, :mod:`eie_sim.cycle.conv`), so
steps 1-4 are multiplied by the positions: dense MACs = positions x C_out x K, each with its
weight fetch; step 5 and the simulated energy already count every position. The
savings are the ratios of consecutive steps; ``eie_pj`` is the simulated energy of the layer,
which adds pointers, queues, activations and static power to step 5.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .actions import ACTION, CONV_ACTIONS, ELEMENTWISE_ACTIONS, LEVELS, STATIC_ACTIONS
from .area import area_report
from .conv import conv_pj
from .elementwise import elementwise_pj
from ..cycle.kernels import lnzd_nodes
from .energy import TABLE1, EnergyTable
from .presets import get_table
from ..cycle.simulator import SimResult
from ..errors import ConfigError, describe

__all__ = ["EnergyReport", "DenseBaseline", "energy_report"]


@dataclass(frozen=True)
class DenseBaseline:
    """Energies (pJ) of the paper's decomposition steps for one layer and the savings between them."""

    dense_dram_pj: float
    dense_sram_pj: float
    pruned_pj: float
    shared_pj: float
    skipped_pj: float
    eie_pj: float

    @property
    def savings(self) -> dict:
        return {
            "sram_instead_of_dram": self.dense_dram_pj / self.dense_sram_pj,
            "pruning": self.dense_sram_pj / self.pruned_pj if self.pruned_pj else float("inf"),
            "weight_sharing": self.pruned_pj / self.shared_pj if self.shared_pj else float("inf"),
            "activation_skipping": self.shared_pj / self.skipped_pj if self.skipped_pj else float("inf"),
            "total_vs_dense_dram": self.dense_dram_pj / self.eie_pj if self.eie_pj else float("inf"),
        }

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("dense_dram_pj", "dense_sram_pj", "pruned_pj", "shared_pj", "skipped_pj", "eie_pj")}
        d["savings"] = self.savings
        return d


@dataclass(frozen=True)
class EnergyReport:
    """Energy of one layer (or a model: ``layers`` holds each layer's report) in pJ."""

    name: str
    table: str
    energy_pj: float
    by_action: dict
    by_module: dict
    by_level: dict
    latency_us: float
    macs_real: int
    dense_ops: int
    area_mm2: float
    baseline: DenseBaseline | None
    layers: tuple = field(default=())

    @property
    def power_mw(self) -> float:
        """Average power: pJ / us = uW, so / 1e3 gives mW."""
        return self.energy_pj / self.latency_us / 1e3 if self.latency_us else 0.0

    @property
    def gops(self) -> float:
        return 2.0 * self.macs_real / (self.latency_us * 1e3) if self.latency_us else 0.0

    @property
    def dense_gops(self) -> float:
        """The throughput a dense engine would need for the same latency (2 ops per weight)."""
        return self.dense_ops / (self.latency_us * 1e3) if self.latency_us else 0.0

    @property
    def frames_per_s(self) -> float:
        return 1e6 / self.latency_us if self.latency_us else 0.0

    @property
    def frames_per_j(self) -> float:
        return 1e12 / self.energy_pj if self.energy_pj else 0.0

    def to_dict(self) -> dict:
        d = {
            "layer": self.name,
            "energy_table": self.table,
            "energy_pj": {"total": self.energy_pj, "by_action": self.by_action, "by_module": self.by_module,
                          "by_level": self.by_level},
            "power_mw": self.power_mw,
            "gops": self.gops,
            "dense_gops": self.dense_gops,
            "frames_per_s": self.frames_per_s,
            "frames_per_j": self.frames_per_j,
            "area_mm2": self.area_mm2,
        }
        if self.baseline is not None:
            d["dense_baseline"] = self.baseline.to_dict()
        if self.layers:
            d["layers"] = [r.to_dict() for r in self.layers]
        return d


def _layer_report(sim: SimResult, table: EnergyTable) -> EnergyReport:
    cfg = sim.config
    e = table.at(cfg)
    c = sim.counters
    by_action = {k: e[k] * sum(c[n] for n in ACTION[k].counters) for k in e}
    per_cycle = table.static_pj_per_cycle(cfg)
    static = {}
    for a in STATIC_ACTIONS:
        units = lnzd_nodes(cfg.n_pe) if a.charged_per == "lnzd_node" else cfg.n_pe
        static[a.key] = per_cycle[a.key] * units * sim.cycles
    by_module: dict = {}
    for k, v in list(by_action.items()) + list(static.items()):
        module = ACTION[k].module
        by_module[module] = by_module.get(module, 0.0) + v
    by_level = {level: 0.0 for level in LEVELS}
    by_level["static"] = sum(static.values())
    for k, v in by_action.items():
        by_level[ACTION[k].level] += v
    extra = {}
    if all(n in c for a in ELEMENTWISE_ACTIONS for n in a.counters):  # an LSTM step: the element-wise unit
        extra.update(elementwise_pj(cfg, e))
    if all(n in c for a in CONV_ACTIONS for n in a.counters):  # a conv layer: feature maps and pooling
        extra.update(conv_pj(cfg, e, table))
    for k, pj in extra.items():
        a = ACTION[k]
        by_action[k] = pj * sum(c[n] for n in a.counters)
        by_module[a.module] = by_module.get(a.module, 0.0) + by_action[k]
        by_level[a.level] += by_action[k]
    total = sum(by_action.values()) + sum(static.values())
    by_action = {**by_action, **{k.replace("_mw", ""): v for k, v in static.items()}}
    M, K = sim.shape
    reuse = c.get("positions", 1)  # SpMVs of the matrix per inference: a conv layer's output positions
    processed = c["macs_real"] + c["macs_padding"]
    per_entry_shared = TABLE1["sram32_read_pj"] * (cfg.weight_bits + cfg.index_bits) / 32 + e["codebook_read"] + e["mac"]
    fmac = TABLE1["float32_mult_pj"] + TABLE1["float32_add_pj"]
    base = DenseBaseline(
        dense_dram_pj=reuse * M * K * (TABLE1["dram32_read_pj"] + fmac),
        dense_sram_pj=reuse * M * K * (TABLE1["sram32_read_pj"] + fmac),
        pruned_pj=reuse * sim.entries * (TABLE1["sram32_read_pj"] * (32 + cfg.index_bits) / 32 + fmac),
        shared_pj=reuse * sim.entries * per_entry_shared,
        skipped_pj=processed * per_entry_shared,
        eie_pj=total,
    )
    return EnergyReport(
        name=sim.name, table=table.name, energy_pj=total, by_action=by_action, by_module=by_module, by_level=by_level,
        latency_us=sim.latency_us, macs_real=c["macs_real"], dense_ops=2 * reuse * M * K,
        area_mm2=area_report(cfg, table.node_nm, table.sram_cell).area_mm2, baseline=base,
    )


def energy_report(sim: SimResult, table="eie45") -> EnergyReport:
    """Energy per inference of a simulated layer or model; ``table`` is a preset name
    (``eie45``, ``horowitz45``), a TOML path or an :class:`EnergyTable`."""
    if not isinstance(sim, SimResult):
        raise ConfigError(f"sim={describe(sim)}: expected a SimResult from eie_sim.simulate")
    if sim.cycles < 1 or any(r.cycles < 1 for r in sim.layers):
        raise ConfigError(f"sim {sim.name!r} has {sim.cycles} cycles: expected a run of at least one cycle")
    table = get_table(table)
    if not sim.layers:
        return _layer_report(sim, table)
    reports = tuple(_layer_report(r, table) for r in sim.layers)

    def add(dicts):
        out: dict = {}
        for d in dicts:
            for k, v in d.items():
                out[k] = out.get(k, 0.0) + v
        return out

    return EnergyReport(
        name=sim.name, table=table.name, energy_pj=sum(r.energy_pj for r in reports),
        by_action=add(r.by_action for r in reports), by_module=add(r.by_module for r in reports),
        by_level=add(r.by_level for r in reports), latency_us=sum(r.latency_us for r in reports),
        macs_real=sum(r.macs_real for r in reports), dense_ops=sum(r.dense_ops for r in reports),
        area_mm2=reports[0].area_mm2, baseline=None, layers=reports,
    )
