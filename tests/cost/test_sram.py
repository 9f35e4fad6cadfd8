"""The CACTI SRAM table and its interpolator (eie_sim.cost.sram)."""

import csv
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eie_sim import ArchConfig, ConfigError, suite, preset, simulate
from eie_sim.cost.cacti.generate import parse_report
from eie_sim.cost.sram import CELL_TYPES, TABLE_PATH, grid, sram_figures


def _rows():
    with open(TABLE_PATH, newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def test_table_round_trips_exactly_at_every_grid_point():
    rows = _rows()
    assert len(rows) >= 3 * 60
    for r in rows:
        f = sram_figures(int(r["capacity_bytes"]), int(r["width_bits"]), r["cell_type"])
        assert f.read_pj == float(r["read_pj"]) and f.write_pj == float(r["write_pj"])
        assert f.leakage_mw == float(r["leakage_mw"]) + float(r["gate_leakage_mw"])
        assert f.area_mm2 == float(r["area_mm2"])


def test_grid_covers_what_the_project_sweeps():
    caps, widths, _ = grid()
    assert caps[0] <= 1024 and caps[-1] >= 1 << 20
    assert widths[0] <= 16 and widths[-1] >= 512


@pytest.mark.parametrize("kb", [32, 128, 512])
def test_spmat_width_sweep_is_monotone_and_sublinear(kb):
    widths = [32, 64, 128, 256, 512]
    e = [preset("eie45").at(ArchConfig(sram_width=w, spmat_sram_kb=kb))["spmat_sram_read"] for w in widths]
    assert all(a < b for a, b in zip(e, e[1:]))
    # sublinear: doubling the word costs less than twice the energy per read, and 16x the
    # width costs far less than 16x (the old linear model's ratio)
    assert all(b < 2 * a for a, b in zip(e, e[1:]))
    assert e[-1] / e[0] < 8


@given(cap=st.floats(1024, 1 << 20), width=st.floats(16, 512), cell=st.sampled_from(CELL_TYPES))
def test_interpolation_stays_between_the_cell_corners(cap, width, cell):
    caps, widths, figs = grid(cell)
    i = min(int(np.searchsorted(caps, cap, side="right")) - 1, caps.size - 2)
    j = min(int(np.searchsorted(widths, width, side="right")) - 1, widths.size - 2)
    corners = figs["read_pj"][i : i + 2, j : j + 2]
    if np.isnan(corners).any():
        with pytest.raises(ConfigError, match="no organisation"):
            sram_figures(cap, width, cell)
        return
    e = sram_figures(cap, width, cell).read_pj
    assert corners.min() * (1 - 1e-9) <= e <= corners.max() * (1 + 1e-9)


def test_log_log_midpoint_is_the_geometric_mean_along_one_axis():
    _, _, figs = grid()
    caps, widths, _ = grid()
    i, j = list(caps).index(131072), list(widths).index(64)
    e = sram_figures(131072, math.sqrt(64 * 128)).read_pj
    assert e == pytest.approx(math.sqrt(figs["read_pj"][i, j] * figs["read_pj"][i, j + 1]))


@pytest.mark.parametrize("cap, width, match", [
    (256, 64, "capacity=256"),
    (8 << 20, 64, "capacity="),
    (131072, 4, "width=4"),
    (131072, 4096, "width=4096"),
    (1024, 512, "no organisation"),
    (float("nan"), 64, "capacity=nan"),
])
def test_points_far_outside_the_table_are_refused(cap, width, match):
    with pytest.raises(ConfigError, match=match):
        sram_figures(cap, width)


def test_unknown_cell_type_is_refused():
    with pytest.raises(ConfigError, match="cell_type='itrs-xyz'"):
        sram_figures(131072, 64, "itrs-xyz")


def test_low_standby_power_cells_are_the_only_ones_table_ii_can_hold():
    # EIE Table II: SpmatRead draws 4.955 mW per PE in all; the 128 KB spmat SRAM's leakage
    # must fit inside it (lstp), which lop and hp cells do not.
    leak = {c: sram_figures(131072, 64, c).leakage_mw for c in CELL_TYPES}
    assert leak["itrs-lstp"] < 0.1 * 4.955
    assert leak["itrs-lop"] > 4.955 and leak["itrs-hp"] > 4.955


def test_wider_words_read_less_often_and_cost_less_in_all():
    # paper Fig. 9: fewer reads with wider words; with CACTI's sublinear energy per read, the
    # total spmat read energy falls from 32 to 128 bits on a real layer
    b = suite.get("alex7", scale=0.25)
    total = []
    for w in (32, 64, 128):
        cfg = ArchConfig(n_pe=16, sram_width=w)
        sim = simulate((b.codes, b.codebook), b.activations, cfg)
        total.append(sim.counters["spmat_sram_reads"] * preset("eie45").at(cfg)["spmat_sram_read"])
    assert total[0] > total[1] > total[2]


def test_parse_report_reads_the_figures_of_a_cacti_report():
    text = """
    Access time (ns): 2.1132
    Cycle time (ns):  1.65095
    Total dynamic read energy per access (nJ): 0.0322859
    Total dynamic write energy per access (nJ): 0.026065
    Total leakage power of a bank (mW): 0.030018
    Total gate leakage power of a bank (mW): 0.00100838
    Cache height x width (mm): 0.5 x 0.8
    """
    got = parse_report(text)
    assert got["read_pj"] == pytest.approx(32.2859) and got["write_pj"] == pytest.approx(26.065)
    assert got["area_mm2"] == pytest.approx(0.4) and got["leakage_mw"] == pytest.approx(0.030018)
    assert parse_report("CACTI: no valid organisation") is None
