"""eie-sim import / export on the command line, and the other commands on an imported file."""

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx_nets import mlp, rel_error, run_ort, save  # noqa: E402

from eie_sim.cli import main  # noqa: E402
from eie_sim.contract.model import load_model  # noqa: E402
from eie_sim.train.compress import float_forward  # noqa: E402


@pytest.fixture
def digits_net(tmp_path):
    """A 64-32-10 MLP with a Softmax, shaped for the digits data set, built with onnx.helper."""
    return save(mlp([64, 32, 10], np.random.default_rng(0), output_function="Softmax"), tmp_path / "net.onnx")


def test_import_info_run_golden_eval_export_session(digits_net, tmp_path, capsys):
    out, back = tmp_path / "net.npz", tmp_path / "back.onnx"
    assert main(["import", digits_net, "-o", str(out), "--weight-bits", "4", "--sparsity", "0.9", "0.5"]) == 0
    text = capsys.readouterr().out
    assert "2 fully connected layer(s) 64 -> 32 -> 10 (fc1 relu, fc2 none), output function softmax" in text
    assert "fc1" in text and "10.01" in text and "50.00" in text and f"wrote {out}" in text
    model = load_model(out)
    assert model.meta["output_function"] == "softmax" and model.meta["command"].startswith("eie-sim import")
    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [l["name"] for l in info["layers"]] == ["fc1", "fc2"] and info["density"] == pytest.approx((205 + 160) / 2368)
    assert main(["run", str(out), "--pes", "8"]) == 0
    assert "fc1: 32x64 (outputs x inputs) on 8 PEs" in capsys.readouterr().out
    assert main(["golden", str(out), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["output"]) == 10
    assert main(["eval", str(out), "--dataset", "digits", "--json", "--simulate", "2", "--pes", "4"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["simulator_matches"] is True and ev["n_samples"] == 359
    assert main(["export", str(out), "-o", str(back)]) == 0
    text = capsys.readouterr().out
    assert "max relative difference" in text and "output function softmax" in text
    x = np.random.default_rng(1).random((20, 64))
    assert rel_error(run_ort(back, x), float_forward(model, x)) <= 1e-5


def test_import_with_finetuning_on_a_data_set_and_a_data_file(digits_net, tmp_path, capsys):
    out = tmp_path / "ft.npz"
    assert main(["import", digits_net, "-o", str(out), "--sparsity", "0.8", "--dataset", "digits", "--retrain-epochs", "1", "--finetune-epochs", "1",
                 "--prune-rounds", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "float accuracy on digits (test): imported" in text and "compressed" in text
    assert load_model(out).meta["dataset"] == "digits"
    rng = np.random.default_rng(2)
    data = tmp_path / "d.npz"
    np.savez(data, x=rng.random((50, 8, 8)).astype(np.float32), y=rng.integers(0, 10, 50))
    assert main(["import", digits_net, "-o", str(out), "--data", str(data), "--retrain-epochs", "0", "--finetune-epochs", "0", "--quiet"]) == 0
    assert "50 training inputs of d" in capsys.readouterr().out


def test_sweep_takes_an_imported_model(digits_net, tmp_path, capsys):
    pytest.importorskip("dask")
    out = tmp_path / "ft.npz"
    assert main(["import", digits_net, "-o", str(out), "--sparsity", "0.7", "--dataset", "digits", "--retrain-epochs", "1", "--finetune-epochs", "1",
                 "--prune-rounds", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["sweep", "--pes", "2,4", "--model", str(out), "--out", str(tmp_path / "s.parquet"), "--workers", "1",
                 "--limit-test", "50", "--quiet"]) == 0
    import pandas as pd

    df = pd.read_parquet(tmp_path / "s.parquet")
    assert set(df["layer"]) == {"fc1", "fc2"} and df["error"].isna().all() and df["accuracy"].notna().all()


@pytest.mark.parametrize("argv,expect", [
    (["import", "{net}", "-o", "{tmp}/x.txt"], "--out="),
    (["import", "{tmp}/none.onnx", "-o", "{tmp}/x.npz"], "no such file"),
    (["import", "{bad}", "-o", "{tmp}/x.npz"], "not an ONNX model"),
    (["import", "{net}", "-o", "{tmp}/x.npz", "--weight-bits", "4", "4", "4"], "expected one value or one per weighted layer"),
    (["import", "{net}", "-o", "{tmp}/x.npz", "--data", "{tmp}/none.npz"], "no such file"),
    (["import", "{net}", "-o", "{tmp}/x.npz", "--dataset", "fashion-mnist", "--data-dir", "{tmp}"], "fashion-mnist"),
    (["export", "{tmp}/none.npz", "-o", "{tmp}/y.onnx"], "no such file"),
    (["export", "{net}", "-o", "{tmp}/y.onnx"], "not an eie-sim model file"),
    (["export", "{model}", "-o", "{tmp}/y.npz"], "--out="),
], ids=["out-suffix", "missing-onnx", "malformed", "bits-per-layer", "missing-data", "wrong-dataset-dir",
        "missing-model", "onnx-as-model", "export-suffix"])
def test_cli_errors_are_one_line_exit_2(argv, expect, digits_net, tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(np.random.default_rng(0).bytes(300))
    model = tmp_path / "m.npz"
    assert main(["import", digits_net, "-o", str(model)]) == 0
    capsys.readouterr()
    argv = [a.format(net=digits_net, tmp=tmp_path, bad=bad, model=model) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("eie-sim: error:") and err.count("\n") == 1 and expect in err
    assert not (tmp_path / "x.npz").exists()
