"""Options that do not apply are refused with one line; a co-design model runs on the hardware
it records unless a flag overrides it; benchmark layers re-cluster to --weight-bits."""

import json
from pathlib import Path

import numpy as np
import pytest

from eie_sim.cli import main
from eie_sim.contract.codebook import recluster
from eie_sim.contract.model import Model, load_model, save_model
from eie_sim.cycle import suite
from eie_sim.cycle.simulator import simulate
from eie_sim.config import ArchConfig

MODEL = str(Path(__file__).resolve().parents[2] / "models" / "lenet300-fashion.npz")


@pytest.mark.parametrize("args, match", [
    (["run", MODEL, "--scale", "0.5"], "--scale=0.5: applies to the generated Table III layers only"),
    (["run", MODEL, "--row-cv", "0"], "--row-cv=0: applies to the generated Table III layers only"),
    (["run", MODEL, "--col-cv", "0.2"], "--col-cv=0.2: applies"),
    (["eval", MODEL, "--pes", "8"], "--pes=8: architecture options apply to the cycle model only; add --simulate K"),
    (["eval", MODEL, "--set", "act_regs_per_pe=4"], "--set=act_regs_per_pe=4: architecture options"),
    (["eval", MODEL, "--energy-table", "horowitz45"], "--energy-table=horowitz45: the energy table applies to --simulate only"),
    (["run", "alex7", "--scale", "0.1", "--act-bits", "2"], "act_bits=2: sets the activation SRAM's word width"),
])
def test_options_that_do_not_apply_are_refused(args, match, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0], err


def test_benchmark_layers_recluster_to_the_weight_bits(capsys):
    assert main(["run", "alex7", "--scale", "0.1", "--pes", "4", "--weight-bits", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    b = suite.get("alex7", scale=0.1)
    codes, cb = recluster(b.codes, b.codebook, 2)
    want = simulate((codes, cb), b.activations, ArchConfig(n_pe=4, weight_bits=2))
    assert doc["weight_bits"] == 2 and doc["cycles"] == want.cycles and doc["counters"] == want.counters


def test_a_codesign_model_runs_on_its_recorded_hardware(tmp_path, capsys):
    m = load_model(MODEL)
    path = tmp_path / "best.npz"
    save_model(Model(layers=m.layers, meta=dict(m.meta, codesign={"n_pe": 16, "fifo_depth": 4, "sram_width": 128})), path)
    x = np.random.default_rng(0).random(m.n_inputs)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(path), "--input", str(tmp_path / "x.npy"), "--json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)["layers"]
    assert {(d["n_pe"], d["fifo_depth"], d["sram_width"]) for d in doc} == {(16, 4, 128)}
    assert "running on n_pe=16, fifo_depth=4, sram_width=128" in err
    want = simulate(m, x, ArchConfig(n_pe=16, fifo_depth=4, sram_width=128))
    assert [d["cycles"] for d in doc] == [r.cycles for r in want.layers]
    assert main(["run", str(path), "--pes", "8", "--json"]) == 0  # a flag overrides the record
    out, err = capsys.readouterr()
    assert {d["n_pe"] for d in json.loads(out)["layers"]} == {8} and "n_pe=16" not in err
    bad = tmp_path / "bad.npz"
    save_model(Model(layers=m.layers, meta=dict(m.meta, codesign={"n_pe": "x"})), bad)
    assert main(["run", str(bad)]) == 2
    assert "meta['codesign']['n_pe']='x'; expected an integer in 1..65536" in capsys.readouterr().err


def test_compress_says_how_many_training_images_it_used(tmp_path, capsys):
    assert main(["compress", "mlp:16", "--dataset", "digits", "--dense-epochs", "1", "--prune-rounds", "1",
                 "--retrain-epochs", "0", "--limit-train", "100", "--limit-test", "50", "--out", str(tmp_path / "m.npz")]) == 0
    out, err = capsys.readouterr()
    assert "used: 100 train / 50 test" in out + err


@pytest.mark.parametrize("args, match", [
    (["info", "{d}/bench.json"], "not an eie-sim model file (cannot be opened as .npz: not a zip archive of .npy arrays"),
    (["rtl", "cosim", "--bench", "alex7", "--random", "3x3"], "argument --random: not allowed with argument --bench"),
    (["rtl", "cosim", "--bench", "alex7", "--model", "{d}/m.npz"], "argument --model: not allowed with argument --bench"),
    (["codesign", "lenet300", "--dataset", "digits", "--out", "{d}/cd.parquet", "--reference", "{d}/missing.npz"],
     "missing.npz': no such file"),
])
def test_small_messages(tmp_path, capsys, args, match):
    (tmp_path / "bench.json").write_text('{"layers": []}')
    assert main([a.format(d=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0] and "allow_pickle" not in err[0], err
