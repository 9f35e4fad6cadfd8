"""ONNX CNNs: Conv (+ folded BatchNormalization) + Relu + pooling + Flatten + Gemm imported into
conv + fc models, against onnxruntime in float and in fixed point, exported back, and the graphs
that are not chains (or use unsupported attributes) refused in one line."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import helper  # noqa: E402
from onnx_nets import make_model, rel_error, run_ort, save  # noqa: E402

from eie_sim import reference_forward  # noqa: E402
from eie_sim.cli import main  # noqa: E402
from eie_sim.contract.conv import geometry, patches_of, pool_index  # noqa: E402
from eie_sim.contract.golden import error_bound, reference_forward_batch  # noqa: E402
from eie_sim.io import ImportSettings, compress_imported, export_onnx, import_onnx  # noqa: E402
from eie_sim.io.onnx_import import OnnxImportError  # noqa: E402
from eie_sim.train.compress import float_forward  # noqa: E402

RTOL = 1e-5
LEVELS = np.linspace(-1.0, 1.0, 15).astype(np.float32)  # 15 values: weight sharing keeps them exactly


def node(op, inputs, output, name, **attrs):
    return helper.make_node(op, inputs, [output], name=name, **attrs)


def grid(rng, *shape, scale=1.0):
    """Weights on a 15-level grid (so 4-bit sharing, or 8-bit after BN folding, is lossless)."""
    return (scale * rng.choice(LEVELS, size=shape)).astype(np.float32)


def bn_params(rng, n, p="bn"):
    return {f"{p}.g": rng.uniform(0.5, 1.5, n).astype(np.float32), f"{p}.b": grid(rng, n, scale=0.1),
            f"{p}.m": grid(rng, n, scale=0.1), f"{p}.v": rng.uniform(0.5, 1.5, n).astype(np.float32)}


def cnn_strided(rng):
    """conv stride 2 with asymmetric pads + BN + Relu + MaxPool (stride 1); conv SAME_UPPER 3x2 +
    Relu + padded AveragePool; 1x1 conv + GlobalAveragePool; Flatten; Gemm."""
    nodes = [node("Conv", ["x", "K1", "B1"], "c1", "conv1", strides=[2, 2], pads=[1, 0, 2, 1]),
             node("BatchNormalization", ["c1", "bn.g", "bn.b", "bn.m", "bn.v"], "n1", "bn1"),
             node("Relu", ["n1"], "r1", "relu1"),
             node("MaxPool", ["r1"], "p1", "pool1", kernel_shape=[2, 2], strides=[1, 1]),
             node("Conv", ["p1", "K2"], "c2", "conv2", auto_pad="SAME_UPPER", kernel_shape=[3, 2]),
             node("Relu", ["c2"], "r2", "relu2"),
             node("AveragePool", ["r2"], "p2", "pool2", kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 0, 0]),
             node("Conv", ["p2", "K3", "B3"], "c3", "conv3", kernel_shape=[1, 1]),
             node("GlobalAveragePool", ["c3"], "g3", "gap"),
             node("Flatten", ["g3"], "f", "flat"),
             node("Gemm", ["f", "W", "b"], "y", "fc", transB=1)]
    inits = {"K1": grid(rng, 4, 2, 3, 3, scale=0.5), "B1": grid(rng, 4, scale=0.1), **bn_params(rng, 4),
             "K2": grid(rng, 6, 4, 3, 2, scale=0.5), "K3": grid(rng, 5, 6, 1, 1, scale=0.5), "B3": grid(rng, 5, scale=0.1),
             "W": grid(rng, 3, 5), "b": grid(rng, 3, scale=0.1)}
    return make_model(nodes, inits, input_shape=("N", 2, 11, 10)), (2, 11, 10)


def cnn_same_lower(rng):
    """conv SAME_LOWER stride 2 + Relu + MaxPool 3x3/2 ceil_mode=1; VALID conv + MaxPool then Relu
    (they commute); Reshape to [0, -1]; Gemm + Relu + Gemm."""
    nodes = [node("Conv", ["x", "K1", "B1"], "c1", "conv1", auto_pad="SAME_LOWER", strides=[2, 2], kernel_shape=[4, 4]),
             node("Relu", ["c1"], "r1", "relu1"),
             node("MaxPool", ["r1"], "p1", "pool1", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
             node("Conv", ["p1", "K2", "B2"], "c2", "conv2", auto_pad="VALID"),
             node("MaxPool", ["c2"], "p2", "pool2", kernel_shape=[2, 2], strides=[1, 1]),
             node("Relu", ["p2"], "r2", "relu2"),
             node("Reshape", ["r2", "shape"], "f", "flat"),
             node("Gemm", ["f", "W1", "b1"], "h", "fc1", transB=1),
             node("Relu", ["h"], "hr", "relu3"),
             node("Gemm", ["hr", "W2", "b2"], "y", "fc2", transB=1)]
    inits = {"K1": grid(rng, 3, 1, 4, 4, scale=0.5), "B1": grid(rng, 3, scale=0.1), "K2": grid(rng, 4, 3, 2, 2, scale=0.5),
             "B2": grid(rng, 4, scale=0.1), "shape": np.array([0, -1], np.int64), "W1": grid(rng, 6, 16, scale=0.5),
             "b1": grid(rng, 6, scale=0.1), "W2": grid(rng, 4, 6), "b2": grid(rng, 4, scale=0.1)}
    return make_model(nodes, inits, input_shape=("N", 1, 17, 16)), (1, 17, 16)


def cnn_normalised(rng):
    """(x - 0.5) / 0.25 folded into an unpadded conv, its bias as an Add [1, C, 1, 1], BN, Relu,
    AveragePool 2x2/2 with ceil_mode=1; Flatten; MatMul + Add."""
    nodes = [node("Sub", ["x", "mean"], "xs", "sub"), node("Div", ["xs", "std"], "xn", "div"),
             node("Conv", ["xn", "K1"], "c1", "conv1", strides=[1, 2]),
             node("Add", ["c1", "bias"], "cb", "conv1_bias"),
             node("BatchNormalization", ["cb", "bn.g", "bn.b", "bn.m", "bn.v"], "n1", "bn1"),
             node("Relu", ["n1"], "r1", "relu1"),
             node("AveragePool", ["r1"], "p1", "pool1", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
             node("Flatten", ["p1"], "f", "flat"),
             node("MatMul", ["f", "W"], "m", "fc"), node("Add", ["m", "b"], "y", "fc_bias")]
    inits = {"mean": np.array(0.5, np.float32), "std": np.array(0.25, np.float32), "K1": grid(rng, 3, 2, 3, 3, scale=0.25),
             "bias": grid(rng, 1, 3, 1, 1, scale=0.1), **bn_params(rng, 3), "W": grid(rng, 3 * 4 * 2, 5),
             "b": grid(rng, 5, scale=0.1)}
    return make_model(nodes, inits, input_shape=("N", 2, 9, 9)), (2, 9, 9)


NETS = [cnn_strided, cnn_same_lower, cnn_normalised]
IDS = [f.__name__ for f in NETS]


def _setup(build, tmp_path, n=16):
    rng = np.random.default_rng(7)
    proto, shape = build(rng)
    path = save(proto, tmp_path / "cnn.onnx")
    x = np.random.default_rng(1).random((n, int(np.prod(shape))))
    return path, x, run_ort(path, x.reshape(n, *shape)).astype(np.float64), shape


def _model(net):
    """Imported with the mildest setting: no pruning, 8-bit sharing (lossless on these grids)."""
    return compress_imported(net, ImportSettings(weight_bits=8)).model


@pytest.mark.parametrize("build", NETS, ids=IDS)
def test_float_forward_equals_onnxruntime(build, tmp_path):
    path, x, ref, _ = _setup(build, tmp_path)
    net = import_onnx(path)
    assert rel_error(net.forward(x), ref) <= RTOL  # the trainer network (float32)
    model = _model(net)
    assert [lay.spec.name for lay in model.layers].count("conv") == sum(1 for lay in net.layers if lay.conv) >= 1
    assert rel_error(float_forward(model, x), ref) <= RTOL  # the model's float view (conv_float, fc)


def _golden_bound(model, x):
    """Golden output of one sample and its bound against the float64 chain, layer by layer: per
    conv position |W| delta_patch + error_bound(patch); max over each pool window (+ half an
    output LSB for the average's rounding); for fc |W| delta + error_bound."""
    res = reference_forward(model, x)
    delta, a = np.zeros(model.n_inputs), np.asarray(x, np.float64)
    for lay, r in zip(model.layers, res.layers):
        assert not r.acc_saturated and np.abs(r.output_fixed).max() < r.out_format.qmax  # the bound's premise
        w = np.abs(lay.codebook[lay.dense_codes().astype(np.int64)])
        if lay.spec.name == "conv":
            g = geometry(lay)
            pa, pd = patches_of(lay, a[None])[0], patches_of(lay, delta[None])[0]
            e = np.stack([w @ pd[p] + error_bound(lay, pa[p], r) for p in range(g.positions)], axis=1)
            if g.pool != "none":
                idx = pool_index(g)
                e = np.where(idx >= 0, e[:, np.where(idx >= 0, idx, 0)], 0.0).max(axis=-1)
                if g.pool == "avg":
                    e = e + np.ldexp(1.0, -(r.out_format.frac + 1))
            delta = e.reshape(-1)
        else:
            delta = w @ delta + error_bound(lay, a, r)
        a = r.output
    return res.output, delta


@pytest.mark.parametrize("settings", [{"weight_bits": 8}, {"weight_bits": 4, "sparsity": 0.5}], ids=["mild", "4bit-pruned"])
@pytest.mark.parametrize("build", NETS, ids=IDS)
def test_fixed_point_golden_within_its_bound_of_onnxruntime(build, settings, tmp_path):
    path, x, _, shape = _setup(build, tmp_path)
    model = compress_imported(import_onnx(path), ImportSettings(**settings)).model
    back = export_onnx(model, tmp_path / "back.onnx")
    ort_out = run_ort(back, x.reshape(len(x), *shape)).astype(np.float64)
    batch = np.ldexp(reference_forward_batch(model, x).astype(np.float64), -model.layers[-1].out_frac)
    worst = 0.0
    for i in range(len(x)):
        out, bound = _golden_bound(model, x[i])
        assert np.array_equal(out, batch[i])  # the batch golden step equals the per-sample one
        slack = RTOL * np.abs(ort_out[i]).max()
        assert np.all(np.abs(ort_out[i] - out) <= bound + slack)
        worst = max(worst, float(np.abs(ort_out[i] - out).max()))
    assert worst > 0.0  # fixed point is not float


@pytest.mark.parametrize("build", NETS, ids=IDS)
def test_round_trip_import_export_onnxruntime(build, tmp_path):
    path, x, ref, shape = _setup(build, tmp_path)
    model = _model(import_onnx(path))
    back = export_onnx(model, tmp_path / "back.onnx")
    got = run_ort(back, x.reshape(len(x), *shape))
    assert rel_error(got, float_forward(model, x)) <= RTOL
    assert rel_error(got, ref) <= RTOL  # lossless sharing: the original network back
    again = _model(import_onnx(back))  # the export reads back as the same layers
    assert [l.params for l in again.layers] == [l.params for l in model.layers]
    assert rel_error(float_forward(again, x), ref) <= RTOL


def test_cli_import_then_run_eval_and_export(tmp_path, capsys):
    """A digits-shaped CNN (1x8x8 -> conv 4@3x3 pad 1 + Relu + MaxPool 2 -> fc 10) through the CLI."""
    rng = np.random.default_rng(0)
    nodes = [node("Conv", ["x", "K", "B"], "c", "conv1", pads=[1, 1, 1, 1]), node("Relu", ["c"], "r", "relu1"),
             node("MaxPool", ["r"], "p", "pool1", kernel_shape=[2, 2], strides=[2, 2]), node("Flatten", ["p"], "f", "flat"),
             node("Gemm", ["f", "W", "b"], "y", "fc", transB=1)]
    inits = {"K": grid(rng, 4, 1, 3, 3, scale=0.5), "B": grid(rng, 4, scale=0.1), "W": grid(rng, 10, 64, scale=0.2),
             "b": grid(rng, 10, scale=0.1)}
    src, out, back = save(make_model(nodes, inits, input_shape=("N", 1, 8, 8)), tmp_path / "cnn.onnx"), \
        tmp_path / "m.npz", tmp_path / "back.onnx"
    assert main(["import", src, "-o", str(out), "--sparsity", "0.3", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "1 conv layer(s) on 1x8x8 (conv1 4x3x3 relu maxpool -> 4x4x4)" in text and f"wrote {out}" in text
    assert main(["run", str(out), "--pes", "4"]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--dataset", "digits", "--json", "--simulate", "2", "--pes", "4"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["simulator_matches"] is True
    assert main(["export", str(out), "-o", str(back), "--check", "10"]) == 0
    text = capsys.readouterr().out
    assert "Conv / Gemm layer(s) 64 -> 64 -> 10" in text and "max relative difference" in text


# ----------------------------------------------------------------------------- refusals


def _base(rng, conv_attrs=None, k_shape=(4, 2, 3, 3), extra=(), inits=None, relu_in=None):
    """x [N, 2, 8, 8] -> conv1 -> relu1 -> [extra nodes from "r"] -> Flatten -> Gemm."""
    conv = node("Conv", ["x", "K"], "c", "conv1", **(conv_attrs or {}))
    nodes = [conv, node("Relu", ["c"], "r", "relu1"), *extra]
    last = nodes[-1].output[0]
    nodes += [node("Flatten", [last], "f", "flat"), node("Gemm", ["f", "W"], "y", "fc", transB=1)]
    return make_model(nodes, {"K": grid(rng, *k_shape), "W": grid(rng, 3, 1), **(inits or {})}, input_shape=("N", 2, 8, 8))


def r_group(rng):
    return _base(rng, {"group": 2}, k_shape=(4, 1, 3, 3))


def r_dilation(rng):
    return _base(rng, {"dilations": [2, 2]})


def r_residual(rng):
    return _base(rng, {"pads": [1, 1, 1, 1]}, extra=[node("Conv", ["r", "K2"], "c2", "conv2", pads=[1, 1, 1, 1]),
                                                     node("Add", ["c2", "r"], "s", "residual")],
                 inits={"K2": grid(rng, 4, 4, 3, 3)})


def r_concat(rng):
    return _base(rng, extra=[node("Relu", ["r"], "r2", "relu2"), node("Concat", ["r", "r2"], "cat", "concat", axis=1)])


def r_read_twice(rng):
    return _base(rng, extra=[node("Relu", ["r"], "r2", "relu2"), node("Mul", ["r", "r"], "sq", "square")])


def r_include_pad(rng):
    return _base(rng, extra=[node("AveragePool", ["r"], "p", "pool1", kernel_shape=[2, 2], pads=[1, 1, 1, 1],
                                  count_include_pad=1)])


def r_relu_after_avg(rng):
    model = _base(rng, extra=[node("AveragePool", ["c"], "p", "pool1", kernel_shape=[2, 2]),
                              node("Relu", ["p"], "rp", "relu2")])
    del model.graph.node[1]  # conv1 -> pool1 -> relu2
    return model


def r_pool_pads(rng):
    return _base(rng, extra=[node("MaxPool", ["r"], "p", "pool1", kernel_shape=[2, 2], pads=[2, 0, 0, 0])])


def r_bn_after_relu(rng):
    return _base(rng, extra=[node("BatchNormalization", ["r", "bn.g", "bn.b", "bn.m", "bn.v"], "n", "bn1")],
                 inits=bn_params(rng, 4))


def r_conv1d(rng):
    nodes = [node("Conv", ["x", "K"], "c", "conv1"), node("Flatten", ["c"], "f", "flat"),
             node("Gemm", ["f", "W"], "y", "fc", transB=1)]
    return make_model(nodes, {"K": grid(rng, 4, 2, 3), "W": grid(rng, 3, 24)}, input_shape=("N", 2, 8))


REFUSED = [
    (r_group, "node 'conv1' (Conv) has group=2; expected group=1"),
    (r_dilation, "node 'conv1' (Conv) has dilations=[2, 2]; expected [1, 1]"),
    (r_residual, "node 'residual' (Add) joins two branches ['c2', 'r']; eie-sim imports chains only"),
    (r_concat, "node 'concat' (Concat) concatenates 2 tensors ['r', 'r2']; eie-sim imports chains only"),
    (r_read_twice, "tensor 'r' is read by 2 nodes ['relu2', 'square']; eie-sim imports chains only"),
    (r_include_pad, "node 'pool1' (AveragePool) has count_include_pad=1 with padding [1, 1, 1, 1]"),
    (r_relu_after_avg, "node 'relu2' (Relu) follows an average pool; expected Relu before the pooling"),
    (r_pool_pads, "node 'pool1' (MaxPool) has pads=[2, 0, 0, 0]; expected each side smaller than the kernel [2, 2]"),
    (r_bn_after_relu, "node 'bn1' (BatchNormalization) follows a Relu or a pool"),
    (r_conv1d, "node 'conv1' (Conv) gets a tensor of shape [batch, 2, 8]; expected [batch, C, H, W]"),
]


@pytest.mark.parametrize("build,expect", REFUSED, ids=[b.__name__[2:] for b, _ in REFUSED])
def test_refusals_are_one_line_on_the_command_line(build, expect, tmp_path, capsys):
    path = save(build(np.random.default_rng(3)), tmp_path / "bad.onnx")
    with pytest.raises(OnnxImportError) as exc:
        import_onnx(path)
    assert expect in str(exc.value) and "\n" not in str(exc.value)
    assert main(["import", path, "-o", str(tmp_path / "m.npz")]) != 0
    err = capsys.readouterr().err
    assert err.startswith("eie-sim: error:") and err.count("\n") == 1 and expect in err and "Traceback" not in err
    assert not (tmp_path / "m.npz").exists()


def test_trainer_conv_and_pool_gradients_match_finite_differences():
    """GeneralConv2D (stride, asymmetric padding) and Pool2D (max, avg with padding) backward."""
    from eie_sim.train.nn_conv import GeneralConv2D, Pool2D

    rng = np.random.default_rng(0)
    conv = GeneralConv2D(rng.normal(size=(3, 2, 3, 2)), rng.normal(size=3), stride=(2, 1), padding=(1, 0, 2, 1))
    layers = [conv, Pool2D("max", (2, 2), (1, 2), (0, 1, 1, 0)), Pool2D("avg", (2, 2), (1, 1), (1, 1, 0, 0))]
    x = rng.normal(size=(2, 2, 7, 6)).astype(np.float32)

    def loss(xv):
        h = xv
        for lay in layers:
            h = lay.forward(h, True)
        return h

    out = loss(x)
    g = rng.normal(size=out.shape).astype(np.float32)
    grad = g
    for lay in reversed(layers):
        grad = lay.backward(grad)
    eps = 1e-2
    for _ in range(12):
        i = tuple(rng.integers(0, s) for s in x.shape)
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        num = float(((loss(xp) - loss(xm)) * g).sum() / (2 * eps))
        assert abs(num - grad[i]) <= 2e-2 * max(1.0, abs(num))
