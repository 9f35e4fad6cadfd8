"""Input calibration of ``eie-sim import`` without data: the golden model against onnxruntime
when the inputs lie outside the assumed [0, 1] range, with and without ``--input-range``.

Two networks, built here (seeded):
* ``pixels``: the shipped LeNet-300-100 (Fashion-MNIST) exported to ONNX with its first layer's
  weights divided by 255, so it expects raw 0..255 pixels; scored on the Fashion-MNIST test set
  (x 255) when the Debian package dataset-fashion-mnist is installed, else on seeded pixels.
* ``normal``: a 20-16-8-5 MLP (random weights) fed standard-normal inputs, imported with 8-bit
  shared weights (256 values for 320 or fewer weights a layer, so sharing adds almost no error).
Each is imported without any calibration option (formats for [0, 1]) and with the range its
inputs really have; the lines give the golden model's max |error| / max |y| against onnxruntime,
the accuracy (labelled data only), and the saturation counts the golden model reports.

    python benchmarks/import_calibration.py [--samples N]
"""

from __future__ import annotations

import argparse
import contextlib
import io as _io
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from eie_sim.cli import main
from eie_sim.contract.golden import reference_forward_batch
from eie_sim.contract.model import load_model
from eie_sim.contract.saturation import POINTS
from eie_sim.io import model_to_onnx, save_onnx
from eie_sim.train.data import FASHION_DIR, load_dataset

ROOT = Path(__file__).resolve().parents[1]


def _normal_mlp(path: Path, rng) -> None:
    sizes = [20, 16, 8, 5]
    nodes, inits, prev = [], [], "x"
    for i in range(len(sizes) - 1):
        w = rng.normal(0, 1 / np.sqrt(sizes[i]), (sizes[i], sizes[i + 1])).astype(np.float32)
        b = rng.normal(0, 0.1, sizes[i + 1]).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("Gemm", [prev, f"W{i}", f"b{i}"], [f"h{i}"]))
        prev = f"h{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [prev], [prev + "r"]))
            prev += "r"
    g = helper.make_graph(nodes, "normal", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 20])],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [None, 5])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def _pixel_mlp(path: Path) -> None:
    proto = model_to_onnx(load_model(ROOT / "models" / "lenet300-fashion.npz"))
    first = next(n for n in proto.graph.node if n.op_type == "Gemm")
    for init in proto.graph.initializer:
        if init.name == first.input[1]:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) / np.float32(255), init.name))
    save_onnx(proto, path)


def _import(onnx_path: Path, out: Path, extra: list[str]) -> str:
    err = _io.StringIO()
    with contextlib.redirect_stdout(_io.StringIO()), contextlib.redirect_stderr(err):
        assert main(["import", str(onnx_path), "-o", str(out), "--quiet", *extra]) == 0
    return err.getvalue()


def _line(name: str, how: str, onnx_path: Path, model_path: Path, x: np.ndarray, y) -> str:
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0].astype(np.float64)
    model = load_model(model_path)
    q, counts = reference_forward_batch(model, x, saturation=True)
    out = np.ldexp(q.astype(np.float64), -model.layers[-1].out_frac)
    err = float(np.abs(out - ref).max() / np.abs(ref).max())
    acc = "" if y is None else (f"accuracy golden {100 * np.mean(out.argmax(1) == y):.2f}% "
                                f"onnxruntime {100 * np.mean(ref.argmax(1) == y):.2f}%  ")
    tot = counts.sum(axis=(0, 1))
    sat = ", ".join(f"{p} {int(v):,}" for p, v in zip(POINTS, tot) if v) or "none"
    frac = float((counts.reshape(len(x), -1).sum(1) > 0).mean())
    return (f"{name:<7} {how:<26} in Q16.{model.layers[0].in_frac:<3} max|err|/max|y| {err:.2e}  {acc}"
            f"saturated: {sat} ({100 * frac:.1f}% of {len(x)} inputs)")


def run(samples: int) -> list[str]:
    rng = np.random.default_rng(0)
    lines = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        _pixel_mlp(d / "pixels.onnx")
        _normal_mlp(d / "normal.onnx", rng)
        if (FASHION_DIR / "t10k-images-idx3-ubyte.gz").exists():
            data = load_dataset("fashion-mnist")
            xp, yp = data.x_test[:samples] * 255.0, data.y_test[:samples]
        else:
            xp, yp = rng.integers(0, 256, (samples, 784)).astype(np.float64), None
        xn = rng.normal(size=(samples, 20))
        for name, x, y, rng_args in (("pixels", xp, yp, ["0", "255"]), ("normal", xn, None, ["-4", "4"])):
            for how, extra in (("no calibration option", []), (f"--input-range {' '.join(rng_args)}", ["--input-range", *rng_args])):
                wb = ["--weight-bits", "8"] if name == "normal" else []  # 256 shared values: ~ the float weights
                note = _import(d / f"{name}.onnx", d / f"{name}.npz", extra + wb)
                lines.append(_line(name, how, d / f"{name}.onnx", d / f"{name}.npz", x, y))
                if not extra:
                    lines.append("        " + next((l for l in note.splitlines() if l.startswith("note:")), "(no note)"))
    return lines


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2000)
    for line in run(ap.parse_args().samples):
        print(line)
