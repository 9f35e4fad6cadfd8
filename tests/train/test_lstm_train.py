"""The NumPy LSTM trainer: BPTT gradient against finite differences, and the compress pipeline
(prune, share, export) on a tiny sequential data set, run through golden, cycle model and CLI."""

import dataclasses
import json

import numpy as np

from eie_sim import ArchConfig
from eie_sim.cli.app import main
from eie_sim.contract.golden import reference_forward, reference_forward_batch
from eie_sim.contract.model import load_model, save_model
from eie_sim.cycle.simulator import simulate
from eie_sim.train import compress as dc
from eie_sim.train.data import Dataset
from eie_sim.train.nn import lstm_classifier
from eie_sim.train.nn import softmax_cross_entropy


def test_bptt_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    net = lstm_classifier(rng, 5, 3, 4, 3)
    net.layers[0].clip = 0
    for l in net.layers:
        for p in l.params.values():
            p.value = p.value.astype(np.float64)
    x = rng.random((6, 5, 3))
    y = rng.integers(0, 3, 6)

    def loss():
        return softmax_cross_entropy(net.layers[1].forward(net.layers[0].forward(x, True), True), y)

    _, g = loss()
    net.backward(g)
    W = net.layers[0].params["W"]
    num = np.zeros_like(W.value)
    for idx in np.ndindex(W.value.shape):
        old = W.value[idx]
        W.value[idx] = old + 1e-6
        lp = loss()[0]
        W.value[idx] = old - 1e-6
        lm = loss()[0]
        W.value[idx] = old
        num[idx] = (lp - lm) / 2e-6
    assert np.abs(W.grad - num).max() <= 1e-6 * np.abs(num).max()


def test_compress_pipeline_tiny(tmp_path, capsys):
    rng = np.random.default_rng(1)
    # 6 steps of 6 pixels; class = which third of the sequence is bright
    n = 300
    y = rng.integers(0, 3, n)
    x = rng.random((n, 6, 6)) * 0.3
    for i in range(n):
        x[i, 2 * y[i] : 2 * y[i] + 2] += 0.7
    x = x.reshape(n, 36).astype(np.float32)
    data = Dataset("toy", x[:240], y[:240], x[240:], y[240:], 6, 3, "toy")
    net = lstm_classifier(rng, 6, 6, 8, 3)
    dc.train(net, data, dc.TrainSettings(epochs=15, lr=0.3), seed=0)
    dense = net.accuracy(data.x_test, data.y_test)
    dc.prune(net, data, sparsity=[0.5], rounds=2, retrain=dc.TrainSettings(epochs=2, lr=0.03))
    dc.share_weights(net, 4)
    rep = dc.compression_report(net, 4, dense, net.accuracy(data.x_test, data.y_test))
    assert rep.rows["layer"].tolist() == ["lstm", "fc"] and rep.total["kept_pct"] < 55
    m = dc.export_model(net, data.x_train, name="toy", meta={"dataset": "toy"})
    assert m.is_sequence and m.meta["sequence"] == {"steps": 6, "features": 6}
    p = save_model(m, tmp_path / "toy.npz")
    m = load_model(p)
    out = reference_forward_batch(m, data.x_test)
    fixed = float((out.argmax(1) == data.y_test).mean())
    assert dense > 0.9 and abs(fixed - dc.float_accuracy(m, data.x_test, data.y_test)) <= 0.02
    seq = data.x_test[0].reshape(6, 6)
    assert np.array_equal(simulate(m, seq, ArchConfig(n_pe=4)).output_fixed, reference_forward(m, seq).output_fixed)
    np.save(tmp_path / "seq.npy", seq)
    assert main(["run", str(p), "--input", str(tmp_path / "seq.npy"), "--pes", "4"]) == 0
    text = capsys.readouterr().out
    assert "lstm[5]" in text and "total:" in text and "element-wise" in text
    assert main(["golden", str(p), "--input", str(tmp_path / "seq.npy"), "--json"]) == 0
    g = json.loads(capsys.readouterr().out)
    assert g["output_fixed"] == reference_forward(m, seq).output_fixed.tolist() and g["lstm"]["steps"] == 6
    assert main(["run", str(p), "--input", str(tmp_path / "seq.npy"), "--pes", "4", "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)["layers"]
    assert len(docs) == 7 and docs[0]["counters"]["lut_reads"] == 40
