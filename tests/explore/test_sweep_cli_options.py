"""sweep's generator and input options: --row-cv / --col-cv shape the Table III layers (recorded in
``table3_cv`` and the point ids), --input-index picks the model's input; both checked against the
same layer or model simulated directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import pytest

pytest.importorskip("pyarrow")

from eie_sim import ArchConfig, encode, simulate, suite  # noqa: E402
from eie_sim.cli import main  # noqa: E402
from eie_sim.contract.model import load_model  # noqa: E402
from eie_sim.explore.sweep import load_sweep  # noqa: E402

MODEL = Path(__file__).resolve().parents[2] / "models" / "lenet300-fashion.npz"
FASHION = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")


def _direct(n_pe: int, row_cv: float, col_cv: float) -> int:
    b = suite.get("alex7", seed=0, scale=0.05, row_cv=row_cv, col_cv=col_cv)
    return simulate(encode(b.codes, b.codebook, n_pe=n_pe), b.activations, ArchConfig(n_pe=n_pe)).cycles


def test_row_and_column_cv_reach_the_generated_layers(tmp_path, capsys):
    out = tmp_path / "s.parquet"
    assert main(["sweep", "--pes", "2,8", "--layers", "alex7@0.05", "--row-cv", "0", "--col-cv", "0.5",
                 "--workers", "1", "--out", str(out), "--quiet"]) == 0
    df = load_sweep(out).sort_values("n_pe")
    assert df["cycles"].tolist() == [_direct(2, 0.0, 0.5), _direct(8, 0.0, 0.5)]
    assert set(df["table3_cv"]) == {"0/0.5"}
    assert _direct(8, 0.0, 0.5) != _direct(8, suite.DEFAULT_ROW_CV, suite.DEFAULT_COL_CV)  # the option matters
    capsys.readouterr()
    assert main(["sweep", "--pes", "2", "--layers", str(MODEL), "--row-cv", "0.2", "--workers", "1",
                 "--out", str(tmp_path / "m.parquet")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--row-cv=0.2: applies to the Table III layers" in err[0]


@pytest.mark.skipif(not FASHION.exists(), reason="dataset-fashion-mnist is not installed")
def test_input_index_is_the_models_test_image(tmp_path):
    from eie_sim.train.data import load_dataset

    out = tmp_path / "s.parquet"
    assert main(["sweep", "--pes", "16", "--layers", str(MODEL), "--input-index", "4", "--workers", "1",
                 "--out", str(out), "--quiet"]) == 0
    df = load_sweep(out)
    x = load_dataset("fashion-mnist").x_test[4].astype(float)
    want = simulate(load_model(MODEL), x, ArchConfig(n_pe=16))
    assert df["cycles"].tolist() == [r.cycles for r in want.layers]
    assert set(df["input_index"]) == {4}


@pytest.mark.skipif(not FASHION.exists(), reason="dataset-fashion-mnist is not installed")
def test_an_lstm_model_runs_on_its_test_sequence_as_in_run(tmp_path):
    """The sweep's model input is run's (eie_sim.train.inputs): for an LSTM, test image 0 as a
    T x X sequence (earlier versions passed the flat image and every row failed)."""
    from eie_sim.train.data import load_dataset

    path = MODEL.parent / "lstm-fashion.npz"
    out = tmp_path / "s.parquet"
    assert main(["sweep", "--pes", "16", "--layers", str(path), "--workers", "1", "--out", str(out), "--quiet"]) == 0
    df = load_sweep(out)
    model = load_model(path)
    x = load_dataset("fashion-mnist").x_test[0].astype(float).reshape(-1, model.n_inputs)
    want = simulate(model, x, ArchConfig(n_pe=16))
    assert df["error"].isna().all()
    assert df["cycles"].tolist() == [r.cycles for r in want.layers]


def test_input_file_is_what_the_models_run_on(tmp_path, capsys):
    """sweep --input FILE as run --input FILE: the same cycles, the file named in the rows, other
    point ids than a test image's; a file of the wrong size is refused in one line."""
    x = load_model(MODEL).n_inputs
    acts = np.random.default_rng(3).random(x)
    np.save(tmp_path / "x.npy", acts)
    out = tmp_path / "s.parquet"
    assert main(["sweep", "--pes", "8", "--layers", str(MODEL), "--input", str(tmp_path / "x.npy"), "--workers", "1",
                 "--out", str(out), "--quiet"]) == 0
    df = load_sweep(out)
    want = simulate(load_model(MODEL), acts, ArchConfig(n_pe=8))
    assert df["cycles"].tolist() == [r.cycles for r in want.layers]
    assert df["input_file"].iloc[0].startswith("x.npy:") and df["input_index"].isna().all()
    np.save(tmp_path / "short.npy", acts[:10])
    capsys.readouterr()
    assert main(["sweep", "--pes", "8", "--layers", str(MODEL), "--input", str(tmp_path / "short.npy"), "--workers", "1",
                 "--out", str(tmp_path / "t.parquet"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "short.npy" in err[0] and "10 values" in err[0] and "takes 784 inputs" in err[0]
