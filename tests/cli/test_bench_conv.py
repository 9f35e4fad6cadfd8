"""``bench --suite conv``: its rows and the whole-network line agree with the layers simulated
and priced directly (simulate + energy_report on the same generated layers)."""

from __future__ import annotations

import json
import re

import pytest

from eie_sim.cli import main
from eie_sim.config import ArchConfig
from eie_sim.cost.presets import preset
from eie_sim.cost.report import energy_report
from eie_sim.cycle import conv_suite, suite
from eie_sim.cycle.simulator import simulate

ALEX = conv_suite.NETWORKS["alexnet"][0]


def test_rows_and_network_total_match_direct_runs(capsys):
    assert main(["bench", "--suite", "conv", "--scale", "0.1", "--pes", "8", "--layers", ",".join(ALEX)]) == 0
    out = capsys.readouterr().out
    cfg, table = ArchConfig(n_pe=8), preset("eie45")
    total_pj = 0.0
    for name in ALEX:
        b = conv_suite.get_conv(name, scale=0.1)
        res = simulate(b.layer, b.activations, cfg)
        total_pj += energy_report(res, table).energy_pj
        row = next(l for l in out.splitlines() if l.startswith(name + " "))
        assert f" {res.cycles:,} " in row
    for name in conv_suite.NETWORKS["alexnet"][1]:
        b = suite.get(name, scale=0.1)
        total_pj += energy_report(simulate((b.codes, b.codebook), b.activations, cfg), table).energy_pj
    line = next(l for l in out.splitlines() if l.startswith("alexnet per inference"))
    assert float(re.search(r"energy ([\d,.]+) uJ", line).group(1).replace(",", "")) == pytest.approx(total_pj / 1e6, abs=0.006)


def test_json_rows_name_their_density_source_and_bad_layers_are_refused(capsys):
    assert main(["bench", "--suite", "conv", "--scale", "0.1", "--pes", "4", "--layers", "vgg-conv5_3", "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert docs[0]["layer"] == "vgg-conv5_3" and "NIPS 2015" in docs[0]["act_density_source"]
    assert main(["bench", "--suite", "conv", "--layers", "alex6"]) != 0
    assert "is not a conv suite layer" in capsys.readouterr().err
