"""``bench --csv`` and ``energy-table --json``: machine-readable forms of the text tables, checked
against independent paths (the simulation priced directly, the preset's own values and its TOML)."""

from __future__ import annotations

import csv
import io
import json
import tomllib

import pytest

from eie_sim.cli import main
from eie_sim.config import ArchConfig
from eie_sim.cost.presets import preset
from eie_sim.cost.report import energy_report
from eie_sim.cycle import conv_suite, suite
from eie_sim.cycle.simulator import simulate


def _csv(out: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(out)))


def test_bench_csv_rows_are_the_layers_simulated_directly(capsys):
    assert main(["bench", "--layers", "alex8,vgg7", "--scale", "0.1", "--pes", "16", "--csv"]) == 0
    rows = _csv(capsys.readouterr().out)
    assert [r["layer"] for r in rows] == ["alex8", "vgg7"]
    cfg, table = ArchConfig(n_pe=16), preset("eie45")
    for row in rows:
        b = suite.get(row["layer"], scale=0.1)
        res = simulate((b.codes, b.codebook), b.activations, cfg)
        rep = energy_report(res, table)
        assert int(row["cycles"]) == res.cycles and int(row["n_pe"]) == 16
        assert (int(row["rows"]), int(row["cols"])) == b.codes.shape
        assert float(row["latency_us"]) == pytest.approx(res.latency_us)
        assert float(row["energy_uj"]) == pytest.approx(rep.energy_pj / 1e6)
        # fractions, not percentages (the text table's load_eff_% / 100)
        assert float(row["load_efficiency"]) == pytest.approx(res.load_efficiency) and 0 < res.load_efficiency <= 1
        assert row["error"] == "" and row["energy_table"] == "eie45"


def test_bench_csv_of_the_conv_suite_and_a_refused_combination(capsys):
    assert main(["bench", "--suite", "conv", "--layers", "alex-conv3", "--scale", "0.1", "--pes", "8", "--csv"]) == 0
    (row,) = _csv(capsys.readouterr().out)
    b = conv_suite.get_conv("alex-conv3", scale=0.1)
    assert int(row["cycles"]) == simulate(b.layer, b.activations, ArchConfig(n_pe=8)).cycles
    assert main(["bench", "--csv", "--json", "--scale", "0.1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["eie-sim: error: --csv with --json: choose one output format"]


@pytest.mark.parametrize("name", ["eie45", "horowitz45"])
def test_energy_table_json_is_the_preset_and_its_toml(capsys, name):
    assert main(["energy-table", name, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    table = preset(name)
    assert doc["table"] == name and doc["node_nm"] == table.node_nm
    assert {k: v["value"] for k, v in doc["energy_pj"].items()} == {k: c.value for k, c in table.energy_pj.items()}
    assert all(v["source"] for v in doc["energy_pj"].values())
    assert main(["energy-table", name, "--toml"]) == 0
    toml_doc = tomllib.loads(capsys.readouterr().out)
    for group in ("energy_pj", "static_mw"):
        assert set(toml_doc[group]) == set(doc[group])
        for k, v in doc[group].items():
            unit = "pj" if group == "energy_pj" else "mw"
            assert toml_doc[group][k][unit] == pytest.approx(v["value"], rel=1e-12)
