import csv
import json

import numpy as np
import pytest

from eie_sim import ArchConfig, EIEError, area_report, suite, encode, energy_report, load_table, preset, scale_table, simulate
from eie_sim.cli import main
from eie_sim.cycle.kernels import lnzd_nodes
from eie_sim.cost.sram import TABLE_PATH, sram_figures
from eie_sim.cost.energy import ACTION_KEYS, STATIC_KEYS, TABLE2, mac_pj, sram_read_pj


def test_sram_model_goes_through_horowitz_points():
    assert sram_read_pj(8 * 1024, 64) == pytest.approx(10.0)
    assert sram_read_pj(32 * 1024, 64) == pytest.approx(20.0)
    assert sram_read_pj(1024 * 1024, 64) == pytest.approx(100.0)
    assert sram_read_pj(8 * 1024, 32) == pytest.approx(5.0)  # EIE Table I: 32-bit SRAM read 5 pJ
    # monotone in capacity and proportional to width
    caps = [512, 2048, 8192, 65536, 131072, 4 << 20]
    e = [sram_read_pj(c, 64) for c in caps]
    assert all(a < b for a, b in zip(e, e[1:]))
    assert sram_read_pj(131072, 128) == pytest.approx(2 * sram_read_pj(131072, 64))


def test_mac_scaling_reproduces_horowitz_8bit_figures():
    assert mac_pj(16, 48) == pytest.approx(0.775 + 0.15)
    assert 3.1 * (8 / 32) ** 2 == pytest.approx(0.2, abs=0.02)  # 8-bit multiply 0.2 pJ
    assert 0.1 * 8 / 32 == pytest.approx(0.03, abs=0.01)  # 8-bit add 0.03 pJ


def test_every_figure_has_a_source():
    for name in ("eie45", "horowitz45"):
        t = preset(name)
        assert set(t.energy_pj) == set(ACTION_KEYS) and set(t.static_mw) == set(STATIC_KEYS)
        assert all(len(s) > 10 for s in t.sources().values())


def full_load_layer(n_pe=64, cols=2048):
    """Every PE gets exactly 8 entries (one 64-bit word) in every column; every activation non-zero."""
    codes = np.ones((8 * n_pe, cols), dtype=np.uint8)
    cb = np.r_[0.0, np.linspace(-1, 1, 15)]
    return encode(codes, cb, n_pe=n_pe), np.full(cols, 0.5)


def test_eie45_ideal_reproduces_table_ii_at_full_load():
    enc, a = full_load_layer()
    cfg = ArchConfig()
    sim = simulate(enc, a, cfg)
    assert sim.load_efficiency > 0.995
    rep = energy_report(sim, "eie45-ideal")
    for module, mw in TABLE2["module_mw"].items():
        per_pe_mw = rep.by_module[module] / sim.latency_us / 1e3 / cfg.n_pe
        assert per_pe_mw == pytest.approx(mw, rel=0.01), module
    lnzd_mw = rep.by_module["LNZD"] / sim.latency_us / 1e3 / lnzd_nodes(64)
    assert lnzd_mw == pytest.approx(TABLE2["lnzd_node_mw"], rel=0.01)
    pe_total = sum(rep.by_module[m] for m in TABLE2["module_mw"]) / sim.latency_us / 1e3 / 64
    assert pe_total == pytest.approx(9.157, rel=0.01)


def test_hand_computed_energy_of_a_tiny_layer():
    # The hand-worked single-PE layer of test_simulator: 13 cycles, 3 broadcasts, 4 real MACs.
    codes = np.array([[1, 0, 0], [0, 0, 2], [3, 0, 0], [4, 0, 0]])
    enc = encode(codes, np.arange(8) * 0.5, n_pe=1, index_bits=4)
    cfg = ArchConfig(n_pe=1, fifo_depth=1, weight_bits=3)
    sim = simulate(enc, np.array([1.0, 1.0, 1.0]), cfg)
    c = sim.counters
    # counters by hand: 3 broadcasts into 1 queue; 2 pointer reads each; entries 0..2 and 3
    # share one 64-bit word (8 per word, 4 entries) -> 1 spmat read; 4 MACs, no padding;
    # register reads = 3 broadcasts + 4 MACs; writes = 4 MACs + 4 accumulator inits.
    assert (c["broadcasts"], c["queue_pushes"], c["ptr_sram_reads"], c["spmat_sram_reads"]) == (3, 3, 6, 1)
    assert (c["macs_real"], c["macs_padding"], c["act_reg_reads"], c["act_reg_writes"]) == (4, 0, 7, 8)
    assert c["lnzd_ops"] == 3 and sim.cycles == 13
    t = preset("eie45")
    e = t.at(cfg)
    expected = (3 * e["queue_push"] + 3 * e["queue_pop"] + 6 * e["ptr_sram_read"] + 1 * e["spmat_sram_read"]
                + 4 * e["codebook_read"] + 4 * e["mac"] + 7 * e["act_reg_read"] + 8 * e["act_reg_write"]
                + 3 * e["lnzd_op"] + 3 * e["broadcast"])
    static_mw = sum(v.value for k, v in t.static_mw.items() if k != "lnzd_static_mw") + t.static_mw["lnzd_static_mw"].value
    expected += static_mw * 13 / 800.0 * 1e3  # mW x cycles / MHz = nJ -> x 1e3 pJ
    rep = energy_report(sim, t)
    assert rep.energy_pj == pytest.approx(expected)
    assert rep.power_mw == pytest.approx(expected / (13 / 800.0) / 1e3)
    assert rep.frames_per_j == pytest.approx(1e12 / expected)
    # weight_bits=3 at a 3-bit codebook: smaller codebook than the reference, cheaper read
    assert e["codebook_read"] < t.energy_pj["codebook_read"].value


def test_sram_width_trades_reads_against_energy_per_read():
    b = suite.get("alex7", scale=0.25)
    reads, per_read = [], []
    for w in (32, 64, 128, 256):
        cfg = ArchConfig(n_pe=16, sram_width=w)
        sim = simulate((b.codes, b.codebook), b.activations, cfg)
        reads.append(sim.counters["spmat_sram_reads"])
        per_read.append(preset("eie45").at(cfg)["spmat_sram_read"])
    assert all(x > y for x, y in zip(reads, reads[1:]))
    assert all(x < y for x, y in zip(per_read, per_read[1:]))


def test_sram_capacity_changes_energy():
    b = suite.get("alex8", scale=0.2)
    e = []
    for kb in (32, 128, 512):
        sim = simulate((b.codes, b.codebook), b.activations, ArchConfig(n_pe=8, spmat_sram_kb=kb))
        e.append(energy_report(sim).by_module["SpmatRead"])
    assert e[0] < e[1] < e[2]


def test_idle_pes_cost_static_energy():
    b = suite.get("alex8", scale=0.05)
    small = energy_report(simulate((b.codes, b.codebook), b.activations, ArchConfig(n_pe=4)))
    big = energy_report(simulate((b.codes, b.codebook), b.activations, ArchConfig(n_pe=256)))
    sim_small = simulate((b.codes, b.codebook), b.activations, ArchConfig(n_pe=4))
    sim = simulate((b.codes, b.codebook), b.activations, ArchConfig(n_pe=256))
    t = preset("eie45")
    per_pe_mw = sum(v.value for k, v in t.static_mw.items() if k != "lnzd_static_mw")
    want = (per_pe_mw * 256 + t.static_mw["lnzd_static_mw"].value * lnzd_nodes(256)) * sim.cycles / 800.0 * 1e3
    assert big.by_level["static"] == pytest.approx(want)
    # 64x the PEs: 64x the static power, busy or not
    assert big.by_level["static"] / sim.cycles > 60 * small.by_level["static"] / sim_small.cycles


def test_area_of_the_eie_chip():
    rep = area_report(ArchConfig())
    assert rep.pe_um2 == pytest.approx(638024.0)
    assert rep.lnzd_um2 == pytest.approx(21 * 189.0)
    assert rep.area_mm2 == pytest.approx((64 * 638024.0 + 21 * 189.0) / 1e6)
    # a bigger spmat SRAM: Table II's SpmatRead logic stays, CACTI's SRAM area changes (the CSV rows)
    rows = {(r["cell_type"], int(r["capacity_bytes"]), int(r["width_bits"])): float(r["area_mm2"]) * 1e6
            for r in csv.DictReader(line for line in open(TABLE_PATH) if not line.startswith("#"))}
    bigger = area_report(ArchConfig(spmat_sram_kb=256))
    want = 469412.0 - rows[("itrs-lstp", 131072, 64)] + rows[("itrs-lstp", 262144, 64)]
    assert bigger.pe_by_module["SpmatRead"] == pytest.approx(want)
    assert bigger.pe_by_module["PtrRead"] == pytest.approx(121849.0)
    assert area_report(ArchConfig(), node_nm=28).area_mm2 == pytest.approx(rep.area_mm2 * (28 / 45) ** 2)


def test_technology_scaling():
    t = preset("eie45")
    s = scale_table(t, 28, 0.9)
    k = 28 / 45 * 0.81
    assert s.energy_pj["mac"].value == pytest.approx(t.energy_pj["mac"].value * k)
    assert s.static_mw["spmatread_static_mw"].value == pytest.approx(t.static_mw["spmatread_static_mw"].value * k)
    assert s.energy_pj["dram_byte"].value == t.energy_pj["dram_byte"].value
    assert "scaled from eie45" in s.energy_pj["mac"].source
    with pytest.raises(EIEError, match="node_nm=0"):
        scale_table(t, 0)


def test_dense_baseline_decomposition_by_hand():
    codes = np.array([[1, 0, 0, 2], [0, 0, 0, 3]])
    enc = encode(codes, np.r_[0.0, np.ones(15)], n_pe=1)
    cfg = ArchConfig(n_pe=1)
    sim = simulate(enc, np.array([1.0, 0.0, 0.0, 0.0]), cfg)  # only column 0 is broadcast
    b = energy_report(sim).baseline
    e = preset("eie45").at(cfg)
    assert b.dense_dram_pj == pytest.approx(8 * (640 + 4.6))
    assert b.dense_sram_pj == pytest.approx(8 * (5 + 4.6))
    assert b.pruned_pj == pytest.approx(3 * (5 * 36 / 32 + 4.6))
    per = 5 * 8 / 32 + e["codebook_read"] + e["mac"]
    assert b.shared_pj == pytest.approx(3 * per)
    assert b.skipped_pj == pytest.approx(1 * per)
    assert b.savings["activation_skipping"] == pytest.approx(3.0)


def write_table(tmp_path, edit):
    text = preset("eie45").to_toml()
    text = edit(text)
    p = tmp_path / "t.toml"
    p.write_text(text)
    return p


def test_toml_round_trip(tmp_path):
    p = write_table(tmp_path, lambda s: s)
    t = load_table(p)
    ref = preset("eie45")
    for k in ACTION_KEYS:
        assert t.energy_pj[k].value == pytest.approx(ref.energy_pj[k].value)
        assert t.energy_pj[k].source == ref.energy_pj[k].source
    # a user table is used, not ignored: doubling the MAC doubles the MAC energy
    p2 = write_table(tmp_path, lambda s: s.replace(f"pj = {ref.energy_pj['mac'].value!r}", f"pj = {2 * ref.energy_pj['mac'].value!r}"))
    b = suite.get("alex8", scale=0.05)
    sim = simulate((b.codes, b.codebook), b.activations, ArchConfig(n_pe=4))
    assert energy_report(sim, load_table(p2)).by_action["mac"] == pytest.approx(2 * energy_report(sim).by_action["mac"])


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda s: s.replace("[energy_pj.mac]\npj", "[energy_pj.mac]\nxpj"), "\\['xpj'\\] in energy_pj.mac"),
        (lambda s: s + '\n[energy_pj.teleport]\npj = 1.0\nsource = "x"\n', "unknown key\\(s\\) in energy_pj: \\['teleport'\\]"),
        (lambda s: s.replace("[static_mw.lnzd_static_mw]", "[static_mw.lnzd_static_mw_typo]"), "lnzd_static_mw"),
        (lambda s: s.replace("[energy_pj.dram_byte]\npj = 160.0", "[energy_pj.dram_byte]\npj = -1.0"), "energy_pj.dram_byte=-1.0"),
        (lambda s: s.replace("[energy_pj.dram_byte]\npj = 160.0", "[energy_pj.dram_byte]\npj = nan"), "energy_pj.dram_byte=nan"),
        (lambda s: s.replace("[energy_pj.dram_byte]\npj = 160.0", "[energy_pj.dram_byte]\npj = inf"), "energy_pj.dram_byte=inf"),
        (lambda s: s.replace("[energy_pj.dram_byte]\npj = 160.0", '[energy_pj.dram_byte]\npj = "cheap"'), "energy_pj.dram_byte='cheap'"),
        (lambda s: "frobnicate = 1\n" + s, "unknown top-level key"),
        (lambda s: s.replace("sram_width = 64", "sram_width = 3"), "sram_width=3"),
        (lambda s: s.replace("[energy_pj.mac]", "[energy_pj.mac]\nunit = 'pJ'"), "unknown key\\(s\\) \\['unit'\\] in energy_pj.mac"),
        (lambda s: s + "[[[", "not valid TOML"),
    ],
)
def test_bad_tables_are_refused_naming_the_key(tmp_path, edit, match):
    p = write_table(tmp_path, edit)
    with pytest.raises(EIEError, match=match):
        load_table(p)


def test_missing_source_refused(tmp_path):
    text = preset("eie45").to_toml()
    start = text.index("[energy_pj.mac]")
    line = text.index("source", start)
    end = text.index("\n", line)
    p = tmp_path / "t.toml"
    p.write_text(text[:line] + text[end + 1 :])
    with pytest.raises(EIEError, match="energy_pj.mac has no 'source'"):
        load_table(p)


def test_cli_energy_columns(tmp_path, capsys):
    assert main(["bench", "--scale", "0.05", "--pes", "4", "--layers", "alex8,ntwe", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    for r in rows:
        assert r["energy_pj"]["total"] > 0 and set(r["energy_pj"]["by_module"]) >= {"SpmatRead", "PtrRead"}
        assert r["power_mw"] > 0 and r["area_mm2"] > 0 and r["frames_per_j"] > 0
        assert r["frames_per_j"] == pytest.approx(1e12 / r["energy_pj"]["total"])
    p = tmp_path / "mine.toml"
    p.write_text(preset("horowitz45").to_toml())
    assert main(["run", "alex8", "--scale", "0.05", "--pes", "4", "--energy-table", str(p), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["energy_table"] == "horowitz45"
    assert main(["run", "alex8", "--scale", "0.05", "--energy-table", "bogus"]) == 2
    assert "expected one of ['eie45', 'eie45-ideal', 'horowitz45']" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text(preset("eie45").to_toml().replace("[energy_pj.mac]\npj", "[energy_pj.mac]\nqj"))
    assert main(["bench", "--energy-table", str(bad)]) == 2
    assert "energy_pj.mac" in capsys.readouterr().err
    assert main(["energy-table", "eie45"]) == 0
    assert "EIE Table II" in capsys.readouterr().out


def test_model_report_sums_layers():
    from eie_sim import example_model

    model = example_model()
    x = np.maximum(np.random.default_rng(0).normal(size=784), 0)
    sim = simulate(model, x, ArchConfig(n_pe=8))
    rep = energy_report(sim, "horowitz45")
    assert len(rep.layers) == 3
    assert rep.energy_pj == pytest.approx(sum(r.energy_pj for r in rep.layers))
    assert rep.latency_us == pytest.approx(sim.latency_us)
    assert rep.by_level["static"] == pytest.approx(sum(r.by_level["static"] for r in rep.layers))


def test_sram_leakage_follows_cacti_and_is_power_not_energy_per_cycle():
    t = preset("eie45")
    ref = t.static_pj_per_cycle()
    big = t.static_pj_per_cycle(ArchConfig(spmat_sram_kb=512))
    leak128 = sram_figures(131072, 64).leakage_mw
    leak512 = sram_figures(524288, 64).leakage_mw
    assert big["spmat_leak_mw"] == pytest.approx(ref["spmat_leak_mw"] * leak512 / leak128)
    assert big["spmatread_static_mw"] == ref["spmatread_static_mw"]  # the clock network does not grow
    slow = t.static_pj_per_cycle(ArchConfig(clock_mhz=400))
    assert slow["spmat_leak_mw"] == pytest.approx(2 * ref["spmat_leak_mw"])  # leakage: mW over a longer cycle
    assert slow["spmatread_static_mw"] == ref["spmatread_static_mw"]  # clock: a fixed energy per cycle
    none = t.static_pj_per_cycle(ArchConfig(act_sram_kb=0))
    assert none["act_leak_mw"] == 0.0


def test_energy_report_refuses_what_is_not_a_run():
    import dataclasses

    with pytest.raises(EIEError, match="sim=None: expected a SimResult"):
        energy_report(None)
    b = suite.get("alex8", scale=0.05)
    sim = simulate((b.codes, b.codebook), b.activations, ArchConfig(n_pe=4))
    with pytest.raises(EIEError, match="0 cycles"):
        energy_report(dataclasses.replace(sim, cycles=0))
    with pytest.raises(EIEError, match="table=None"):
        scale_table(None, 28)
