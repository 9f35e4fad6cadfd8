"""import without data: --input-range / --calibrate against onnxruntime, the assumed-range note,
training options refused without data, the chance-level warning, an LSTM imported without data
running golden and run (its cell formats capped to the legal range), export's description."""

import json

import numpy as np
import pytest
from onnx import numpy_helper

from eie_sim.cli import main
from eie_sim.contract.golden import reference_forward, reference_forward_batch
from eie_sim.contract.lstm import lstm_formats
from eie_sim.contract.model import load_model

from onnx_nets import mlp, run_ort, save
from test_onnx_lstm import lstm_model, sequences


def _golden(model, x):
    q, counts = reference_forward_batch(model, x, saturation=True)
    return np.ldexp(q.astype(np.float64), -model.layers[-1].out_frac), counts


@pytest.mark.parametrize("scale, rng_args", [(255.0, ["0", "255"]), (4.0, ["-4", "4"])])
def test_input_range_fits_the_data_and_its_absence_is_said(tmp_path, capsys, scale, rng_args):
    rng = np.random.default_rng(0)
    path = save(mlp([20, 16, 8], rng), tmp_path / "net.onnx")
    lo = float(rng_args[0])
    x = lo + (scale - lo) * np.random.default_rng(1).random((200, 20))
    ref = run_ort(path, x)
    errs, sats = [], []
    for extra in ([], ["--input-range", *rng_args]):
        out = tmp_path / "m.npz"
        assert main(["import", path, "-o", str(out), "--quiet", "--weight-bits", "8", *extra]) == 0
        err = capsys.readouterr().err
        assert ("note: no data, --input-range or --calibrate: fixed-point formats calibrated for inputs in [0, 1]"
                in err) == (not extra)
        got, counts = _golden(load_model(out), x)
        errs.append(np.abs(got - ref).max() / np.abs(ref).max())
        sats.append(int(counts[:, 0, 0].sum()))
    assert sats[0] > 0 and sats[1] == 0  # [0, 1] formats clip these inputs; the given range holds them
    assert errs[0] > 0.1 and errs[1] < 0.02  # 8-bit shared weights: the rest is weight sharing, not rounding


def test_calibrate_file(tmp_path, capsys):
    rng = np.random.default_rng(2)
    path = save(mlp([20, 16, 8], rng), tmp_path / "net.onnx")
    x = 100 * np.random.default_rng(3).normal(size=(64, 20))
    np.savez(tmp_path / "cal.npz", x=x)
    assert main(["import", path, "-o", str(tmp_path / "m.npz"), "--quiet", "--calibrate", str(tmp_path / "cal.npz")]) == 0
    assert "note:" not in capsys.readouterr().err
    _, counts = _golden(load_model(tmp_path / "m.npz"), x)
    assert counts.sum() == 0  # calibrated on these very inputs: nothing clips
    np.savez(tmp_path / "bad.npz", y=x)
    assert main(["import", path, "-o", str(tmp_path / "m.npz"), "--calibrate", str(tmp_path / "bad.npz")]) == 2
    assert "no array 'x'" in capsys.readouterr().err
    assert main(["import", path, "-o", str(tmp_path / "m.npz"), "--calibrate", str(tmp_path / "none.npz")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("opt", [["--retrain-epochs", "5"], ["--finetune-epochs", "2"], ["--retrain-lr", "0.1"],
                                 ["--finetune-lr", "0.1"], ["--prune-rounds", "7"], ["--limit-train", "10"]])
def test_training_options_without_data_are_refused(tmp_path, capsys, opt):
    path = save(mlp([20, 16, 8], np.random.default_rng(0)), tmp_path / "net.onnx")
    assert main(["import", path, "-o", str(tmp_path / "m.npz"), *opt]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{opt[0]}={opt[1]}: applies to retraining, which needs data" in err[0]


@pytest.mark.parametrize("random_labels", [True, False])
def test_chance_level_accuracy_warns(tmp_path, capsys, random_labels):
    rng = np.random.default_rng(4)
    path = save(mlp([20, 16, 10], rng), tmp_path / "net.onnx")
    x = np.random.default_rng(5).random((300, 20))
    y = np.random.default_rng(6).integers(0, 10, 300) if random_labels else run_ort(path, x).argmax(1)
    np.savez(tmp_path / "d.npz", x=x, y=y, x_test=x, y_test=y)
    assert main(["import", path, "-o", str(tmp_path / "m.npz"), "--quiet", "--data", str(tmp_path / "d.npz"),
                 "--retrain-epochs", "0", "--finetune-epochs", "0"]) == 0
    err = capsys.readouterr().err
    assert ("chance level for 10 classes" in err) == random_labels


def test_lstm_imported_without_data_runs_golden_and_run(tmp_path, capsys):
    proto = lstm_model(seed=0)
    for init in proto.graph.initializer:  # tiny gates: formats chosen from the range would exceed the cell's
        if init.name in ("W", "R", "B"):
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(1e-3), init.name))
    path = save(proto, tmp_path / "net.onnx")
    out, seq = tmp_path / "m.npz", tmp_path / "seq.npy"
    assert main(["import", path, "-o", str(out), "--quiet"]) == 0
    model = load_model(out)
    fm = lstm_formats(model.layers[0])
    assert 0 <= fm.fg <= 15 and 0 <= fm.fc <= 15 and 0 <= fm.fa <= 14
    x = sequences(1)[0]
    np.save(seq, x)
    capsys.readouterr()
    assert main(["golden", str(out), "--input", str(seq), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["output_fixed"] == reference_forward(model, x).output_fixed.tolist()
    assert main(["run", str(out), "--input", str(seq), "--pes", "4", "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)["layers"]
    assert docs[-1]["layer"] == model.layers[-1].name
    assert main(["export", str(out), "-o", str(tmp_path / "back.onnx"), "--check", "0"]) == 0
    text = capsys.readouterr().out
    assert "1 LSTM layer" in text and "Gemm layer(s) 2 ->" not in text
