"""ONNX import + compression time of eie-sim against onnxruntime's own load time of the same file.

For a 784-300-100-10 MLP and a 4096-4096 layer with random weights (built with onnx.helper):
``import`` (read, check, walk the graph), ``compress`` (one-shot pruning to 90% sparsity, 4-bit
k-means weight sharing, the Deep Compression report, fixed-point calibration on synthetic
inputs; no fine-tuning) and ``save`` (the model file), each the best of ``--repeat`` runs, and
onnxruntime's ``InferenceSession`` creation for the same file (ratio = eie-sim import + compress
over onnxruntime's load).

Usage: python benchmarks/bench_onnx_import.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from eie_sim.contract.model import save_model
from eie_sim.io import ImportSettings, compress_imported, import_onnx

SIZES = {"784-300-100-10": [784, 300, 100, 10], "4096-4096": [4096, 4096]}


def build(sizes, path: Path) -> Path:
    rng = np.random.default_rng(0)
    nodes, inits, cur = [], [], "x"
    for i in range(len(sizes) - 1):
        w = (rng.normal(size=(sizes[i + 1], sizes[i])) * np.sqrt(2 / sizes[i])).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(np.zeros(sizes[i + 1], np.float32), f"b{i}")]
        nodes.append(helper.make_node("Gemm", [cur, f"W{i}", f"b{i}"], [f"h{i}"], name=f"fc{i + 1}", transB=1))
        cur = f"h{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [cur], [f"r{i}"], name=f"relu{i + 1}"))
            cur = f"r{i}"
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(nodes, "bench", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", sizes[0]])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", sizes[-1]])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


def best(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    settings = ImportSettings(weight_bits=4, sparsity=0.9)
    with tempfile.TemporaryDirectory() as tmp:
        for label, sizes in SIZES.items():
            path = build(sizes, Path(tmp) / f"{label}.onnx")
            t_ort, _ = best(lambda: ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]), args.repeat)
            t_imp, net = best(lambda: import_onnx(path), args.repeat)
            t_cmp, res = best(lambda: compress_imported(net, settings), args.repeat)
            t_save, _ = best(lambda: save_model(res.model, Path(tmp) / f"{label}.npz"), args.repeat)
            mb = path.stat().st_size / 2**20
            print(f"{label:<15} {mb:6.1f} MB  onnxruntime load {1e3 * t_ort:8.1f} ms   eie-sim import {1e3 * t_imp:8.1f} ms"
                  f"  compress {1e3 * t_cmp:8.1f} ms  (save {1e3 * t_save:7.1f} ms)   "
                  f"import + compress = {(t_imp + t_cmp) / t_ort:5.1f}x onnxruntime load   "
                  f"ratio {res.report.total['ratio_huffman']:.1f}x")


if __name__ == "__main__":
    main()
