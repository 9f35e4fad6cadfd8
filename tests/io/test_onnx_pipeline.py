"""Compressing imported networks, exporting them back, and onnxruntime / the golden model as references."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import numpy_helper  # noqa: E402
from onnx_nets import mlp, rel_error, run_ort, save  # noqa: E402

from eie_sim import ArchConfig, reference_forward, simulate  # noqa: E402
from eie_sim.contract.golden import error_bound  # noqa: E402
from eie_sim.errors import EIEError  # noqa: E402
from eie_sim.io import DataFileError, ImportSettings, compress_imported, export_onnx, import_onnx, load_data_file  # noqa: E402
from eie_sim.io.onnx_export import onnxruntime_agreement  # noqa: E402
from eie_sim.train.compress import TrainSettings, apply_sparsity, float_accuracy, float_forward, train  # noqa: E402
from eie_sim.train.data import load_dataset  # noqa: E402
from eie_sim.train.nn import mlp as trainer_mlp  # noqa: E402

RTOL = 1e-5
#: Lipschitz constant in the max norm of each output function: |f(a) - f(b)|_inf <= L |a - b|_inf
LIPSCHITZ = {None: 1.0, "sigmoid": 0.25, "tanh": 1.0, "softmax": 0.5}


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _imported(tmp_path, sizes, seed=0, **kw):
    return import_onnx(save(mlp(sizes, np.random.default_rng(seed), **kw), tmp_path / "net.onnx"))


def _golden_bound(model, x):
    """Golden output of one sample and its bound against the float64 chain, propagated layer by
    layer: |golden_l - f_l(a)| <= |W_l| delta_{l-1} + error_bound(layer l, its golden input)."""
    res = reference_forward(model, x)
    delta, a = np.zeros(model.n_inputs), x
    for lay, r in zip(model.layers, res.layers):
        assert not r.acc_saturated and np.abs(r.output_fixed).max() < r.out_format.qmax  # the bound's premise
        w = np.abs(lay.codebook[lay.dense_codes().astype(np.int64)])
        delta = w @ delta + error_bound(lay, a, r)
        a = r.output
    return res.output, delta


@pytest.mark.parametrize("out_fn", [None, "Sigmoid", "Tanh", "Softmax"])
def test_compressed_export_equals_float_view_and_is_within_the_golden_bound(out_fn, tmp_path):
    net = _imported(tmp_path, [64, 48, 32, 10], output_function=out_fn)
    res = compress_imported(net, ImportSettings(weight_bits=4, sparsity=[0.8, 0.7, 0.5]))
    path = export_onnx(res.model, tmp_path / "back.onnx")
    x = np.random.default_rng(1).random((40, 64))
    ort_out = run_ort(path, x)
    assert rel_error(ort_out, float_forward(res.model, x)) <= RTOL
    fn = res.model.meta.get("output_function")
    assert fn == (out_fn.lower() if out_fn else None)
    for i in range(10):
        logits, bound = _golden_bound(res.model, x[i])
        golden = float_forward_of_logits(fn, logits)
        slack = RTOL * np.abs(ort_out[i]).max()  # onnxruntime's float32 against the float64 view
        assert np.all(np.abs(ort_out[i] - golden) <= LIPSCHITZ[fn] * bound.max() + slack)


def float_forward_of_logits(fn, logits):
    from eie_sim.train.compress import apply_output_function

    return apply_output_function(fn, logits[None, :])[0]


def test_export_import_round_trip_keeps_the_shared_weights_exactly(tmp_path):
    net = _imported(tmp_path, [30, 20, 5], seed=2, output_function="Softmax")
    first = compress_imported(net, ImportSettings(weight_bits=[4, 3], sparsity=0.6)).model
    back = import_onnx(export_onnx(first, tmp_path / "rt.onnx"))
    assert back.output_function == "softmax" and [l.name for l in back.layers] == ["fc1", "fc2"]
    again = compress_imported(back, ImportSettings(weight_bits=[4, 3])).model
    for a, b in zip(first.layers, again.layers):
        wa = a.codebook[a.dense_codes().astype(np.int64)].astype(np.float32)
        wb = b.codebook[b.dense_codes().astype(np.int64)]
        assert np.array_equal(wa.astype(np.float64), wb)  # no k-means: the values are the codebook
        assert (a.in_frac, a.w_frac, a.out_frac, a.activation) == (b.in_frac, b.w_frac, b.out_frac, b.activation)


def test_a_layer_with_few_distinct_values_keeps_them_as_its_codebook(tmp_path):
    rng = np.random.default_rng(3)
    model = mlp([12, 9, 4], rng)
    w = rng.choice(np.array([0, 0, -0.5, -0.0625, 0.1, 0.3, 0.75], np.float32), size=(9, 12))
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(w, "W0"))
    net = import_onnx(save(model, tmp_path / "few.onnx"))
    lay = compress_imported(net, ImportSettings(weight_bits=3)).model.layers[0]  # 7 non-zero entries >= 5 values
    assert np.array_equal(lay.codebook[lay.dense_codes().astype(np.int64)], w.astype(np.float64))
    lay2 = compress_imported(net, ImportSettings(weight_bits=2)).model.layers[0]  # 3 entries < 5 values: k-means
    assert np.array_equal(lay2.dense_codes() == 0, w == 0)


def test_an_already_pruned_network_keeps_its_zeros_through_pruning_and_training(tmp_path, digits):
    net = _imported(tmp_path, [64, 40, 10], seed=4, sparsity=0.8)
    zeros = [l.weight == 0 for l in net.layers]
    for settings in (ImportSettings(weight_bits=4, sparsity=0.5, epochs=1, prune_rounds=2),
                     ImportSettings(weight_bits=4, quality=0.1, epochs=1), ImportSettings(weight_bits=4, epochs=1)):
        res = compress_imported(net, settings, digits)
        for lay, z in zip(res.model.layers, zeros):
            assert np.all(lay.dense_codes()[z] == 0)
        assert res.report.total["kept_pct"] <= 20.5
        assert set(res.accuracy) >= {"imported", "compressed"}


def test_sparsity_and_quality_prune_each_layer_without_data(tmp_path):
    net = _imported(tmp_path, [50, 40, 10], seed=5)
    res = compress_imported(net, ImportSettings(weight_bits=4, sparsity=[0.9, 0.5]))
    kept = res.report.rows["kept_pct"].tolist()
    assert kept == pytest.approx([10.0, 50.0], abs=0.1)
    assert res.model.meta["calibration"].startswith("256 uniform")
    res_q = compress_imported(net, ImportSettings(weight_bits=4, quality=1.0))
    for lay, imp in zip(res_q.model.layers, net.layers):  # threshold 1.0 x std: exactly the weights above it
        keep = np.abs(imp.weight) > imp.weight.std()
        assert np.array_equal(lay.dense_codes() != 0, keep)
    with pytest.raises(EIEError, match="sparsity=1.5"):
        compress_imported(net, ImportSettings(sparsity=1.5))
    with pytest.raises(EIEError, match="at most one of sparsity and quality"):
        ImportSettings(sparsity=0.5, quality=1.0)


def test_finetuning_on_data_recovers_what_one_shot_pruning_loses(tmp_path, digits):
    dense = trainer_mlp([64, 64, 10], np.random.default_rng(6), name="digits-mlp")
    train(dense, digits, TrainSettings(epochs=10), seed=0)
    net = import_onnx(export_onnx(dense, tmp_path / "dense.onnx"))
    assert rel_error(net.forward(digits.x_test), dense.forward(digits.x_test).astype(np.float64)) <= RTOL
    settings = ImportSettings(weight_bits=3, sparsity=0.9, epochs=2)
    one_shot = compress_imported(net, settings)
    tuned = compress_imported(net, settings, digits)
    acc_one_shot = float_accuracy(one_shot.model, digits.x_test, digits.y_test)
    assert tuned.accuracy["compressed"] == pytest.approx(float_accuracy(tuned.model, digits.x_test, digits.y_test))
    assert tuned.accuracy["compressed"] > acc_one_shot + 0.02
    assert tuned.model.meta["dataset"] == "digits" and "training inputs of digits" in tuned.model.meta["calibration"]
    for i in range(3):  # the imported, compressed model runs on the cycle model bit-exactly like any other
        sim = simulate(tuned.model, digits.x_test[i], ArchConfig(n_pe=4, weight_bits=3))
        assert np.array_equal(sim.output_fixed, reference_forward(tuned.model, digits.x_test[i]).output_fixed)


def test_onnxruntime_agreement_helper(tmp_path):
    net = _imported(tmp_path, [16, 8, 4], seed=7)
    model = compress_imported(net).model
    path = export_onnx(model, tmp_path / "a.onnx")
    assert onnxruntime_agreement(path, model, np.random.default_rng(0).random((8, 16))) <= RTOL


# ----------------------------------------------------------------------------- data files


def _npz(tmp_path, **arrays):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path


def test_data_file_with_and_without_a_test_split(tmp_path):
    rng = np.random.default_rng(8)
    x, y = rng.random((30, 2, 3)).astype(np.float32), rng.integers(0, 4, 30)
    d = load_data_file(_npz(tmp_path, x=x, y=y), 6, 4)
    assert d.x_train.shape == (30, 6) and d.x_test is d.x_train and "measured on them" in d.note
    d = load_data_file(_npz(tmp_path, x=x, y=y, x_test=x[:5], y_test=y[:5]), 6, 4)
    assert d.x_test.shape == (5, 6) and d.n_classes == 4


@pytest.mark.parametrize("arrays,expect", [
    ({"x": np.zeros((4, 6))}, "expected x and y"),
    ({"x": np.zeros((4, 6)), "y": np.zeros(4, int), "z": np.zeros(1)}, "expected x and y"),
    ({"x": np.zeros((4, 5)), "y": np.zeros(4, int)}, "array 'x' has 5 values per sample"),
    ({"x": np.zeros(4), "y": np.zeros(4, int)}, "array 'x' has shape (4,)"),
    ({"x": np.full((4, 6), np.nan), "y": np.zeros(4, int)}, "array 'x' has NaN"),
    ({"x": np.zeros((4, 6)), "y": np.zeros(3, int)}, "array 'y' has shape (3,)"),
    ({"x": np.zeros((4, 6)), "y": np.zeros(4)}, "array 'y' has shape (4,) and dtype float64"),
    ({"x": np.zeros((4, 6)), "y": np.array([0, 1, 2, 9])}, "labels 0..9; expected 0..3"),
    ({"x": np.zeros((4, 6)), "y": np.zeros(4, int), "x_test": np.zeros((2, 6))}, "optionally x_test and y_test"),
    ({"x": np.array([[object()] * 6] * 4), "y": np.zeros(4, int)}, "cannot be read without pickle"),
], ids=["no-y", "extra", "features", "1-d", "nan", "y-length", "y-float", "labels", "half-test", "pickle"])
def test_bad_data_files_are_refused_naming_the_array(arrays, expect, tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)  # object arrays are pickled by savez; loading refuses them
    with pytest.raises(DataFileError) as err:
        load_data_file(path, 6, 4)
    assert expect in str(err.value) and str(path) in str(err.value)


def test_data_file_not_an_archive(tmp_path):
    (tmp_path / "t.npz").write_text("not a zip")
    with pytest.raises(DataFileError, match="not an .npz archive"):
        load_data_file(tmp_path / "t.npz", 6, 4)
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(DataFileError, match="bare .npy"):
        load_data_file(tmp_path / "a.npy", 6, 4)
    with pytest.raises(DataFileError, match="no such file"):
        load_data_file(tmp_path / "none.npz", 6, 4)


def test_apply_sparsity_keeps_earlier_masks():
    net = trainer_mlp([10, 8, 4], np.random.default_rng(9))
    p = net.weighted()[0].params["W"]
    p.mask = (np.random.default_rng(1).random(p.value.shape) < 0.3).astype(np.float32)
    p.apply_mask()
    apply_sparsity(net, [0.2, 0.2])  # asks for 80% kept; the 70% already masked stay masked
    assert np.all(p.value[p.mask == 0] == 0) and p.mask.mean() <= 0.3
