"""eie_sim.cost.actions: the actions as data, and every energy recomputed by hand from its table
figure and its scaling rule."""

import ast
import csv
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from eie_sim import ArchConfig, EIEError, energy_report, preset, scale_table, simulate
from eie_sim.contract.codebook import kmeans_codebook, quantize
from eie_sim.contract.model import Model, ModelLayer
from eie_sim.cost import energy
from eie_sim.cost.energy import Cost
from eie_sim.cost.actions import (
    ACTION,
    ACTION_KEYS,
    ACTIONS,
    ELEMENTWISE_ACTIONS,
    STATIC_KEYS,
    WIDTH_RULES,
    Action,
    ActionError,
)
from eie_sim.cost.elementwise import ELEM_ACTIONS, elementwise_pj
from eie_sim.cost.sram import TABLE_PATH
from eie_sim.cycle.simulator import COUNTERS

COST = Path(energy.__file__).parent


def cacti(cell, cap, width, col="read_pj"):
    """A row of the committed CACTI table, read without the package's interpolation."""
    for r in csv.DictReader(line for line in open(TABLE_PATH) if not line.startswith("#")):
        if (r["cell_type"], int(r["capacity_bytes"]), int(r["width_bits"])) == (cell, cap, width):
            return float(r[col])
    raise KeyError((cell, cap, width))


def lstm_run(n_pe=2, H=6, X=4):
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.2, (4 * H, X + H + 1)) * (rng.random((4 * H, X + H + 1)) < 0.5)
    cb = kmeans_codebook(w, 4)
    lay = ModelLayer(name="lstm", codebook=cb, codes=quantize(w, cb), kind="lstm", params={"hidden": H, "state_frac": 11},
                     in_frac=14, out_frac=10)
    return simulate(Model(layers=(lay,)), rng.random((2, X)), ArchConfig(n_pe=n_pe))


def horowitz_small(cap_bytes, width_bits):
    """Horowitz's SRAM law below 32 KB: 10 pJ at 8 KB x 64 bits, x sqrt(capacity) (20 pJ at 32 KB)."""
    return 10.0 * math.sqrt(cap_bytes / 8192) * width_bits / 64


def test_keys_and_the_old_tables_are_unchanged():
    assert ACTION_KEYS == ("ptr_sram_read", "spmat_sram_read", "codebook_read", "mac", "act_reg_read", "act_reg_write",
                           "act_sram_read", "act_sram_write", "queue_push", "queue_pop", "lnzd_op", "broadcast",
                           "dram_byte")
    assert STATIC_KEYS == ("actqueue_static_mw", "ptrread_static_mw", "spmatread_static_mw", "arithm_static_mw",
                           "actrw_static_mw", "lnzd_static_mw", "spmat_leak_mw", "ptr_leak_mw", "act_leak_mw")
    old_module = {"queue_push": "ActQueue", "queue_pop": "ActQueue", "actqueue_static_mw": "ActQueue",
                  "ptr_sram_read": "PtrRead", "ptrread_static_mw": "PtrRead", "spmat_sram_read": "SpmatRead",
                  "spmatread_static_mw": "SpmatRead", "codebook_read": "ArithmUnit", "mac": "ArithmUnit",
                  "arithm_static_mw": "ArithmUnit", "act_reg_read": "ActRW", "act_reg_write": "ActRW",
                  "act_sram_read": "ActRW", "act_sram_write": "ActRW", "actrw_static_mw": "ActRW", "lnzd_op": "LNZD",
                  "lnzd_static_mw": "LNZD", "broadcast": "Broadcast", "dram_byte": "DRAM", "spmat_leak_mw": "SpmatRead",
                  "ptr_leak_mw": "PtrRead", "act_leak_mw": "ActRW"}
    old_level = {"queue_push": "registers", "queue_pop": "registers", "codebook_read": "registers",
                 "act_reg_read": "registers", "act_reg_write": "registers", "ptr_sram_read": "sram",
                 "spmat_sram_read": "sram", "act_sram_read": "sram", "act_sram_write": "sram", "dram_byte": "dram",
                 "mac": "logic", "lnzd_op": "logic", "broadcast": "logic"}
    old_elem = {"elem_mult": ("elem_mults", "ElemUnit", "logic"), "elem_add": ("elem_adds", "ElemUnit", "logic"),
                "lut_read": ("lut_reads", "ElemUnit", "registers"),
                "cell_reg_read": ("cell_reg_reads", "ElemUnit", "registers"),
                "cell_reg_write": ("cell_reg_writes", "ElemUnit", "registers")}
    assert ELEM_ACTIONS == old_elem
    # the views hold the old entries, and the element-wise actions like the others
    conv = {"pool_op": ("ActRW", "logic"), "fmap_read": ("ActRW", "sram"), "fmap_write": ("ActRW", "sram")}
    assert energy.MODULE_OF == {**old_module, **{k: v[1] for k, v in old_elem.items()},
                                **{k: v[0] for k, v in conv.items()}}
    assert energy.LEVEL_OF == {**old_level, **{k: v[2] for k, v in old_elem.items()}, **{k: v[1] for k, v in conv.items()}}
    assert energy.COUNTER_OF["mac"] == ("macs_real", "macs_padding")
    assert energy.COUNTER_OF["lut_read"] == ("lut_reads",) and "spmat_leak_mw" not in energy.COUNTER_OF


def test_every_counter_exists_in_the_cycle_model():
    table_counters = {n for a in ACTIONS if a.in_table for n in a.counters}
    assert table_counters <= set(COUNTERS)
    c = lstm_run().layers[0].counters
    assert {n for a in ELEMENTWISE_ACTIONS for n in a.counters} <= set(c)


def test_every_action_is_documented_and_every_rule_used():
    assert {a.width_rule for a in ACTIONS} == set(WIDTH_RULES)
    assert all(a.doc for a in ACTIONS)
    assert all(a.source and not a.in_table for a in ELEMENTWISE_ACTIONS)


def test_table_energies_by_hand():
    t = preset("eie45")
    fig = {k: c.value for k, c in t.energy_pj.items()}
    # the reference configuration leaves every figure as it is
    assert t.at(ArchConfig()) == pytest.approx(fig, rel=1e-15)
    cfg = ArchConfig(sram_width=128, weight_bits=3, act_bits=8, acc_bits=24, fifo_depth=4, act_sram_kb=0)
    e = t.at(cfg)
    # spmat: CACTI lstp 128 KB, 128-bit against 64-bit words (grid points of the committed table)
    assert e["spmat_sram_read"] == pytest.approx(fig["spmat_sram_read"] * 50.2566 / 32.2859, rel=1e-12)
    assert cacti("itrs-lstp", 131072, 128) == 50.2566 and cacti("itrs-lstp", 131072, 64) == 32.2859
    # codebook: 8 x 8-bit values (8 bytes) against 16 x 16-bit (32 bytes), Horowitz's law
    assert e["codebook_read"] == pytest.approx(fig["codebook_read"] * horowitz_small(8, 8) / horowitz_small(32, 16))
    assert e["codebook_read"] == pytest.approx(fig["codebook_read"] * 0.25)  # sqrt(8/32) x 8/16
    # registers: 64 x 8 bits against 64 x 16 bits
    assert e["act_reg_write"] == pytest.approx(fig["act_reg_write"] * math.sqrt(0.5) * 0.5)
    # queue: 4 entries of 8 + 32 bits against 8 of 16 + 32
    assert e["queue_pop"] == pytest.approx(fig["queue_pop"] * math.sqrt(20 / 48) * 40 / 48)
    assert e["mac"] == pytest.approx(fig["mac"] * (3.1 / 16 + 0.1 * 24 / 32) / 0.925)
    assert (e["lnzd_op"], e["broadcast"]) == pytest.approx((fig["lnzd_op"] / 2, fig["broadcast"] / 2))
    assert e["dram_byte"] == fig["dram_byte"] == 160.0
    # no activation SRAM here: its accesses are never counted, the figure stays
    assert (e["act_sram_read"], e["act_sram_write"]) == (fig["act_sram_read"], fig["act_sram_write"])
    # the pointer SRAM is unchanged (32 KB, 17-bit reads)
    assert e["ptr_sram_read"] == pytest.approx(fig["ptr_sram_read"], rel=1e-15)


def test_activation_sram_write_follows_cactis_write_figure():
    t = preset("horowitz45")
    e = t.at(ArchConfig(act_sram_kb=4))
    # horowitz45 states the activation SRAM at CACTI's figures: 2 KB of 16-bit values, reads and writes apart
    assert t.energy_pj["act_sram_write"].value == pytest.approx(cacti("itrs-lstp", 2048, 16, "write_pj"))
    assert e["act_sram_write"] == pytest.approx(cacti("itrs-lstp", 4096, 16, "write_pj"))
    assert e["act_sram_read"] == pytest.approx(cacti("itrs-lstp", 4096, 16, "read_pj"))


def distinct_register_writes():
    """eie45 with act_reg_write at 3x its figure, so a read and a write differ."""
    t = preset("eie45")
    w = t.energy_pj["act_reg_write"]
    return dataclasses.replace(t, name="x", energy_pj={**t.energy_pj, "act_reg_write": Cost(3 * w.value, w.source)})


def test_elementwise_energies_by_hand():
    cfg = ArchConfig(act_bits=8, acc_bits=24)
    at = distinct_register_writes().at(cfg)
    assert at["act_reg_write"] == pytest.approx(3 * at["act_reg_read"])
    got = elementwise_pj(cfg, at)
    assert list(got) == ["elem_mult", "elem_add", "lut_read", "cell_reg_read", "cell_reg_write"]
    assert got["elem_mult"] == pytest.approx(3.1 / 16)
    assert got["elem_add"] == 0.1
    assert got["lut_read"] == pytest.approx(horowitz_small(2050, 16))  # 1,025 x 8-bit entries, 16-bit reads
    assert (got["cell_reg_read"], got["cell_reg_write"]) == (at["act_reg_read"], at["act_reg_write"])
    # the cell registers follow a scaled table through act_reg_*; the rest does not scale
    s = scale_table(preset("eie45"), 28, 0.9)
    scaled = elementwise_pj(cfg, s.at(cfg))
    assert scaled["cell_reg_read"] == pytest.approx(got["cell_reg_read"] * 28 / 45 * 0.81)
    assert (scaled["elem_mult"], scaled["lut_read"]) == (got["elem_mult"], got["lut_read"])


def test_scale_table_follows_each_actions_flag():
    t = preset("horowitz45")
    s = scale_table(t, 90, 1.1)
    k = 2 * 1.21
    for a in ACTIONS:
        if not a.in_table:
            continue
        group = s.energy_pj if a.unit == "pJ" else s.static_mw
        want = t.energy_pj if a.unit == "pJ" else t.static_mw
        assert group[a.key].value == pytest.approx(want[a.key].value * (k if a.node_vdd_scaled else 1)), a.key
    assert not ACTION["dram_byte"].node_vdd_scaled and s.energy_pj["dram_byte"] == t.energy_pj["dram_byte"]


def test_report_charges_each_action_on_its_counters():
    cfg = ArchConfig(n_pe=2)
    step = lstm_run().layers[1]
    t = distinct_register_writes()
    rep = energy_report(step, t)
    e = t.at(cfg)
    c = step.counters
    assert rep.by_action["mac"] == pytest.approx(e["mac"] * (c["macs_real"] + c["macs_padding"]))
    assert rep.by_action["lut_read"] == pytest.approx(horowitz_small(2050 * 2, 32) * c["lut_reads"])
    assert rep.by_action["cell_reg_write"] == pytest.approx(e["act_reg_write"] * c["cell_reg_writes"])
    elem = 3.1 / 4 * c["elem_mults"] + 0.1 * c["elem_adds"] + horowitz_small(4100, 32) * c["lut_reads"] \
        + e["act_reg_read"] * c["cell_reg_reads"] + e["act_reg_write"] * c["cell_reg_writes"]
    assert rep.by_module["ElemUnit"] == pytest.approx(elem)
    assert rep.by_level["registers"] == pytest.approx(sum(rep.by_action[a.key] for a in ACTIONS if a.level == "registers"))
    assert rep.energy_pj == pytest.approx(sum(rep.by_level.values()))


@pytest.mark.parametrize("kwargs, match", [
    (dict(level="cache"), "action 'x': level='cache'; expected one of registers, sram, dram, logic, static"),
    (dict(counters=()), "action 'x': unit='pJ'; expected mW exactly for static keys"),
    (dict(width_rule="cacti_read", memory="codebook"), "action 'x': memory='codebook'; expected one of"),
    (dict(width_rule="copy"), "action 'x': copy_of=''; expected a table action exactly when width_rule is 'copy'"),
    (dict(in_table=False), "action 'x': width_rule='mac'; expected one of horowitz_mult"),
    (dict(width_rule="warp"), "action 'x': width_rule='warp'; expected one of cacti_read"),
])
def test_bad_actions_refused_naming_the_field(kwargs, match):
    args = {**dict(key="x", counters=("macs_real",), module="ArithmUnit", level="logic", width_rule="mac"), **kwargs}
    with pytest.raises(ActionError, match=match):
        Action(**args)
    assert issubclass(ActionError, EIEError)


def test_no_import_cycle_between_cost_modules():
    """Every import of a cost module by a cost module, function-local ones included."""
    mods = {p.stem: p for p in COST.glob("*.py")}
    graph = {}
    for name, path in mods.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1 and node.module:
                    deps.add(node.module.split(".")[0])
                elif node.level == 1:
                    deps.update(a.name for a in node.names)
                elif node.level == 0 and (node.module or "").startswith("eie_sim.cost."):
                    deps.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                deps.update(a.name.split(".")[2] for a in node.names if a.name.startswith("eie_sim.cost."))
        graph[name] = deps & set(mods)
    assert graph["presets"] >= {"energy"} and "presets" not in graph["energy"]
    state = {}

    def visit(n, path):
        if state.get(n) == "open":
            raise AssertionError(" -> ".join(path + [n]))
        if state.get(n) != "done":
            state[n] = "open"
            for d in sorted(graph[n]):
                visit(d, path + [n])
            state[n] = "done"

    for n in sorted(graph):
        visit(n, [])
    assert not hasattr(energy, "__getattr__")
