import gzip
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eie_sim import ArchConfig, EIEError, reference_forward, simulate
from eie_sim.cli import main
from eie_sim.train.compress import (
    TrainSettings,
    apply_sparsity,
    compression_report,
    dsd,
    export_model,
    float_accuracy,
    prune,
    share_weights,
    train,
)
from eie_sim.train.data import DataError, Dataset, load_dataset, read_idx
from eie_sim.contract.golden import reference_forward_batch
from eie_sim.train.huffman import huffman_bits, huffman_code
from eie_sim.train.nn import SGD, Conv2D, Dense, MaxPool2D, Network, build, lenet5, mlp, softmax_cross_entropy


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def numeric_grad_check(net, x, y, param, n_checks=6, eps=1e-2, seed=0):
    logits = net.forward(x)
    _, g = softmax_cross_entropy(logits, y)
    net.backward(g)
    analytic = param.grad.copy()
    rng = np.random.default_rng(seed)
    for _ in range(n_checks):
        idx = tuple(int(rng.integers(0, s)) for s in param.value.shape)
        old = param.value[idx]
        param.value[idx] = old + eps
        lp, _ = softmax_cross_entropy(net.forward(x), y)
        param.value[idx] = old - eps
        lm, _ = softmax_cross_entropy(net.forward(x), y)
        param.value[idx] = old
        num = (lp - lm) / (2 * eps)
        assert analytic[idx] == pytest.approx(num, rel=0.05, abs=2e-4)


def test_gradients_dense_and_conv():
    rng = np.random.default_rng(0)
    net = mlp([6, 5, 3], rng)
    x = rng.normal(size=(4, 6)).astype(np.float32)
    y = np.array([0, 1, 2, 1])
    numeric_grad_check(net, x, y, net.layers[0].params["W"])
    numeric_grad_check(net, x, y, net.layers[2].params["b"])
    cnn = Network("cnn", [Conv2D(1, 2, 3, rng), MaxPool2D(2), Conv2D(2, 3, 2, rng), MaxPool2D(2),
                          __import__("eie_sim.train.nn", fromlist=["Flatten"]).Flatten(), Dense(3, 3, rng)], (1, 10, 10))
    xc = rng.normal(size=(3, 100)).astype(np.float32)
    yc = np.array([0, 2, 1])
    numeric_grad_check(cnn, xc, yc, cnn.layers[0].params["W"])
    numeric_grad_check(cnn, xc, yc, cnn.layers[2].params["W"])


def test_lenet5_shapes_and_learning():
    rng = np.random.default_rng(1)
    net = lenet5(rng)
    assert [l.params["W"].value.shape for l in net.weighted()] == [(20, 1, 5, 5), (50, 20, 5, 5), (500, 800), (10, 500)]
    d = load_dataset("mnist-5k")
    small = Dataset("s", d.x_train[:600], d.y_train[:600], d.x_test[:200], d.y_test[:200], 28, 10, "")
    before = net.accuracy(small.x_test, small.y_test)
    hist = train(net, small, TrainSettings(epochs=2, lr=0.02, batch_size=32), seed=0)
    assert hist[-1]["loss"] < hist[0]["loss"]
    assert net.accuracy(small.x_test, small.y_test) > before + 0.3


def test_pruning_mask_survives_retraining(digits):
    net = build("lenet300", np.random.default_rng(2), digits.n_features, 10)
    train(net, digits, TrainSettings(epochs=3), seed=0)
    prune(net, digits, quality=[1.0, 1.0, 0.5], rounds=2, retrain=TrainSettings(epochs=2, lr=0.005))
    for layer in net.weighted():
        p = layer.params["W"]
        assert p.mask is not None and 0.05 < p.mask.mean() < 0.8
        assert np.all(p.value[p.mask == 0] == 0.0)
        assert np.all(p.momentum[p.mask == 0] == 0.0)
    # threshold = quality x std: every surviving weight of fc1 was above 1.0 x std at pruning time
    assert net.accuracy(digits.x_test, digits.y_test) > 0.85


def test_sparsity_targets_and_dropout_rescale():
    rng = np.random.default_rng(3)
    net = mlp([20, 30, 5], rng, dropout=0.5)
    apply_sparsity(net, [0.75, 0.5])
    kept = [float(l.params["W"].mask.mean()) for l in net.weighted()]
    assert kept == pytest.approx([0.25, 0.5], abs=0.01)
    d = net.dropouts()[0]
    assert d.p == pytest.approx(0.5 * np.sqrt(0.25))  # D_r = D_o sqrt(C_r / C_o)


def test_code_zero_stays_zero_after_finetuning(digits):
    net = build("lenet300", np.random.default_rng(4), digits.n_features, 10)
    train(net, digits, TrainSettings(epochs=3), seed=0)
    apply_sparsity(net, 0.8)
    share_weights(net, 3)
    before = [l.params["W"].codebook.copy() for l in net.weighted()]
    train(net, digits, TrainSettings(epochs=2, lr=0.005, weight_decay=0.0), seed=1)
    for layer, cb0 in zip(net.weighted(), before):
        p = layer.params["W"]
        assert p.codebook[0] == 0.0 and p.codebook.size == 8
        assert np.all(p.value[p.codes == 0] == 0.0)
        assert np.array_equal(p.value, p.codebook[p.codes])
        assert not np.array_equal(p.codebook, cb0)  # the centroids did move


def test_centroid_gradient_is_the_sum_of_its_weights_gradients():
    # W = [[c1, c2], [c1, 0]] with codebook [0, 1.0, -2.0]; hand-set weight gradients.
    layer = Dense(2, 2, np.random.default_rng(0))
    p = layer.params["W"]
    p.codes = np.array([[1, 2], [1, 0]])
    p.codebook = np.array([0.0, 1.0, -2.0], dtype=np.float32)
    p.value = p.codebook[p.codes]
    p.grad = np.array([[0.5, 0.25], [1.5, 7.0]], dtype=np.float32)
    SGD(lr=1.0, momentum=0.0, weight_decay=0.0).step([p])
    # centroid 1 gets 0.5 + 1.5 = 2.0, centroid 2 gets 0.25; code 0's gradient (7.0) is ignored
    assert p.codebook.tolist() == [0.0, 1.0 - 2.0, -2.0 - 0.25]
    assert p.value.tolist() == [[-1.0, -2.25], [-1.0, 0.0]]


def test_huffman_hand_worked_lengths():
    stream = [0] * 5 + [1] * 2 + [2] + [3]
    code = huffman_code(stream)
    assert code.lengths.tolist() == [1, 2, 3, 3]
    assert huffman_bits(stream) == 5 * 1 + 2 * 2 + 3 + 3
    # canonical: 0 -> 0, 1 -> 10, 2 -> 110, 3 -> 111
    assert [format(int(c), f"0{int(l)}b") for c, l in zip(code.codes, code.lengths)] == ["0", "10", "110", "111"]


@given(st.lists(st.integers(0, 40), max_size=300))
def test_huffman_round_trip(stream):
    code = huffman_code(stream)
    packed, n = code.encode(stream)
    assert n == huffman_bits(stream)
    assert code.decode(packed, n).tolist() == list(stream)


def test_dsd_phases(digits):
    net = build("lenet300", np.random.default_rng(5), digits.n_features, 10)
    ts = TrainSettings(epochs=3)
    out = dsd(net, digits, sparsity=0.3, dense=ts, sparse=ts, redense=TrainSettings(epochs=3, lr=0.005), seed=0)
    assert set(out) == {"dense", "sparse", "redense"} and all(0.5 < v <= 1 for v in out.values())
    for layer in net.weighted():
        p = layer.params["W"]
        assert p.mask is None  # re-dense: no mask left
        # the sparse phase left 70% non-zero; re-dense training regrows most of the pruned 30%
        assert np.count_nonzero(p.value) / p.value.size > 0.9


def test_dsd_continued_baseline_is_the_same_schedule_without_the_mask(digits):
    """The fair baseline equals training the same network for the same three phases by hand
    (same initialisation, epochs, learning rates and shuffling seeds), with no weight masked."""
    ts, tenth = TrainSettings(epochs=2), TrainSettings(epochs=2, lr=0.005)
    out = dsd(build("mlp:32", np.random.default_rng(8), digits.n_features, 10), digits, sparsity=0.4, dense=ts,
              sparse=ts, redense=tenth, seed=3, continued=True)
    ref = build("mlp:32", np.random.default_rng(8), digits.n_features, 10)
    for settings, seed in ((ts, 3), (ts, 4), (tenth, 5)):
        train(ref, digits, settings, seed=seed)
    assert out["continued"] == ref.accuracy(digits.x_test, digits.y_test)
    assert all(layer.params["W"].mask is None for layer in ref.weighted())
    assert set(out) == {"dense", "continued", "sparse", "redense"}


def test_cli_dsd_baseline_reports_the_continued_run(tmp_path, capsys, digits):
    """``compress --dsd --dsd-baseline``: the report's ``dsd`` holds the continued baseline, equal
    to the library's run with the CLI's schedule (re-dense at a tenth of --lr); refused alone."""
    rep = tmp_path / "r.json"
    assert main(["compress", "mlp:24", "--dataset", "digits", "--dense-epochs", "2", "--dsd", "--dsd-baseline",
                 "--dsd-sparsity", "0.4", "--prune-rounds", "1", "--retrain-epochs", "1", "--finetune-epochs", "1",
                 "--quiet", "--seed", "2", "--json-report", str(rep)]) == 0
    got = json.loads(rep.read_text())["dsd"]
    ts = TrainSettings(epochs=2)
    ref = dsd(build("mlp:24", np.random.default_rng(2), digits.n_features, 10), digits, sparsity=0.4, dense=ts,
              sparse=ts, redense=TrainSettings(epochs=2, lr=ts.lr / 10), seed=2, continued=True)
    assert got == pytest.approx(ref)
    capsys.readouterr()
    assert main(["compress", "mlp:24", "--dataset", "digits", "--dsd-baseline", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--dsd-baseline" in err[0] and "--dsd" in err[0]


def test_dsd_sparse_phase_removes_thirty_percent(digits):
    net = build("lenet300", np.random.default_rng(6), digits.n_features, 10)
    train(net, digits, TrainSettings(epochs=2), seed=0)
    apply_sparsity(net, 0.3)
    for layer in net.weighted():
        assert np.count_nonzero(layer.params["W"].value) / layer.params["W"].value.size == pytest.approx(0.7, abs=0.01)


def test_report_hand_worked():
    rng = np.random.default_rng(7)
    net = mlp([4, 3], rng)
    p = net.weighted()[0].params["W"]
    p.value = np.array([[0, 0.5, 0, 0], [0, 0, 0, 0], [1.0, 0, 0, -1.0]], dtype=np.float32)
    share_weights(net, 2)
    rep = compression_report(net, index_bits=2, accuracy_before=0.9, accuracy_after=0.89)
    r = rep.rows.iloc[0]
    # one stream over the 3x4 matrix column by column: col0 -> row2 (z=2); col1 -> row0 (z=0);
    # col3 -> row2 (z=2): 3 entries, no padding, 2 + 2 bits each, codebook 4 x 32 bits
    assert (r["weights"], r["kept"], r["entries"]) == (12, 3, 3)
    assert r["bits_dense"] == 12 * 32
    assert r["bits_pruned_quantized"] == 3 * 4 + 4 * 32
    assert rep.total["accuracy_after"] == 0.89


def test_idx_reader_and_missing_data(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape) + arr.tobytes()
    (tmp_path / "a.idx").write_bytes(raw)
    with gzip.open(tmp_path / "a.idx.gz", "wb") as fh:
        fh.write(raw)
    assert np.array_equal(read_idx(tmp_path / "a.idx"), arr)
    assert np.array_equal(read_idx(tmp_path / "a.idx.gz"), arr)
    (tmp_path / "bad.idx").write_bytes(b"\x00\x00\x09\x01junk")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "bad.idx")
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", tmp_path)
    with pytest.raises(EIEError, match="dataset='cifar'"):
        load_dataset("cifar")


def test_mnist5k_split():
    d = load_dataset("mnist-5k")
    assert d.x_train.shape == (4000, 784) and d.x_test.shape == (1000, 784)
    assert np.bincount(d.y_test).tolist() == [100] * 10
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0


def test_export_golden_within_half_a_point_and_simulator_agrees(digits):
    net = build("lenet300", np.random.default_rng(8), digits.n_features, 10)
    train(net, digits, TrainSettings(epochs=8), seed=0)
    prune(net, digits, sparsity=[0.8, 0.8, 0.5], rounds=2, retrain=TrainSettings(epochs=2, lr=0.005))
    share_weights(net, 4)
    train(net, digits, TrainSettings(epochs=2, lr=0.005, weight_decay=0.0), seed=1)
    model = export_model(net, digits.x_train, name="digits-test")
    fixed = reference_forward_batch(model, digits.x_test)
    acc = float((fixed.argmax(axis=1) == digits.y_test).mean())
    facc = float_accuracy(model, digits.x_test, digits.y_test)
    assert facc == pytest.approx(net.accuracy(digits.x_test, digits.y_test), abs=1e-9)
    assert abs(acc - facc) <= 0.005
    for i in range(5):
        ref = reference_forward(model, digits.x_test[i])
        assert np.array_equal(ref.output_fixed, fixed[i])
        sim = simulate(model, digits.x_test[i], ArchConfig(n_pe=4))
        assert np.array_equal(sim.output_fixed, fixed[i])


def test_cli_compress_and_eval(tmp_path, capsys):
    out = tmp_path / "m.npz"
    rep = tmp_path / "r.json"
    assert main(["compress", "lenet300", "--dataset", "digits", "--dense-epochs", "3", "--prune-rounds", "1",
                 "--retrain-epochs", "1", "--finetune-epochs", "1", "--weight-bits", "3", "--quiet",
                 "--out", str(out), "--json-report", str(rep)]) == 0
    text = capsys.readouterr().out
    assert "after Huffman" in text and "fc1" in text
    r = json.loads(rep.read_text())
    assert r["report"]["ratio_huffman"] > r["report"]["ratio_pruned_quantized"] > 1
    assert main(["eval", str(out), "--dataset", "digits", "--json", "--simulate", "2", "--pes", "4"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["n_samples"] == 359 and 0 <= ev["accuracy"] <= 1 and ev["simulator_matches"] is True
    assert abs(ev["accuracy"] - ev["float_accuracy"]) <= 0.005
    assert ev["cycles_mean"] > 0 and ev["energy_pj_mean"] > 0
    assert main(["compress", "lenet300", "--dataset", "digits", "--sparsity", "1.5", "--quiet"]) == 2
    assert "sparsity=1.5" in capsys.readouterr().err


def test_eval_uses_the_models_dataset_and_refuses_another_unless_forced(tmp_path, capsys):
    out = tmp_path / "m.npz"
    assert main(["compress", "mlp:16", "--dataset", "digits", "--dense-epochs", "1", "--prune-rounds", "1", "--retrain-epochs", "1",
                 "--finetune-epochs", "1", "--quiet", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--json"]) == 0  # no --dataset: the model's own (digits)
    assert json.loads(capsys.readouterr().out)["dataset"] == "digits"
    assert main(["eval", str(out), "--dataset", "mnist-5k"]) == 2
    assert "was trained on digits" in capsys.readouterr().err
