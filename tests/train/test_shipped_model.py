"""The shipped compressed model and the full Fashion-MNIST files (skipped where the Debian
package dataset-fashion-mnist is not installed; `make test` installs it)."""

import json
from pathlib import Path

import numpy as np
import pytest

from eie_sim import ArchConfig, load_model, simulate
from eie_sim.cli import main
from eie_sim.train.compress import float_accuracy
from eie_sim.train.data import FASHION_DIR, load_dataset
from eie_sim.contract.golden import reference_forward, reference_forward_batch

MODEL = Path(__file__).resolve().parents[2] / "models" / "lenet300-fashion.npz"
have_fashion = (FASHION_DIR / "train-images-idx3-ubyte.gz").exists()
needs_fashion = pytest.mark.skipif(not have_fashion, reason="dataset-fashion-mnist is not installed")


@needs_fashion
def test_fashion_mnist_loader():
    d = load_dataset("fashion-mnist")
    assert d.x_train.shape == (60000, 784) and d.x_test.shape == (10000, 784)
    assert np.bincount(d.y_test).tolist() == [1000] * 10
    assert d.x_train.dtype == np.float32 and d.x_train.min() == 0.0 and d.x_train.max() == 1.0


def test_shipped_model_is_valid_and_compressed():
    m = load_model(MODEL)
    assert [l.shape for l in m.layers] == [(300, 784), (100, 300), (10, 100)]
    assert all(l.in_frac is not None and l.out_frac is not None for l in m.layers)
    rep = m.meta["report"]
    assert rep["ratio_huffman"] >= 30.0
    assert m.meta["command"].startswith("eie-sim compress lenet300 --dataset fashion-mnist")
    kept = sum(np.count_nonzero(l.codes) for l in m.layers) / sum(l.codes.size for l in m.layers)
    assert kept == pytest.approx(rep["kept_pct"] / 100)


@needs_fashion
def test_shipped_model_accuracy_golden_vs_float(capsys):
    m = load_model(MODEL)
    d = load_dataset("fashion-mnist")
    fixed = reference_forward_batch(m, d.x_test)
    acc = float((fixed.argmax(axis=1) == d.y_test).mean())
    facc = float_accuracy(m, d.x_test, d.y_test)
    assert facc == pytest.approx(m.meta["compressed_float_accuracy"], abs=1e-6)
    assert abs(acc - facc) <= 0.005  # the bit-exact fixed-point model is within 0.5 points
    assert m.meta["dense_accuracy"] - acc <= 0.011
    for i in range(3):
        assert np.array_equal(reference_forward(m, d.x_test[i]).output_fixed, fixed[i])
        assert np.array_equal(simulate(m, d.x_test[i], ArchConfig()).output_fixed, fixed[i])
    assert main(["eval", str(MODEL), "--dataset", "fashion-mnist", "--limit-test", "500", "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["n_samples"] == 500 and ev["accuracy"] == pytest.approx(float((fixed[:500].argmax(1) == d.y_test[:500]).mean()))
