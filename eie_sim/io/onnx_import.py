"""Read a fully connected network or a chain CNN from an ONNX file into a dense float network.

What is read (default ONNX domain, any opset the installed ``onnx`` checks):

* ``Gemm`` with ``transA=0``, any ``transB``, ``alpha`` and ``beta`` and an optional bias ``C``
  of shape (), (1,), (N,) or (1, N): one layer, W = alpha * op(B)^T, b = beta * C;
* ``MatMul`` by a constant matrix, optionally followed by ``Add`` of a constant (the bias): one
  layer (an ``Add`` right after a ``Gemm`` adds to its bias too);
* ``Relu`` after a layer: the layer's activation ("none" when no ReLU follows);
* ``Flatten`` (axis 1) and ``Reshape`` to [batch, features] before the first layer (the input
  may be [batch, C, H, W]); ``Identity`` and ``Dropout`` (inference: passed through);
* ``Sigmoid``, ``Tanh`` or ``Softmax`` (last axis) as the last operation: the network's output
  function, applied in float (``meta["output_function"]``; the fixed-point golden model and
  the hardware compute the values before it);
* ``Constant`` nodes, and ``Transpose`` or ``Identity`` of constants (folded);
* ``LSTM`` as the first operation, on the graph input [T, batch, X] (layout 0): W [1, 4H, X],
  R [1, 4H, H], B [1, 8H] (bias Wb + Rb), gate order i, o, f, c, mapped to eie-sim's lstm
  layer (:mod:`eie_sim.contract.lstm`: one matrix 4H x (X + H + 1) over [x_t; h_{t-1}; 1],
  gates i, f, g, o, bias as the last column); forward direction, the default activations
  (Sigmoid, Tanh, Tanh), no or all-zero initial_h / initial_c, no sequence_lens or all equal
  to T. The classifier reads the last hidden state: Y_h, or Y's last step (``Gather`` index
  -1 / T-1 or ``Slice`` of the last step on the time axis), brought to [batch, H] by
  ``Squeeze`` (explicit axes, never the batch axis) or ``Reshape``; then the dense layers above.
  The network becomes the trainer's LSTM layer followed by Dense layers (``meta["sequence"]``
  = {steps: T, features: X} on export). Refused: peepholes P, ``clip``, ``input_forget=1``,
  reverse / bidirectional, other activations, non-zero initial states, ``layout=1``, varying
  sequence_lens, Y_c used, and an LSTM anywhere but first.

* on an input [batch, C, H, W]: ``Conv`` (2-D, dilation 1, group 1) with a folded
  ``BatchNormalization``, ``Relu`` and one pooling after it, as conv layers (:mod:`.onnx_conv`),
  then ``Flatten`` / ``Reshape`` to [batch, -1] and the dense layers.

The graph must be one chain from its single input to its single output, every other operand a
constant (an initializer or a ``Constant``); a node joining two computed tensors (a residual
``Add``, ``Concat``) or a tensor read twice is refused first (:func:`.onnx_conv.refuse_branches`).
The input is float with a batch dimension of 1 or symbolic and fixed sizes otherwise. Refused
with :class:`OnnxImportError` (an ``EIEError``) naming the node, its op type and what is
supported: any other op (ConvTranspose, attention, quantised QDQ or integer ops, control flow,
other domains), ``transA=1``, hidden Sigmoid / Tanh / Softmax, dynamic or other batch
dimensions, external-data or sparse tensors, integer weights, and files that are not valid ONNX
protobufs. Nothing is unpickled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .onnx_conv import CONV_OPS, CONV_SUPPORTED, ConvOps, refuse_branches
from .onnx_fold import NORMALISING_OPS, InputAffine
from .onnx_lstm import LstmOps, attrs as _attrs
from ..errors import EIEError
from ..train.compress import apply_output_function
from ..train.nn import Dense, Flatten, Network, Param, ReLU
from ..train.nn_conv import GeneralConv2D, Pool2D

__all__ = ["OnnxImportError", "ImportedLayer", "ImportedLstm", "ImportedNetwork", "SUPPORTED", "read_onnx", "import_onnx"]

SUPPORTED = ("Gemm (transA=0), MatMul + Add, Relu, Flatten, Reshape to [batch, features], Identity, Dropout, "
             "Sigmoid / Tanh / Softmax as the final output function, and a forward LSTM (default activations) as "
             "the first operation, its last hidden state taken by Squeeze / Gather / Slice / Reshape; " + CONV_SUPPORTED)
_SEQ_OPS = {"LSTM", "Squeeze", "Gather", "Slice"}
_PASS = {"Identity", "Dropout"}
_OUTPUT_FUNCTIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Softmax": "softmax"}
_OPS = ({"Gemm", "MatMul", "Add", "Relu", "Flatten", "Reshape", "Constant", "Transpose"} | _PASS | set(_OUTPUT_FUNCTIONS)
        | _SEQ_OPS | NORMALISING_OPS | CONV_OPS)
_QUANTISED = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearMatMul", "QLinearConv",
              "MatMulInteger", "ConvInteger", "QGemm", "QLinearAdd", "DynamicQuantizeMatMul", "MatMulIntegerToFloat"}
_FLOAT_TYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.DOUBLE: "float64", onnx.TensorProto.FLOAT16: "float16"}


class OnnxImportError(EIEError):
    """An ONNX file that is not a supported fully connected network, or not valid ONNX."""


@dataclass(frozen=True, eq=False)
class ImportedLayer:
    """One fully connected layer: ``act(weight @ x + bias)``, weight float32 (outputs x inputs);
    or, with ``conv`` ({in_hw, stride, padding, pool, out}: :mod:`.onnx_conv`), a conv layer of
    weight (C_out, C_in, kh, kw), then its pooling."""

    name: str
    weight: np.ndarray
    bias: np.ndarray
    activation: str = "none"
    conv: dict | None = None

    @property
    def n_in(self) -> int:
        return self.weight.shape[1] * math.prod(self.conv["in_hw"]) if self.conv else self.weight.shape[1]

    @property
    def n_out(self) -> int:
        return math.prod(self.conv["out"]) if self.conv else self.weight.shape[0]


@dataclass(frozen=True, eq=False)
class ImportedLstm:
    """A single-layer forward LSTM over ``steps`` steps of ``features`` inputs: ``weight`` float32
    (4H, X + H + 1), gate rows i, f, g, o, over [x_t; h_{t-1}; 1] (eie-sim's layout)."""

    name: str
    weight: np.ndarray
    hidden: int
    steps: int

    @property
    def features(self) -> int:
        return self.weight.shape[1] - self.hidden - 1


@dataclass(frozen=True, eq=False)
class ImportedNetwork:
    """A dense float network read from ONNX: its layers (after the LSTM, if it has one), output
    function and where it came from."""

    name: str
    layers: tuple[ImportedLayer, ...]
    output_function: str | None = None
    source: dict = field(default_factory=dict)
    lstm: ImportedLstm | None = None

    @property
    def is_sequence(self) -> bool:
        return self.lstm is not None

    @property
    def n_inputs(self) -> int:
        """Values per sample: T * X for a sequence network (a sequence flattened), else the inputs."""
        if self.lstm is not None:
            return self.lstm.steps * self.lstm.features
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    def to_network(self) -> Network:
        """A trainer :class:`~eie_sim.train.nn.Network` of Dense and ReLU layers. A layer with
        exact zeros gets them as its pruning mask, so pruning and training keep them zero."""
        layers = []
        if self.lstm is not None:
            layers.append(_lstm_layer(self.lstm))
        maps = False  # the previous layer gives (C, H, W) maps
        for lay in self.layers:
            if lay.conv:
                dense = GeneralConv2D(lay.weight, lay.bias, lay.conv["stride"], lay.conv["padding"], name=lay.name)
            else:
                if maps:
                    layers.append(Flatten())
                dense = _dense_layer(lay.name, lay.weight, lay.bias)
            maps = lay.conv is not None
            if not np.all(lay.weight):
                dense.params["W"].mask = (lay.weight != 0).astype(np.float32)
            layers.append(dense)
            if lay.activation == "relu":
                layers.append(ReLU())
            if lay.conv and lay.conv["pool"]:
                layers.append(Pool2D(*lay.conv["pool"]))
        if maps:
            layers.append(Flatten())
        shape = (self.lstm.steps, self.lstm.features) if self.lstm is not None else (self.n_inputs,)
        if self.layers[0].conv:
            shape = (self.layers[0].weight.shape[1], *self.layers[0].conv["in_hw"])
        return Network(self.name, layers, shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Float32 outputs (float64 array) on inputs ``x`` (samples x inputs; samples x T x X or
        samples x T * X for a sequence network), output function included."""
        h = self.to_network().forward(np.asarray(x, dtype=np.float32).reshape(len(x), -1))
        return apply_output_function(self.output_function, h.astype(np.float64))


def _dense_layer(name: str, weight: np.ndarray, bias: np.ndarray) -> Dense:
    """A trainer Dense layer holding ``weight`` and ``bias`` (built 1 x 1, then given the arrays,
    so no random initialisation of the full size is drawn)."""
    dense = Dense(1, 1, np.random.default_rng(0), name=name)
    dense.params = {"W": Param(np.array(weight, dtype=np.float32)),  # copies: training must not
                    "b": Param(np.array(bias, dtype=np.float32), decay=False)}  # change the imported network
    return dense


def _lstm_layer(lstm: ImportedLstm):
    """The trainer's LSTM layer holding ``lstm.weight`` (exact zeros kept as its pruning mask)."""
    from ..train.lstm import LSTM

    layer = LSTM(1, 1, np.random.default_rng(0), name=lstm.name)
    layer.n_in, layer.hidden = lstm.features, lstm.hidden
    layer.params = {"W": Param(np.array(lstm.weight, dtype=np.float32))}  # a copy, as for Dense
    if not np.all(lstm.weight):
        layer.params["W"].mask = (lstm.weight != 0).astype(np.float32)
    return layer


# ----------------------------------------------------------------------------- reading the file


def read_onnx(path) -> onnx.ModelProto:
    """The checked ``ModelProto`` of ``path``; external-data and sparse tensors are refused."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise OnnxImportError(f"{where}: no such file")
    data = path.read_bytes()
    if not data:
        raise OnnxImportError(f"{where}: empty file; expected an ONNX model")
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as exc:  # google.protobuf DecodeError and friends: any parse failure is a bad file
        raise OnnxImportError(f"{where}: not an ONNX model (the protobuf cannot be parsed: {exc})") from None
    if not proto.HasField("graph") or not proto.graph.node:
        raise OnnxImportError(f"{where}: not an ONNX model with a graph (no nodes; a truncated or foreign file?)")
    _refuse_external_and_sparse(proto.graph, where)
    try:
        onnx.checker.check_model(proto)
    except Exception as exc:  # onnx.checker.ValidationError, or the checker's own failures
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxImportError(f"{where}: not a valid ONNX model ({first})") from None
    return proto


def _refuse_external_and_sparse(graph, where: str) -> None:
    for t in graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise OnnxImportError(f"{where}: initializer {t.name!r} keeps its data in an external file; "
                                  "expected every tensor inside the .onnx file (save without external data)")
    if graph.sparse_initializer:
        raise OnnxImportError(f"{where}: sparse initializer {graph.sparse_initializer[0].values.name!r}: "
                              "expected dense initializers")
    for node in graph.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_location == onnx.TensorProto.EXTERNAL:
                raise OnnxImportError(f"{where}: node {node.name!r} ({node.op_type}) has an external-data tensor; "
                                      "expected every tensor inside the .onnx file")


def _unsupported(node, where: str, why: str = "is not supported") -> OnnxImportError:
    domain = f" in domain {node.domain!r}" if node.domain not in ("", "ai.onnx") else ""
    hint = ""
    if node.op_type in _QUANTISED or "Integer" in node.op_type or node.op_type.startswith("QLinear"):
        hint = " (quantised or integer models are not read: import the float model)"
    elif "Conv" in node.op_type:
        hint = " (of the convolutions, only Conv is read)"
    elif "Attention" in node.op_type:
        hint = " (attention is not a fully connected layer)"
    return OnnxImportError(f"{where}: node {node.name!r} (op {node.op_type}{domain}) {why}{hint}; "
                           f"eie-sim imports chains of: {SUPPORTED}")


def _check_ops(graph, where: str) -> None:
    """Refuse the first node whose op type is not one eie-sim reads, before anything else."""
    for node in graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type not in _OPS:
            raise _unsupported(node, where)


def _input_shape(graph, init_names: set, where: str) -> tuple[str, tuple[int, ...], bool]:
    """(name, sizes without the batch dimension, sequence?) of the graph's one real input. An
    input read first by an LSTM is a sequence [T, batch, X]: sizes (T, X)."""
    inputs = [i for i in graph.input if i.name not in init_names]
    if len(inputs) != 1:
        raise OnnxImportError(f"{where}: the graph has {len(inputs)} inputs {[i.name for i in inputs]}; expected one")
    inp = inputs[0]
    tt = inp.type.tensor_type
    if not inp.type.HasField("tensor_type") or tt.elem_type not in _FLOAT_TYPES:
        got = onnx.TensorProto.DataType.Name(tt.elem_type) if inp.type.HasField("tensor_type") else "not a tensor"
        raise OnnxImportError(f"{where}: input {inp.name!r} is {got}; expected a float tensor (float32, float64 or float16)")
    if not tt.HasField("shape") or len(tt.shape.dim) < 2:
        rank = len(tt.shape.dim) if tt.HasField("shape") else "unknown"
        raise OnnxImportError(f"{where}: input {inp.name!r} has rank {rank}; expected [batch, features] or [batch, C, H, W]")
    lstm = next((n for n in graph.node if n.op_type == "LSTM"), None)
    sequence = lstm is not None and len(tt.shape.dim) == 3  # else the LSTM is refused where it stands
    if sequence:
        steps, batch, feat = tt.shape.dim
        rest = [steps, feat]
    else:
        batch, *rest = tt.shape.dim
    if batch.HasField("dim_value") and batch.dim_value != 1:
        raise OnnxImportError(f"{where}: input {inp.name!r} has batch dimension {batch.dim_value}; "
                              "expected 1 or symbolic (such as N)")
    sizes = []
    for k, d in enumerate(rest, start=1):
        if not d.HasField("dim_value") or d.dim_value < 1:
            what = repr(d.dim_param) if d.HasField("dim_param") else "unknown"
            raise OnnxImportError(f"{where}: input {inp.name!r} dimension {k} is {what}; expected a fixed size "
                                  "(only the batch dimension may be symbolic)")
        sizes.append(int(d.dim_value))
    return inp.name, tuple(sizes), sequence


# ----------------------------------------------------------------------------- walking the chain


class _Chain(InputAffine, LstmOps, ConvOps):
    """The walk along the graph's chain, one node at a time, building the layers."""

    error = OnnxImportError

    def __init__(self, graph, opset: int, where: str):
        self.where = where
        self.opset = opset
        self.consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.cur, self.input_sizes, self.sequence = _input_shape(graph, set(self.consts), where)
        self.shape = self.input_sizes
        self.input_name = self.cur
        self.lstm: dict | None = None
        self.seq: list | None = None  # the LSTM output's dims [kind, size] (kinds T, 1, N, H) until [N, H]
        self.layers: list[dict] = []
        self.after_linear = False  # the last op was a layer, so an Add of a constant is its bias
        self.output_function: tuple[str, str] | None = None  # (function, node name)
        self.used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        self.names: set[str] = set()

    def fail(self, node, why: str) -> OnnxImportError:
        return _unsupported(node, self.where, why)

    # --- operands

    def const(self, node, k: int, what: str, *, floating: bool = True) -> np.ndarray:
        name = node.input[k] if k < len(node.input) else ""
        if name not in self.consts:
            raise self.fail(node, f"has {what} {name!r} that is not a constant (an initializer or a Constant node)")
        arr = self.consts[name]
        if floating and not np.issubdtype(arr.dtype, np.floating):
            raise self.fail(node, f"has {what} {name!r} of dtype {arr.dtype}: integer or quantised weights are not "
                                  "read (expected float16, float32 or float64)")
        if floating and not np.all(np.isfinite(arr)):
            raise self.fail(node, f"has {what} {name!r} with NaN or infinite values")
        return arr.astype(np.float64) if floating else arr

    def data_operand(self, node) -> int:
        """Index of the input that is the chain's tensor; every other input must be a constant."""
        live = [k for k, name in enumerate(node.input) if name and name not in self.consts]
        if len(live) == 1 and node.input[live[0]] == self.cur:
            return live[0]
        stray = [node.input[k] for k in live if node.input[k] != self.cur]
        if stray:
            raise self.fail(node, f"takes {stray[0]!r}, which is neither the previous node's output "
                                  f"({self.cur!r}) nor a constant: only sequential chains are read (no branches)")
        if live:
            raise self.fail(node, f"takes the previous node's output {self.cur!r} more than once")
        raise self.fail(node, f"does not take the previous node's output {self.cur!r}: only sequential chains are read")

    def vector_input(self, node) -> int:
        if len(self.shape) != 1:
            raise self.fail(node, f"gets a tensor of shape {list(self.shape)} per sample; expected a vector "
                                  "(Flatten or Reshape it first)")
        return self.shape[0]

    def layer_name(self, node) -> str:
        base = node.name or f"{node.op_type.lower()}{len(self.layers) + 1}"
        name, k = base, 2
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    # --- nodes

    def step(self, node) -> None:
        if node.op_type == "Constant":
            self.consts[node.output[0]] = _constant_value(node, self)
            return
        if node.op_type in ("Transpose", "Identity") and all(i in self.consts for i in node.input if i):
            self.fold(node)
            return
        k = self.data_operand(node)
        if self.output_function and node.op_type not in _PASS:
            fn, at = self.output_function
            raise self.fail(node, f"follows the output function {fn} of node {at!r}; Sigmoid, Tanh and Softmax are "
                                  "read only as the last operation")
        if self.sequence and self.lstm is None and node.op_type not in _PASS | {"LSTM"}:
            raise self.fail(node, "comes before the LSTM that reads the graph input; an LSTM is read only as the "
                                  "first operation")
        if self.seq is not None and node.op_type not in _PASS | {"Squeeze", "Gather", "Slice", "Reshape"}:
            raise self.fail(node, f"gets the LSTM's output of shape {self.seq_text()}; expected its last hidden state "
                                  "as [batch, H] first (Y_h, or Y's last step, by Squeeze / Gather / Slice / Reshape)")
        if node.op_type != "LSTM":
            for extra in node.output[1:]:
                if extra and extra in self.used:
                    raise self.fail(node, f"has its extra output {extra!r} used: only the first output can be")
        out = getattr(self, f"op_{node.op_type.lower()}")(node, k)
        self.cur = out or node.output[0]

    def fold(self, node) -> None:
        arr = self.consts[node.input[0]]
        if node.op_type == "Transpose":
            perm = _attrs(node).get("perm")
            arr = np.transpose(arr, perm)
        self.consts[node.output[0]] = arr

    def add_layer(self, node, w: np.ndarray, b: np.ndarray) -> None:
        w, b = self.fold_into(w, b)  # input normalisation in front of the first layer (onnx_fold)
        self.layers.append({"name": self.layer_name(node), "w": w, "b": b, "activation": "none"})
        self.shape = (w.shape[0],)
        self.after_linear = True

    def op_gemm(self, node, k: int) -> None:
        a = _attrs(node)
        if k != 0:
            raise self.fail(node, "takes the activations as B; expected them as A (Gemm(X, W, b))")
        if a.get("transA", 0):
            raise self.fail(node, "has transA=1; expected transA=0 (activations as rows)")
        n_in = self.vector_input(node)
        bmat = self.const(node, 1, "B")
        if bmat.ndim != 2:
            raise self.fail(node, f"has B of shape {list(bmat.shape)}; expected a matrix")
        w = float(a.get("alpha", 1.0)) * (bmat if a.get("transB", 0) else bmat.T)
        if w.shape[1] != n_in:
            raise self.fail(node, f"has B of shape {list(bmat.shape)} (transB={a.get('transB', 0)}) for {n_in} inputs")
        bias = np.zeros(w.shape[0])
        if len(node.input) > 2 and node.input[2]:
            bias = float(a.get("beta", 1.0)) * self.bias_vector(node, self.const(node, 2, "C"), w.shape[0])
        self.add_layer(node, w, bias)

    def op_matmul(self, node, k: int) -> None:
        if k != 0:
            raise self.fail(node, "multiplies a constant by the activations; expected MatMul(X, W)")
        n_in = self.vector_input(node)
        wmat = self.const(node, 1, "the weight matrix")
        if wmat.ndim != 2 or wmat.shape[0] != n_in:
            raise self.fail(node, f"has a weight matrix of shape {list(wmat.shape)}; expected [{n_in}, outputs]")
        self.add_layer(node, wmat.T, np.zeros(wmat.shape[1]))

    def op_add(self, node, k: int) -> None:
        if not self.layers and self.lstm is None:  # before any layer: input normalisation (onnx_fold)
            return self.normalise(node, k)
        if not self.after_linear:
            raise self.fail(node, "does not follow a Gemm or MatMul; Add is read only as a layer's bias")
        layer = self.layers[-1]
        if "conv" in layer:
            return self.conv_add(node, k, layer)
        c = self.const(node, 1 - k, "a bias")
        layer["b"] = layer["b"] + self.bias_vector(node, c, layer["w"].shape[0])

    def bias_vector(self, node, c: np.ndarray, n: int) -> np.ndarray:
        if c.size not in (1, n) or (c.ndim == 2 and c.shape[0] != 1) or c.ndim > 2:
            raise self.fail(node, f"has a bias of shape {list(c.shape)}; expected [], [1], [{n}] or [1, {n}]")
        return np.broadcast_to(c.reshape(-1), (n,)).astype(np.float64)

    def op_relu(self, node, k: int) -> None:
        if not self.layers:
            raise self.fail(node, "comes before the first layer; EIE applies ReLU to a layer's outputs")
        if "conv" in self.layers[-1]:
            self.conv_relu(node, self.layers[-1])
        self.layers[-1]["activation"] = "relu"
        self.after_linear = False

    def op_sigmoid(self, node, k: int) -> None:
        if not self.layers:
            raise self.fail(node, "comes before the first layer; it is read only as the output function")
        self.output_function = (_OUTPUT_FUNCTIONS[node.op_type], node.name)
        self.after_linear = False

    op_tanh = op_sigmoid

    def op_softmax(self, node, k: int) -> None:
        axis = _attrs(node).get("axis", -1 if self.opset >= 13 else 1)
        if axis not in (1, -1):
            raise self.fail(node, f"has axis={axis}; expected the last axis (1 or -1)")
        self.op_sigmoid(node, k)

    def op_identity(self, node, k: int) -> None:
        pass

    def op_dropout(self, node, k: int) -> None:
        if len(node.input) > 2 and node.input[2]:
            mode = self.const(node, 2, "training_mode", floating=False)
            if bool(np.asarray(mode).reshape(-1)[0]):
                raise self.fail(node, "has training_mode=true; expected inference (false)")

    def op_transpose(self, node, k: int) -> None:
        raise self.fail(node, "transposes the activations; Transpose is read only on constants (folded)")

    def op_flatten(self, node, k: int) -> None:
        axis = _attrs(node).get("axis", 1)
        if axis not in (1, -len(self.shape)):  # a negative axis counts from the rank, batch included
            raise self.fail(node, f"has axis={axis}; expected 1 (batch kept, the rest flattened to a vector)")
        self.shape = (math.prod(self.shape),)

    def op_reshape(self, node, k: int) -> None:
        if k != 0:
            raise self.fail(node, "reshapes a constant by the activations")
        target = [int(v) for v in self.const(node, 1, "shape", floating=False).reshape(-1)]
        if self.seq is not None:  # the LSTM's output to [batch, H]: checked with batch 1
            concrete = tuple(1 if kind == "N" else n for kind, n in self.seq)
            H = self.lstm["hidden"]
            if (any(kind == "T" and n > 1 for kind, n in self.seq)
                    or _resolve_reshape(target, concrete, bool(_attrs(node).get("allowzero", 0))) != (1, H)):
                raise self.fail(node, f"reshapes the LSTM's output {self.seq_text()} to {target}; expected the last "
                                      f"hidden state as [batch, {H}] (such as [-1, {H}])")
            self.seq = [["N", 1], ["H", H]]
            self.seq_done()
            return
        n = math.prod(self.shape)
        if _resolve_reshape(target, (1,) + self.shape, bool(_attrs(node).get("allowzero", 0))) != (1, n):
            raise self.fail(node, f"reshapes [batch, {', '.join(map(str, self.shape))}] to {target}; "
                                  f"expected [batch, {n}] (such as [-1, {n}] or [0, -1])")
        self.shape = (n,)



def _constant_value(node, chain: _Chain) -> np.ndarray:
    a = node.attribute[0] if len(node.attribute) == 1 else None
    if a is None or a.name not in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        raise chain.fail(node, "holds a value other than a tensor, float(s) or int(s)")
    val = helper.get_attribute_value(a)
    return numpy_helper.to_array(val) if a.name == "value" else np.asarray(val)


def _resolve_reshape(target: list[int], shape: tuple[int, ...], allowzero: bool) -> tuple[int, ...] | None:
    """The shape Reshape makes of ``shape`` with ``target`` (ONNX rules for 0 and -1), or None."""
    out = [shape[i] if v == 0 and not allowzero and i < len(shape) else v for i, v in enumerate(target)]
    if out.count(-1) > 1 or any(v < -1 for v in out):
        return None
    total, known = math.prod(shape), math.prod(v for v in out if v != -1)
    if -1 in out:
        if known == 0 or total % known:
            return None
        out[out.index(-1)] = total // known
    return tuple(out) if math.prod(out) == total else None


# ----------------------------------------------------------------------------- entry point


def import_onnx(path, name: str | None = None) -> ImportedNetwork:
    """The fully connected network in the ONNX file ``path`` (see the module docstring)."""
    where = str(path)
    proto = read_onnx(path)
    graph = proto.graph
    refuse_branches(graph, where, OnnxImportError)
    _check_ops(graph, where)
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 1)
    chain = _Chain(graph, opset, where)
    for node in graph.node:
        chain.step(node)
    if len(graph.output) != 1 or graph.output[0].name != chain.cur:
        outs = [o.name for o in graph.output]
        raise OnnxImportError(f"{where}: graph outputs {outs}; expected exactly the end of the chain, {chain.cur!r}")
    if chain.seq is not None:
        raise OnnxImportError(f"{where}: the graph ends with the LSTM's output {chain.seq_text()}; expected the last "
                              "hidden state [batch, H] followed by at least one Gemm or MatMul layer")
    if not chain.layers:
        raise OnnxImportError(f"{where}: no Gemm or MatMul layer; expected a fully connected network"
                              + (" (an LSTM is read followed by dense layers)" if chain.lstm else ""))
    layers = tuple(ImportedLayer(l["name"], l["w"].astype(np.float32), l["b"].astype(np.float32), l["activation"],
                                 l.get("conv")) for l in chain.layers)
    source = {"file": Path(path).name, "producer": f"{proto.producer_name} {proto.producer_version}".strip(),
              "opset": opset, "ir_version": int(proto.ir_version),
              "graph": graph.name, "input_shape": ["batch", *chain.input_sizes]}
    lstm = None
    if chain.lstm is not None:
        T, X = chain.input_sizes
        source["input_shape"] = [T, "batch", X]
        lstm = ImportedLstm(chain.lstm["name"], chain.lstm["weight"].astype(np.float32), chain.lstm["hidden"], T)
    return ImportedNetwork(name or Path(path).stem, layers,
                           chain.output_function[0] if chain.output_function else None, source, lstm)


def describe_network(net: ImportedNetwork) -> str:
    """One line: layer sizes, activations and output function."""
    convs = [l for l in net.layers if l.conv]
    fcs = [l for l in net.layers if not l.conv]
    first = net.lstm.hidden if net.lstm else fcs[0].n_in if fcs else 0
    sizes = " -> ".join(str(s) for s in [first] + [l.weight.shape[0] for l in fcs])
    acts = ", ".join(f"{l.name} {l.activation}" for l in fcs)
    text = f"{len(fcs)} fully connected layer(s) {sizes} ({acts}), output function {net.output_function or 'none'}"
    if convs:
        parts = [f"{l.name} {'x'.join(map(str, l.weight.shape[:1] + l.weight.shape[2:]))}"
                 f"{' ' + l.activation if l.activation != 'none' else ''}"
                 f"{' ' + l.conv['pool'][0] + 'pool' if l.conv['pool'] else ''} -> {'x'.join(map(str, l.conv['out']))}"
                 for l in convs]
        text = f"{len(convs)} conv layer(s) on {net.layers[0].weight.shape[1]}x{'x'.join(map(str, net.layers[0].conv['in_hw']))} " \
               f"({', '.join(parts)}), then " + text
    if net.lstm:
        lay = net.lstm
        text = f"LSTM {lay.name} {lay.features} -> {lay.hidden} over {lay.steps} steps, then " + text
    return text
