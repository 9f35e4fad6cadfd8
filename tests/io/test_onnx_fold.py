"""Input normalisation (Sub / Div / Mul / Add by constants before the first layer) is folded into
the first layer: the imported float view equals onnxruntime on the normalising graph, and the
golden model, calibrated with the raw input range, is close to it."""

import numpy as np
import pytest
from onnx import helper

from eie_sim.cli import main
from eie_sim.contract.golden import reference_forward_batch
from eie_sim.contract.model import load_model
from eie_sim.io import import_onnx

from onnx_nets import f32, gemm, make_model, rel_error, run_ort, save


def _net(pre, inits, rng):
    """``pre`` (nodes from x to 'p'), then Gemm 20 -> 16, Relu, Gemm 16 -> 5."""
    inits = dict(inits, W0=f32(rng, 16, 20, scale=0.3), b0=f32(rng, 16, scale=0.1), W1=f32(rng, 5, 16, scale=0.3),
                 b1=f32(rng, 5, scale=0.1))
    nodes = pre + [gemm("fc1", "p", "h", "W0", "b0", transB=1), helper.make_node("Relu", ["h"], ["r"], name="relu"),
                   gemm("fc2", "r", "y", "W1", "b1", transB=1)]
    return make_model(nodes, inits)


MEAN = np.linspace(100, 150, 20).astype(np.float32)
STD = np.linspace(40, 80, 20).astype(np.float32)
CASES = {
    "(x - mean) / std": ([helper.make_node("Sub", ["x", "mean"], ["c"], name="sub"),
                          helper.make_node("Div", ["c", "std"], ["p"], name="div")], {"mean": MEAN, "std": STD}),
    "x * s + t (scalars)": ([helper.make_node("Mul", ["x", "s"], ["c"], name="mul"),
                             helper.make_node("Add", ["c", "t"], ["p"], name="add")],
                            {"s": np.float32(1 / 255), "t": np.float32(-0.5)}),
    "c - x": ([helper.make_node("Sub", ["m", "x"], ["p"], name="flip")], {"m": MEAN}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_folded_import_matches_onnxruntime(tmp_path, case):
    rng = np.random.default_rng(0)
    pre, consts = CASES[case]
    path = save(_net(pre, consts, rng), tmp_path / "n.onnx")
    x = np.random.default_rng(1).uniform(0, 255, (64, 20))
    ref = run_ort(path, x)
    net = import_onnx(path)
    assert [l.name for l in net.layers] == ["fc1", "fc2"]
    assert rel_error(net.forward(x), ref) < 1e-5  # float view of the folded layers
    out = tmp_path / "m.npz"
    assert main(["import", path, "-o", str(out), "--weight-bits", "8", "--input-range", "0", "255", "--quiet"]) == 0
    model = load_model(out)
    q, counts = reference_forward_batch(model, x, saturation=True)
    assert counts.sum() == 0
    assert rel_error(np.ldexp(q.astype(np.float64), -model.layers[-1].out_frac), ref) < 0.02  # 8-bit weight sharing


@pytest.mark.parametrize("pre, consts, match", [
    ([helper.make_node("Div", ["d", "x"], ["p"], name="inv")], {"d": MEAN}, "only x / c is folded"),
    ([helper.make_node("Div", ["x", "z"], ["p"], name="dz")], {"z": np.zeros(20, np.float32)}, "divides the input by zero"),
    ([helper.make_node("Mul", ["x", "v"], ["p"], name="mv")], {"v": np.ones(7, np.float32)}, "one value per input feature"),
])
def test_unfoldable_normalisation_is_refused(tmp_path, capsys, pre, consts, match):
    path = save(_net(pre, consts, np.random.default_rng(0)), tmp_path / "n.onnx")
    assert main(["import", path, "-o", str(tmp_path / "m.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0], err


def test_mul_after_the_first_layer_is_refused(tmp_path, capsys):
    rng = np.random.default_rng(0)
    nodes = [gemm("fc1", "x", "h", "W0", "b0", transB=1), helper.make_node("Mul", ["h", "s"], ["y"], name="late")]
    path = save(make_model(nodes, {"W0": f32(rng, 5, 20), "b0": f32(rng, 5), "s": np.float32(2)}), tmp_path / "n.onnx")
    assert main(["import", path, "-o", str(tmp_path / "m.npz")]) == 2
    assert "comes after the first layer" in capsys.readouterr().err
