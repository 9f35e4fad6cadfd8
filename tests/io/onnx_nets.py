"""ONNX test networks built with onnx.helper (no framework), and onnxruntime as the reference."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def make_model(nodes, inits: dict, *, input_shape=("N", 20), input_name="x", output="y", opset=17,
               elem=TensorProto.FLOAT, extra_inputs=(), domains=()) -> onnx.ModelProto:
    """A model of ``nodes`` with initializers ``inits`` (name -> array), one float input and one output."""
    inputs = [helper.make_tensor_value_info(input_name, elem, list(input_shape)), *extra_inputs]
    graph = helper.make_graph(nodes, "test", inputs, [helper.make_tensor_value_info(output, TensorProto.FLOAT, [None, None])],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    return helper.make_model(graph, opset_imports=opsets, ir_version=helper.find_min_ir_version_for(opsets[:1]))


def save(model: onnx.ModelProto, path) -> str:
    onnx.save(model, str(path))
    return str(path)


def run_ort(path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: np.asarray(x, dtype=np.float32)})[0]


def rel_error(got: np.ndarray, ref: np.ndarray) -> float:
    """max |got - ref| / max |ref|: the relative agreement figure used throughout."""
    got = np.asarray(got, dtype=np.float64).reshape(ref.shape)
    return float(np.abs(got - ref).max() / np.abs(ref).max())


def f32(rng, *shape, scale=1.0):
    return (scale * rng.normal(size=shape)).astype(np.float32)


def gemm(name, x, y, w, b=None, **attrs):
    return helper.make_node("Gemm", [x, w] + ([b] if b else []), [y], name=name, **attrs)


def mlp(sizes, rng, *, output_function=None, sparsity=0.0, opset=17, input_shape=None) -> onnx.ModelProto:
    """Gemm (transB=1) + Relu layers of ``sizes``, optionally pruned to ``sparsity`` and ending in
    Sigmoid / Tanh / Softmax, the way a framework exports an nn.Sequential MLP."""
    nodes, inits, cur = [], {}, "x"
    for i in range(len(sizes) - 1):
        w = f32(rng, sizes[i + 1], sizes[i], scale=np.sqrt(2.0 / sizes[i]))
        if sparsity:
            w[rng.random(w.shape) < sparsity] = 0.0
        inits[f"W{i}"], inits[f"b{i}"] = w, f32(rng, sizes[i + 1], scale=0.1)
        nodes.append(gemm(f"fc{i + 1}", cur, f"h{i}", f"W{i}", f"b{i}", transB=1))
        cur = f"h{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [cur], [f"r{i}"], name=f"relu{i + 1}"))
            cur = f"r{i}"
    if output_function:
        extra = {"axis": -1} if output_function == "Softmax" else {}
        nodes.append(helper.make_node(output_function, [cur], ["y"], name="out", **extra))
    else:
        nodes[-1].output[0] = "y"
    return make_model(nodes, inits, input_shape=input_shape or ("N", sizes[0]), opset=opset)
