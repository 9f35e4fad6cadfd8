"""Energy of a conv layer: the conv actions (pool_op at Horowitz's adds, feature-map accesses at
the table's activation SRAM figures) by hand, node scaling, existing tables still load, and the
dense baseline per output position."""

from __future__ import annotations

import numpy as np
import pytest

from eie_sim import ArchConfig, energy_report, load_table, preset, scale_table
from eie_sim.contract.conv import geometry
from eie_sim.contract.layer import Model, ModelLayer
from eie_sim.cost.actions import ACTION, ACTION_KEYS, CONV_ACTIONS
from eie_sim.cost.conv import conv_pj
from eie_sim.cycle.simulator import simulate


def conv_model():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 16, (6, 2 * 9))
    codes[rng.random(codes.shape) > 0.5] = 0
    cb = np.concatenate([[0.0], rng.normal(0, 0.5, 15)])
    conv = ModelLayer(name="conv", codebook=cb, codes=codes.astype(np.uint8), bias=rng.normal(0, 0.1, 6),
                      activation="relu", kind="conv",
                      params=dict(in_hw=(8, 8), kernel=(3, 3), padding=1, pool="max", pool_kernel=2, pool_stride=2))
    fc = ModelLayer(name="fc", codebook=cb, codes=rng.integers(0, 16, (4, 96)).astype(np.uint8))
    x = np.abs(rng.normal(0, 1, 128)) * (rng.random(128) < 0.7)
    return Model(layers=(conv, fc)), x


def test_conv_actions_are_outside_the_tables_so_every_table_still_loads(tmp_path):
    assert {a.key for a in CONV_ACTIONS} == {"pool_op", "fmap_read", "fmap_write"}
    assert not set(ACTION_KEYS) & {a.key for a in CONV_ACTIONS}
    for name in ("eie45", "horowitz45"):
        p = tmp_path / f"{name}.toml"
        p.write_text(preset(name).to_toml())
        assert set(load_table(p).energy_pj) == set(ACTION_KEYS)
    assert all(a.source for a in CONV_ACTIONS)


def test_conv_figures_by_hand():
    t = preset("eie45")
    cfg = ArchConfig(act_bits=16)
    at = t.at(cfg)
    got = conv_pj(cfg, at, t)
    # Horowitz 45 nm: 8-bit add 0.03 pJ, 32-bit add 0.1 pJ; linear in the width -> 16 bits
    assert got["pool_op"] == pytest.approx(0.03 + 8 * (0.1 - 0.03) / 24)
    assert got["pool_op"] == pytest.approx(0.05333333, rel=1e-6)
    assert (got["fmap_read"], got["fmap_write"]) == (at["act_sram_read"], at["act_sram_write"])
    assert conv_pj(ArchConfig(act_bits=8), t.at(ArchConfig(act_bits=8)), t)["pool_op"] == pytest.approx(0.03)
    # a table at 28 nm / 0.9 V scales the add by (28 / 45) x 0.81, the SRAM copies through the table
    s = scale_table(t, 28, 0.9)
    scaled = conv_pj(cfg, s.at(cfg), s)
    assert scaled["pool_op"] == pytest.approx(got["pool_op"] * 28 / 45 * 0.81)
    assert scaled["fmap_read"] == pytest.approx(got["fmap_read"] * 28 / 45 * 0.81)


def test_report_charges_conv_counters_and_the_baseline_counts_positions():
    model, x = conv_model()
    config = ArchConfig(n_pe=4)
    sim = simulate(model, x, config)
    t = preset("eie45")
    rep = energy_report(sim, t)
    conv_sim, conv_rep, fc_rep = sim.layers[0], rep.layers[0], rep.layers[1]
    c = conv_sim.counters
    pj = conv_pj(config, t.at(config), t)
    assert conv_rep.by_action["pool_op"] == pytest.approx(pj["pool_op"] * c["pool_ops"])
    assert conv_rep.by_action["fmap_read"] == pytest.approx(pj["fmap_read"] * c["fmap_reads"])
    assert conv_rep.by_action["fmap_write"] == pytest.approx(pj["fmap_write"] * c["fmap_writes"])
    assert "pool_op" not in fc_rep.by_action
    act_rw = sum(v for k, v in conv_rep.by_action.items() if ACTION.get(k, ACTION.get(k + "_mw")).module == "ActRW")
    assert conv_rep.by_module["ActRW"] == pytest.approx(act_rw)
    assert conv_rep.energy_pj == pytest.approx(sum(conv_rep.by_level.values()))
    g = geometry(model.layers[0])
    dense_macs = g.positions * g.c_out * g.patch  # 64 positions x 6 x 18
    assert conv_rep.dense_ops == 2 * dense_macs
    assert conv_rep.baseline.dense_dram_pj == pytest.approx(dense_macs * (640.0 + 3.7 + 0.9))
    assert conv_rep.baseline.dense_sram_pj == pytest.approx(dense_macs * (5.0 + 3.7 + 0.9))
    assert conv_rep.baseline.pruned_pj == pytest.approx(g.positions * conv_sim.entries * (5.0 * 36 / 32 + 4.6))
    assert fc_rep.dense_ops == 2 * 4 * 96  # the fc layer's baseline is unchanged
    assert rep.energy_pj == pytest.approx(conv_rep.energy_pj + fc_rep.energy_pj)
