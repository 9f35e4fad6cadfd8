"""ONNX on Fashion-MNIST: the shipped model in onnxruntime, a trained network through ONNX and the
built-in pipeline side by side, and the PyTorch recipe of the README (when torch is installed)."""

import dataclasses
import inspect
import json
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx_nets import rel_error, run_ort  # noqa: E402

from eie_sim.cli import main  # noqa: E402
from eie_sim.contract.model import load_model  # noqa: E402
from eie_sim.io import export_onnx, import_onnx  # noqa: E402
from eie_sim.train.compress import TrainSettings, train  # noqa: E402
from eie_sim.train.data import FASHION_DIR, load_dataset  # noqa: E402
from eie_sim.train.nn import build  # noqa: E402

MODEL = Path(__file__).resolve().parents[2] / "models" / "lenet300-fashion.npz"
needs_fashion = pytest.mark.skipif(not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists(),
                                   reason="dataset-fashion-mnist is not installed")


@pytest.fixture(scope="module")
def fashion():
    return load_dataset("fashion-mnist")


@needs_fashion
def test_shipped_lenet300_in_onnxruntime_has_evals_float_accuracy(fashion, tmp_path, capsys):
    path = tmp_path / "lenet300.onnx"
    assert main(["export", str(MODEL), "-o", str(path)]) == 0
    assert main(["eval", str(MODEL), "--dataset", "fashion-mnist", "--json"]) == 0
    ev = json.loads(capsys.readouterr().out.splitlines()[-1])
    out = run_ort(path, fashion.x_test)
    assert ev["n_samples"] == len(fashion.y_test) == 10000
    assert float((out.argmax(axis=1) == fashion.y_test).mean()) == ev["float_accuracy"]


@needs_fashion
@pytest.mark.slow
def test_trained_dense_mlp_through_onnx_compresses_like_the_builtin_pipeline(fashion, tmp_path, capsys):
    n_train, seed = 20000, 3
    shared = ["--sparsity", "0.9", "0.7", "--weight-bits", "4", "--prune-rounds", "2", "--seed", str(seed), "--quiet"]
    builtin = tmp_path / "builtin.npz"
    assert main(["compress", "mlp:100", "--dataset", "fashion-mnist", "--dense-epochs", "4", "--limit-train", str(n_train),
                 "--retrain-epochs", "1", "--finetune-epochs", "1", "--out", str(builtin), *shared]) == 0
    # the dense network `compress` starts from: the trainer, same seed and settings, exported dense
    data = dataclasses.replace(fashion, x_train=fashion.x_train[:n_train], y_train=fashion.y_train[:n_train])
    net = build("mlp:100", np.random.default_rng(seed), 784, 10, 28)
    train(net, data, TrainSettings(epochs=4), seed=seed)
    dense = export_onnx(net, tmp_path / "dense.onnx", output_function="softmax")
    imported = import_onnx(dense)
    assert rel_error(imported.forward(fashion.x_test[:500]), run_ort(dense, fashion.x_test[:500])) <= 1e-5
    ours = tmp_path / "imported.npz"
    assert main(["import", str(dense), "-o", str(ours), "--dataset", "fashion-mnist", "--limit-train", str(n_train),
                 "--retrain-epochs", "1", "--finetune-epochs", "1", *shared]) == 0
    capsys.readouterr()
    a, b = load_model(builtin), load_model(ours)
    ra, rb = a.meta["report"], b.meta["report"]
    assert rb["kept_pct"] == pytest.approx(ra["kept_pct"], abs=0.01)
    assert rb["ratio_huffman"] == pytest.approx(ra["ratio_huffman"], rel=0.01)
    assert abs(b.meta["accuracy"]["compressed"] - a.meta["compressed_float_accuracy"]) <= 0.003
    for m in (builtin, ours):
        assert main(["eval", str(m), "--dataset", "fashion-mnist", "--json"]) == 0
    acc_a, acc_b = (json.loads(line)["accuracy"] for line in capsys.readouterr().out.splitlines())
    assert abs(acc_a - acc_b) <= 0.003


def test_pytorch_recipe(tmp_path, capsys):
    """The README's recipe: torch.onnx.export of an nn.Sequential MLP, then eie-sim import."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                              torch.nn.Linear(32, 10), torch.nn.Softmax(dim=1)).eval()
    path = tmp_path / "mlp.onnx"
    kwargs = {}
    try:  # torch >= 2.9 exports with dynamo, which needs onnxscript; else the TorchScript exporter
        import onnxscript  # noqa: F401
    except ImportError:
        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            kwargs["dynamo"] = False
    torch.onnx.export(mlp, (torch.zeros(1, 1, 8, 8),), str(path), input_names=["input"], output_names=["probs"], **kwargs)
    net = import_onnx(path)
    assert [l.activation for l in net.layers] == ["relu", "none"] and net.output_function == "softmax"
    x = np.random.default_rng(0).random((1, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        ref = mlp(torch.from_numpy(x)).numpy().astype(np.float64)
    assert rel_error(net.forward(x.reshape(1, -1)), ref) <= 1e-5
    assert main(["import", str(path), "-o", str(tmp_path / "mlp.npz"), "--sparsity", "0.8"]) == 0
    assert "output function softmax" in capsys.readouterr().out
