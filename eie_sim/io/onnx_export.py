"""Write eie-sim models (and dense trainer networks) as float ONNX models.

The exported graph: input ``input`` of shape [N, inputs] (N symbolic), then per layer a
``Gemm`` named after the layer (``transB=1``, weight ``<layer>.weight`` of shape [outputs,
inputs], bias ``<layer>.bias``) and a ``Relu`` where the layer has one, then the model's output
function (``meta["output_function"]``: Sigmoid, Tanh or Softmax on the last axis), output
``output``. Weights are float32: for a compressed model the shared values ``codebook[codes]``
(the float view of :func:`eie_sim.train.compress.float_forward`), for a trainer network its
current weights. A sequence model (an ``lstm`` first layer) reads ``input`` [T, N, X]
(T = ``meta["sequence"]["steps"]``) with an ``LSTM`` node named after the layer (forward,
default activations; W, R and B = [Wb, 0] from the gate matrix, gates reordered from eie-sim's
i, f, g, o to ONNX's i, o, f, c), whose Y_h is squeezed to [N, H] for the Gemm layers. A conv
layer is a ``Conv`` (weight ``<layer>.weight`` [C_out, C_in, kh, kw] of the shared values, pads
top, left, bottom, right), its ``Relu``, its ``MaxPool`` / ``AveragePool`` (count_include_pad=0)
and, before a Gemm or the output, a ``Flatten`` (channel-major, as the conv kind lays out its
outputs); a conv model's input is [N, C, H, W]. Opset 17, IR
version 8; the file is checked with ``onnx.checker`` and written atomically (temporary file in
the same folder, then rename).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .._version import __version__
from ..contract.conv import geometry
from ..contract.model import Model
from ..errors import EIEError, describe
from ..train.compress import OUTPUT_FUNCTIONS, dense_activations, float_forward
from ..train.nn import Conv2D, Network

__all__ = ["OnnxExportError", "OPSET", "model_to_onnx", "network_to_onnx", "save_onnx", "export_onnx", "onnxruntime_agreement"]

OPSET = 17
_NODE = {"sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax"}


class OnnxExportError(EIEError):
    """A model that cannot be written as ONNX, or a file that cannot be written."""


_EIE_TO_ONNX_GATES = (0, 3, 1, 2)  # ONNX i, o, f, c = eie-sim blocks i (0), o (3), f (1), g (2)


def _lstm_nodes(lname: str, w: np.ndarray, hidden: int, cur: str, nodes: list, inits: list) -> str:
    """An ONNX LSTM of the eie-sim gate matrix ``w`` (4H, X + H + 1) on ``cur`` (the graph's
    input), Y_h squeezed to [N, H]; returns the name of that output."""
    H = hidden
    X = w.shape[1] - H - 1
    blocks = lambda m: np.concatenate([m[g * H : (g + 1) * H] for g in _EIE_TO_ONNX_GATES])  # noqa: E731
    w = blocks(np.asarray(w, dtype=np.float32))
    arrays = {"W": w[None, :, :X], "R": w[None, :, X : X + H],
              "B": np.concatenate([w[:, -1], np.zeros(4 * H, np.float32)])[None], "squeeze_axes": np.array([0])}
    for k, v in arrays.items():
        inits.append(numpy_helper.from_array(np.ascontiguousarray(v), f"{lname}.{k}"))
    nodes.append(helper.make_node("LSTM", [cur, f"{lname}.W", f"{lname}.R", f"{lname}.B"], ["", f"{lname}.Y_h"],
                                  name=lname, hidden_size=H))
    nodes.append(helper.make_node("Squeeze", [f"{lname}.Y_h", f"{lname}.squeeze_axes"], [f"{lname}.h"],
                                  name=f"{lname}_last_h"))
    return f"{lname}.h"


def _gemm_nodes(lname: str, w: np.ndarray, b, activation: str, cur: str, nodes: list, inits: list) -> str:
    """Gemm (and Relu) of a fully connected layer ``w`` [out, in] float32 on ``cur``; returns its output's name."""
    cur = _rows(cur, nodes)
    inits.append(numpy_helper.from_array(np.ascontiguousarray(w, dtype=np.float32), f"{lname}.weight"))
    inputs = [cur, f"{lname}.weight"]
    if b is not None:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(b, dtype=np.float32), f"{lname}.bias"))
        inputs.append(f"{lname}.bias")
    nodes.append(helper.make_node("Gemm", inputs, [f"{lname}.out"], name=lname, transB=1))
    cur = f"{lname}.out"
    if activation == "relu":
        nodes.append(helper.make_node("Relu", [cur], [f"{lname}.relu"], name=f"{lname}_relu"))
        cur = f"{lname}.relu"
    return cur


def _conv_nodes(lay, cur: str, nodes: list, inits: list) -> str:
    """Conv (+ Relu, + MaxPool / AveragePool with count_include_pad=0) of a conv layer on ``cur``
    (the graph input [N, C, H, W], a previous conv layer's maps, or an [N, n] output, reshaped)."""
    g, lname = geometry(lay), lay.name
    if cur != "input" and not _is_map(cur, nodes):
        inits.append(numpy_helper.from_array(np.array([-1, g.c_in, g.h, g.w], np.int64), f"{lname}.in_shape"))
        nodes.append(helper.make_node("Reshape", [cur, f"{lname}.in_shape"], [f"{lname}.in"], name=f"{lname}_maps"))
        cur = f"{lname}.in"
    w = _shared(lay).reshape(g.c_out, g.c_in, g.kh, g.kw)
    inits.append(numpy_helper.from_array(np.ascontiguousarray(w, dtype=np.float32), f"{lname}.weight"))
    inputs = [cur, f"{lname}.weight"]
    if lay.bias is not None:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(lay.bias, dtype=np.float32), f"{lname}.bias"))
        inputs.append(f"{lname}.bias")
    pt, pl, pb, pr = g.padding
    nodes.append(helper.make_node("Conv", inputs, [f"{lname}.out"], name=lname, kernel_shape=[g.kh, g.kw],
                                  strides=list(g.stride), pads=[pt, pl, pb, pr]))
    cur = f"{lname}.out"
    if lay.activation == "relu":
        nodes.append(helper.make_node("Relu", [cur], [f"{lname}.relu"], name=f"{lname}_relu"))
        cur = f"{lname}.relu"
    if g.pool != "none":
        qt, ql, qb, qr = g.pool_padding
        op, extra = ("MaxPool", {}) if g.pool == "max" else ("AveragePool", {"count_include_pad": 0})
        nodes.append(helper.make_node(op, [cur], [f"{lname}.pool"], name=f"{lname}_pool", kernel_shape=list(g.pool_kernel),
                                      strides=list(g.pool_stride), pads=[qt, ql, qb, qr], **extra))
        cur = f"{lname}.pool"
    return cur


_MAP_OPS = ("Conv", "MaxPool", "AveragePool")


def _is_map(cur: str, nodes: list) -> bool:
    """Whether ``cur`` is a conv layer's [N, C, H, W] output (a Conv or pool, then maybe a Relu)."""
    made = {o: n for n in nodes for o in n.output}
    n = made.get(cur)
    while n is not None and n.op_type == "Relu":
        n = made.get(n.input[0])
    return n is not None and n.op_type in _MAP_OPS


def _rows(cur: str, nodes: list) -> str:
    """``cur`` as [N, n]: a Flatten (channel-major, the conv kind's layout) after a conv layer."""
    if not _is_map(cur, nodes):
        return cur
    nodes.append(helper.make_node("Flatten", [cur], [f"{cur}.flat"], name=f"{nodes[-1].name}_flatten", axis=1))
    return f"{cur}.flat"


def _conv_input(lay) -> list:
    g = geometry(lay)
    return ["N", g.c_in, g.h, g.w]


def _shared(lay) -> np.ndarray:
    return lay.codebook[lay.dense_codes().astype(np.int64)]


def _steps(model: Model):
    steps = model.meta.get("sequence", {}).get("steps")
    return "T" if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1 else steps  # "T": symbolic


#: per layer kind: (the graph input's shape when the kind is first, the nodes of a layer of the kind)
_KIND_ONNX = {
    "fc": (lambda lay, model: ["N", lay.n_in],
           lambda lay, cur, nodes, inits: _gemm_nodes(lay.name, _shared(lay), lay.bias, lay.activation, cur, nodes, inits)),
    "lstm": (lambda lay, model: [_steps(model), "N", lay.n_in],
             lambda lay, cur, nodes, inits: _lstm_nodes(lay.name, _shared(lay), lay.hidden, cur, nodes, inits)),
    "conv": (lambda lay, model: _conv_input(lay), _conv_nodes),
}


def _graph(name: str, in_shape: list, n_out: int, writers: list, output_function: str | None,
           doc: str) -> onnx.ModelProto:
    """The ONNX model of the layer ``writers`` (each ``(cur, nodes, inits) -> output name``) on an
    input of ``in_shape``, with ``n_out`` outputs, then ``output_function``."""
    if output_function is not None and output_function not in OUTPUT_FUNCTIONS:
        raise OnnxExportError(f"output_function={describe(output_function)}: expected None or one of {OUTPUT_FUNCTIONS}")
    nodes, inits = [], []
    cur = "input"
    for write in writers:
        cur = write(cur, nodes, inits)
    cur = _rows(cur, nodes)
    if output_function is not None:
        extra = {"axis": -1} if output_function == "softmax" else {}
        nodes.append(helper.make_node(_NODE[output_function], [cur], ["output"], name=output_function, **extra))
    else:
        nodes[-1].output[0] = "output"
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", n_out])],
        initializer=inits, doc_string=doc,
    )
    opset = [helper.make_opsetid("", OPSET)]
    proto = helper.make_model(graph, opset_imports=opset, producer_name="eie-sim", producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for(opset))
    onnx.checker.check_model(proto)
    return proto


def model_to_onnx(model: Model) -> onnx.ModelProto:
    """A compressed eie-sim :class:`Model` as a float ONNX model of its shared (dequantised) weights:
    each layer's nodes by its kind (:data:`_KIND_ONNX`)."""
    if not isinstance(model, Model):
        raise OnnxExportError(f"model={describe(model)}: expected an eie-sim Model")
    last = model.layers[-1]
    if last.spec.sequence:
        raise OnnxExportError(f"model {model.meta.get('name', '')!s}: an {last.kind} layer alone; expected dense "
                              "layers after it")
    missing = sorted({lay.kind for lay in model.layers} - set(_KIND_ONNX))
    if missing:
        raise OnnxExportError(f"model {model.meta.get('name', '')!s}: layer kind(s) {missing} have no ONNX export; "
                              f"exported kinds: {sorted(_KIND_ONNX)}")
    in_shape = _KIND_ONNX[model.layers[0].kind][0](model.layers[0], model)
    writers = [lambda cur, nodes, inits, lay=lay: _KIND_ONNX[lay.kind][1](lay, cur, nodes, inits) for lay in model.layers]
    bits = ", ".join(f"{lay.name} {lay.weight_bits}-bit" for lay in model.layers)
    doc = f"eie-sim model {model.meta.get('name', '')!s}: weights are the shared codebook values ({bits})"
    name = model.meta.get("name")
    name = name if isinstance(name, str) and name.strip() else "eie-sim"  # ONNX requires a non-empty graph name
    return _graph(name, in_shape, model.n_outputs, writers, model.meta.get("output_function"), doc)


def network_to_onnx(net: Network, output_function: str | None = None) -> onnx.ModelProto:
    """A fully connected trainer :class:`Network` (Dense, ReLU, Dropout, Flatten) as a float ONNX
    model of its current weights (dense or pruned, shared or not); dropout is left out (inference)."""
    if not isinstance(net, Network):
        raise OnnxExportError(f"net={describe(net)}: expected a trainer Network")
    if any(isinstance(l, Conv2D) for l in net.layers):
        raise OnnxExportError(f"network {net.name!r} has convolutions; only fully connected networks export")
    if any(l.reads_sequence for l in net.layers):
        raise OnnxExportError(f"network {net.name!r} has an LSTM; export its compressed Model (model_to_onnx) instead")
    dense = list(zip(net.dense_layers(), dense_activations(net)))
    writers = [lambda cur, nodes, inits, d=d, act=act: _gemm_nodes(d.name, d.params["W"].value, d.params["b"].value,
                                                                  act, cur, nodes, inits) for d, act in dense]
    n_in, n_out = dense[0][0].params["W"].value.shape[1], dense[-1][0].params["W"].value.shape[0]
    return _graph(net.name, ["N", n_in], n_out, writers, output_function, f"eie-sim trainer network {net.name}")


def save_onnx(proto: onnx.ModelProto, path) -> Path:
    """Write ``proto`` to ``path`` atomically; an existing file is untouched on failure."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OnnxExportError(f"path={str(path)!r}: folder {str(folder)!r} does not exist")
    if proto.ByteSize() >= 2**31:
        raise OnnxExportError(f"path={str(path)!r}: the model needs {proto.ByteSize():,} bytes; "
                              "ONNX files without external data hold at most 2 GiB")
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(proto.SerializeToString())
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OnnxExportError(f"path={str(path)!r}: could not write the ONNX model ({exc})") from None
    return path


def export_onnx(model: Model | Network, path, output_function: str | None = None) -> Path:
    """:func:`model_to_onnx` (a Model) or :func:`network_to_onnx` (a Network), saved to ``path``."""
    if isinstance(model, Network):
        return save_onnx(network_to_onnx(model, output_function), path)
    return save_onnx(model_to_onnx(model), path)


def onnxruntime_agreement(path, model: Model, x: np.ndarray) -> float:
    """Max |onnxruntime - float view| / max |float view| of the exported ``path`` on inputs ``x``
    (samples x inputs), the float view being :func:`eie_sim.train.compress.float_forward` of ``model``.
    For a sequence model ``x`` is (samples, T, X) or (samples, T * X); rows of X values only
    (samples x X, as ``eie-sim export --check`` draws them) are cut into sequences of T steps."""
    import onnxruntime

    x = np.asarray(x, dtype=np.float32)
    feed = x
    if model.is_sequence:
        X = model.n_inputs
        T = model.meta.get("sequence", {}).get("steps") or len(x)
        if x.ndim == 2 and x.shape[1] == X and T * X != X:
            x = x[: len(x) // T * T]
        x = x.reshape(-1, T, X)
        if not len(x):
            raise OnnxExportError(f"x: fewer rows than one sequence of {T} steps")
        feed = np.ascontiguousarray(x.transpose(1, 0, 2))
        x = x.reshape(len(x), -1)
    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    dims = sess.get_inputs()[0].shape
    if len(dims) == 4 and feed.ndim == 2:  # a conv model reads [N, C, H, W] maps
        feed = np.ascontiguousarray(feed.reshape(len(feed), *dims[1:]))
    got = sess.run(None, {sess.get_inputs()[0].name: feed})[0]
    ref = float_forward(model, x)
    return float(np.abs(got - ref).max() / max(float(np.abs(ref).max()), np.finfo(np.float64).tiny))
