"""Saturation is never silent in the CLI: golden, run and eval report the counts (per layer and in
total) and print one warning line per layer and point, checked against the library's golden
model run independently."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from eie_sim.cli import main
from eie_sim.contract.golden import reference_forward
from eie_sim.contract.model import Model, load_model, save_model
from eie_sim.train.data import FASHION_DIR, load_dataset

MODEL = Path(__file__).resolve().parents[2] / "models" / "lenet300-fashion.npz"


@pytest.fixture()
def pixels(tmp_path):
    """A 0..255 image for a model calibrated on [0, 1] inputs (Q16.14 holds -2 .. 2)."""
    path = tmp_path / "px.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, 784).astype(np.float64))
    return path


def _warnings(err: str) -> list[str]:
    return [l for l in err.splitlines() if l.startswith("warning: layer")]


def test_golden_reports_and_warns(pixels, capsys):
    want = reference_forward(load_model(MODEL), np.load(pixels))
    n_in = want.layers[0].saturation.inputs
    assert n_in == int(np.count_nonzero(np.load(pixels) >= 2.0 - 2.0 ** -15))  # Q16.14: 2 - 1/2 LSB rounds to 2
    assert main(["golden", str(MODEL), "--input", str(pixels), "--json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["saturated_inputs"] == n_in == doc["layers"][0]["saturated_inputs"]
    assert doc["saturated_total"] == want.saturation.total
    assert [l["saturated_total"] for l in doc["layers"]] == [r.saturation.total for r in want.layers]
    lines = _warnings(err)
    assert lines and lines[0].startswith(f"warning: layer fc1: {n_in:,} input value(s) saturated in Q16.14 (range -2 .. 1.99994)")
    assert "--input-range" in lines[0]
    assert len(lines) == sum(1 for r in want.layers for v in r.saturation.counts().values() if v)


def test_run_reports_the_same_counts_as_the_golden_model(pixels, capsys):
    want = reference_forward(load_model(MODEL), np.load(pixels))
    assert main(["run", str(MODEL), "--input", str(pixels), "--pes", "8", "--json"]) == 0
    out, err = capsys.readouterr()
    docs = json.loads(out)["layers"]
    assert [d["saturated_inputs"] for d in docs] == [r.saturation.inputs for r in want.layers]
    assert [d["saturated_total"] for d in docs] == [r.saturation.total for r in want.layers]
    assert len(_warnings(err)) >= 1
    assert main(["run", str(MODEL), "--input", str(pixels), "--pes", "8"]) == 0
    assert "! saturated: inputs" in capsys.readouterr().out


def test_no_warning_when_nothing_saturates(tmp_path, capsys):
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(1).random(784))  # [0, 1): inside Q16.14
    want = reference_forward(load_model(MODEL), np.load(x))
    assert main(["golden", str(MODEL), "--input", str(x), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["saturated_total"] == want.saturation.total
    assert (want.saturation.total == 0) == (not _warnings(err))


@pytest.mark.skipif(not (FASHION_DIR / "t10k-images-idx3-ubyte.gz").exists(), reason="dataset-fashion-mnist is not installed")
@pytest.mark.parametrize("in_frac", [None, 15])  # Q16.15 holds -1 .. 0.99997: a white pixel (1.0) clips
def test_eval_reports_the_fraction_of_inputs_that_saturate(in_frac, tmp_path, capsys):
    model = load_model(MODEL)
    path = MODEL
    if in_frac is not None:
        model = Model(layers=(replace(model.layers[0], in_frac=in_frac),) + model.layers[1:], meta=model.meta)
        path = tmp_path / "m.npz"
        save_model(model, path)
    assert main(["eval", str(path), "--dataset", "fashion-mnist", "--limit-test", "60", "--json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    x = load_dataset("fashion-mnist").x_test[:60]
    per = [reference_forward(model, xi).saturation for xi in x]
    assert doc["saturated_samples"] == sum(s.total > 0 for s in per)
    assert doc["saturated_input_fraction"] == pytest.approx(sum(s.total > 0 for s in per) / 60)
    assert doc["saturated_total"] == sum(s.total for s in per)
    assert doc["saturated_inputs"] == sum(s.inputs for s in per)
    if in_frac is not None:
        assert doc["saturated_inputs"] > 0 and "summed over 60 test inputs" in err
