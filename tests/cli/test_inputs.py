"""One input story: ``run`` and ``golden`` on a model take ``--input FILE``, ``--input-index K``
(test image K of the data set the model records) or, by default, test image 0 -- the image
``eval --simulate`` starts from -- and say which; ``run --json`` carries the network total."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eie_sim.cli import main
from eie_sim.config import ArchConfig
from eie_sim.contract.golden import reference_forward
from eie_sim.contract.model import load_model
from eie_sim.cost.report import energy_report
from eie_sim.cycle.simulator import simulate

MODEL = Path(__file__).resolve().parents[2] / "models" / "lenet300-fashion.npz"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not (FASHION_DIR / "t10k-images-idx3-ubyte.gz").exists(),
                                   reason="dataset-fashion-mnist is not installed")


def _test_image(k: int) -> np.ndarray:
    from eie_sim.train.data import load_dataset

    return load_dataset("fashion-mnist").x_test[k].astype(np.float64)


@needs_fashion
def test_run_defaults_to_test_image_0_as_eval_does(capsys):
    assert main(["run", str(MODEL), "--pes", "16", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["input"] == "fashion-mnist test image 0"
    model = load_model(MODEL)
    want = simulate(model, _test_image(0), ArchConfig(n_pe=16))
    assert [d["cycles"] for d in doc["layers"]] == [r.cycles for r in want.layers]
    assert doc["total"]["cycles"] == want.cycles
    assert doc["total"]["energy_pj"]["total"] == pytest.approx(energy_report(want).energy_pj)
    assert main(["eval", str(MODEL), "--simulate", "1", "--limit-test", "5", "--pes", "16", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cycles_mean"] == want.cycles
    assert main(["run", str(MODEL), "--pes", "16"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0] == "input: fashion-mnist test image 0"
    assert f"total: {want.cycles:,} cycles" in text


@needs_fashion
def test_input_index_picks_that_test_image_in_run_and_golden(capsys):
    model = load_model(MODEL)
    x = _test_image(7)
    assert main(["run", str(MODEL), "--pes", "8", "--input-index", "7", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["input"] == "fashion-mnist test image 7"
    assert doc["total"]["cycles"] == simulate(model, x, ArchConfig(n_pe=8)).cycles
    assert main(["golden", str(MODEL), "--input-index", "7", "--json"]) == 0
    g = json.loads(capsys.readouterr().out)
    assert g["input"] == "fashion-mnist test image 7"
    assert g["output_fixed"] == reference_forward(model, x).output_fixed.tolist()
    assert main(["run", str(MODEL), "--input-index", "10000"]) == 2
    assert "--input-index=10000: expected a test image index in [0, 9999] of fashion-mnist" in capsys.readouterr().err


def test_a_model_without_a_data_set_runs_on_a_stated_seeded_input(tmp_path, capsys):
    path = tmp_path / "ex.npz"
    assert main(["example", "-o", str(path)]) == 0
    capsys.readouterr()
    assert main(["run", str(path), "--pes", "4", "--seed", "3", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["input"].startswith("seeded uniform [0, 1) input (seed 3;")
    model = load_model(path)
    x = np.random.default_rng(3).random(model.n_inputs)
    assert doc["total"]["cycles"] == simulate(model, x, ArchConfig(n_pe=4)).cycles
    assert main(["run", str(path), "--input-index", "0"]) == 2
    assert "records no data set; give --input FILE.npy" in capsys.readouterr().err


def test_input_file_and_index_together_are_refused(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros(784))
    assert main(["run", str(MODEL), "--input", str(tmp_path / "x.npy"), "--input-index", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--input-index=2 with --input=" in err[0]
    assert main(["run", "alex8", "--input-index", "1"]) == 2
    assert "applies to model files" in capsys.readouterr().err


# ------------------------------------------------------------------ eval: --data, --input, --input-index

def _eval_json(capsys, *args) -> dict:
    assert main(["eval", str(MODEL), *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@needs_fashion
def test_eval_input_index_starts_the_simulated_images_there(capsys):
    model = load_model(MODEL)
    doc = _eval_json(capsys, "--limit-test", "20", "--simulate", "3", "--input-index", "5", "--pes", "16")
    want = [simulate(model, _test_image(k), ArchConfig(n_pe=16)).cycles for k in (5, 6, 7)]
    assert doc["simulated_inputs"] == "test images 5..7" and doc["simulated_images"] == 3
    assert doc["cycles_mean"] == pytest.approx(np.mean(want)) and doc["simulator_matches"]


@needs_fashion
def test_eval_input_file_simulates_its_rows(tmp_path, capsys):
    model = load_model(MODEL)
    rows = np.stack([_test_image(5), _test_image(9)])
    np.save(tmp_path / "x.npy", rows)
    doc = _eval_json(capsys, "--limit-test", "10", "--simulate", "5", "--input", str(tmp_path / "x.npy"), "--pes", "8")
    want = [simulate(model, r, ArchConfig(n_pe=8)) for r in rows]
    assert doc["simulated_inputs"] == f"2 input(s) of {tmp_path / 'x.npy'}" and doc["simulated_images"] == 2
    assert doc["cycles_mean"] == pytest.approx(np.mean([w.cycles for w in want]))
    assert doc["simulator_matches"]  # against the golden model on the same rows
    np.save(tmp_path / "bad.npy", np.zeros(100))
    assert main(["eval", str(MODEL), "--limit-test", "10", "--simulate", "1", "--input", str(tmp_path / "bad.npy")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--input=" in err[0] and "expected rows of 784" in err[0]


@needs_fashion
def test_eval_data_file_is_the_test_set(tmp_path, capsys):
    from eie_sim.contract.golden import reference_forward_batch
    from eie_sim.train.data import load_dataset

    d = load_dataset("fashion-mnist")
    x, y = d.x_test[100:160], d.y_test[100:160]
    want = float((reference_forward_batch(load_model(MODEL), x).argmax(axis=1) == y).mean())
    np.savez(tmp_path / "mine.npz", x=d.x_train[:5], y=d.y_train[:5], x_test=x, y_test=y)
    doc = _eval_json(capsys, "--data", str(tmp_path / "mine.npz"))
    assert doc["n_samples"] == 60 and doc["accuracy"] == pytest.approx(want)
    assert doc["dataset"].startswith(str(tmp_path / "mine.npz"))
    np.savez(tmp_path / "xy.npz", x=x[:30], y=y[:30])  # no x_test: x, y are the test set
    assert _eval_json(capsys, "--data", str(tmp_path / "xy.npz"))["n_samples"] == 30
    np.savez(tmp_path / "narrow.npz", x=x[:, :100], y=y)
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "narrow.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "narrow.npz: array 'x' has 100 values per sample" in err[0]


@pytest.mark.parametrize("args,match", [
    (["--input-index", "3"], "--input-index=3: chooses the inputs of --simulate; add --simulate K"),
    (["--vdd", "0.9"], "--vdd=0.9: the energy table applies to --simulate only"),
    (["--data", "a.npz", "--dataset", "digits"], "not allowed with argument"),
])
def test_eval_refuses_options_that_do_not_apply(args, match, capsys):
    assert main(["eval", str(MODEL), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0], err
