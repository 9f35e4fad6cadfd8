"""The convolutional part of the ONNX importer: ``Conv`` (2-D, dilation 1, one group), a
``BatchNormalization`` after it folded into its weights and bias, ``MaxPool`` / ``AveragePool``
/ ``GlobalAveragePool`` / ``GlobalMaxPool`` after it (and its ``Relu``), fused into the conv
layer as the conv kind does (:mod:`eie_sim.contract.conv`), and the refusal of graphs that are
not chains (a residual ``Add`` of two computed tensors, ``Concat``, a tensor read twice).

Padding: explicit ``pads`` (top, left, bottom, right) or ``auto_pad`` NOTSET / VALID /
SAME_UPPER / SAME_LOWER; each side must be smaller than the (pool) kernel, as the conv kind
stores it. Pools: ``ceil_mode=1`` is read as extra bottom / right padding (max and the
average of the in-bounds values are unchanged by it); ``AveragePool`` averages the in-bounds
values (count_include_pad=0; count_include_pad=1 is read only where nothing is padded); a
``Relu`` after an ``AveragePool`` is refused (the conv kind applies ReLU before pooling, and
the average of a ReLU is not the ReLU of the average), after a ``MaxPool`` it commutes.

:class:`ConvOps` holds the ``op_*`` methods (mixed into the walker of
:mod:`eie_sim.io.onnx_import`); layers are dicts ``{"name", "w" (C_out, C_in, kh, kw), "b",
"activation", "conv": {"in_hw", "stride", "padding", "pool"}}``, ``pool`` None or
(mode, kernel, stride, padding).
"""

from __future__ import annotations

import math

import numpy as np

from .onnx_lstm import attrs

__all__ = ["ConvOps", "CONV_OPS", "CONV_SUPPORTED", "refuse_branches"]

CONV_OPS = {"Conv", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}
CONV_SUPPORTED = ("Conv (2-D, dilation 1, group 1), BatchNormalization after a Conv (folded), MaxPool / AveragePool / "
                  "GlobalAveragePool / GlobalMaxPool after a Conv and its Relu")
_CHAIN_ONLY = ("eie-sim imports chains only (a DAG needs a tensor graph with liveness, activation memory for the skip "
               "tensor and an element-wise add in the activation unit)")


def refuse_branches(graph, where: str, error) -> None:
    """``error`` (one line) for the first node joining two computed tensors (``Add``, ``Sum``,
    ``Concat``, ...) or the first computed tensor read by two nodes."""
    const = {t.name for t in graph.initializer}
    for node in graph.node:  # constants: initializers, Constant nodes and what is computed from constants only
        if node.op_type == "Constant" or (node.input and all(i in const for i in node.input if i)):
            const.update(node.output)
    readers: dict[str, list[str]] = {}
    for node in graph.node:
        live = [i for i in node.input if i and i not in const]
        who = f"node {node.name!r} ({node.op_type})"
        if node.op_type == "Concat" and live:
            raise error(f"{where}: {who} concatenates {len(live)} tensors {live}; {_CHAIN_ONLY}")
        if len(set(live)) > 1:
            raise error(f"{where}: {who} joins two branches {sorted(set(live))}; {_CHAIN_ONLY}")
        for name in dict.fromkeys(live):
            readers.setdefault(name, []).append(node.name or node.op_type)
    outputs = {o.name for o in graph.output}
    for name, who in readers.items():
        if len(who) + (name in outputs) > 1:
            also = " and the graph output" if name in outputs else ""
            raise error(f"{where}: tensor {name!r} is read by {len(who)} nodes {who}{also}; {_CHAIN_ONLY}")


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class ConvOps:
    """Conv, BatchNormalization and pooling nodes (mixed into the importer's walker)."""

    def refuse(self, node, why: str):
        """One line naming the node, what it has, and what is expected."""
        return self.error(f"{self.where}: node {node.name!r} ({node.op_type}) {why}")

    def map_shape(self, node) -> tuple:
        if len(self.shape) != 3:
            raise self.refuse(node, f"gets a tensor of shape [batch, {', '.join(map(str, self.shape))}]; expected "
                                    "[batch, C, H, W] (a 2-D feature map, not flattened)")
        return self.shape

    def pads(self, node, a: dict, hw: tuple, k: tuple, s: tuple, ceil: bool = False) -> tuple:
        """(top, left, bottom, right) of ``auto_pad`` / ``pads`` (and ``ceil_mode``), each < the kernel."""
        auto = _text(a.get("auto_pad", "NOTSET"))
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            lo, hi = [], []
            for n, kk, ss in zip(hw, k, s):
                total = max(0, (math.ceil(n / ss) - 1) * ss + kk - n)
                first = total // 2 if auto == "SAME_UPPER" else total - total // 2
                lo.append(first)
                hi.append(total - first)
            pads = [lo[0], lo[1], hi[0], hi[1]]
        elif auto == "VALID":
            pads = [0, 0, 0, 0]
        elif auto == "NOTSET":
            pads = [int(v) for v in a.get("pads", [0, 0, 0, 0])]
            if len(pads) != 4 or min(pads) < 0:
                raise self.refuse(node, f"has pads={pads}; expected 4 values >= 0 (top, left, bottom, right)")
        else:
            raise self.refuse(node, f"has auto_pad={auto!r}; expected NOTSET, VALID, SAME_UPPER or SAME_LOWER")
        if ceil and auto in ("NOTSET", "VALID"):
            for d in (0, 1):  # ceil_mode: the last partial window, as extra end padding (dropped if it starts in padding)
                n, lo_, hi_ = hw[d], pads[d], pads[d + 2]
                out = -(-(n + lo_ + hi_ - k[d]) // s[d]) + 1
                if (out - 1) * s[d] >= n + lo_:
                    out -= 1
                pads[d + 2] = max(hi_, (out - 1) * s[d] + k[d] - n - lo_)
        if any(p >= k[d % 2] for d, p in enumerate(pads)):
            what = f"pads={list(pads)}" + (" (with ceil_mode=1)" if ceil else "") if auto == "NOTSET" else f"auto_pad={auto}"
            raise self.refuse(node, f"has {what}; expected each side smaller than the kernel {list(k)} "
                                    "(the conv kind's zero padding)")
        if any(hw[d] + pads[d] + pads[d + 2] < k[d] for d in (0, 1)):
            raise self.refuse(node, f"has kernel {list(k)} larger than the padded input {list(hw)} + {list(pads)}")
        return tuple(pads)

    def ints(self, node, a: dict, name: str, default, expect=None) -> tuple:
        vals = tuple(int(v) for v in a.get(name, default))
        if len(vals) != 2 or (expect is not None and vals != expect) or min(vals) < 1:
            want = list(expect) if expect is not None else "2 integers >= 1"
            raise self.refuse(node, f"has {name}={list(vals)}; expected {want} (2-D, dilation 1)")
        return vals

    # --- nodes

    def op_conv(self, node, k: int) -> None:
        if k != 0:
            raise self.refuse(node, "convolves a constant with the activations; expected Conv(X, W[, B])")
        c, h, w_ = self.map_shape(node)
        a = attrs(node)
        w = self.const(node, 1, "W")
        if w.ndim != 4:
            raise self.refuse(node, f"has W of rank {w.ndim} {list(w.shape)}; expected a 2-D convolution, W [C_out, C_in, kh, kw]")
        if a.get("group", 1) != 1:
            raise self.refuse(node, f"has group={a['group']}; expected group=1 (grouped and depthwise convolutions are "
                                    "not read)")
        self.ints(node, a, "dilations", (1, 1), (1, 1))
        kern = tuple(int(v) for v in w.shape[2:])
        if "kernel_shape" in a and tuple(a["kernel_shape"]) != kern:
            raise self.refuse(node, f"has kernel_shape={list(a['kernel_shape'])}; expected W's {list(kern)}")
        if w.shape[1] != c:
            raise self.refuse(node, f"has W {list(w.shape)} for {c} input channels; expected W [C_out, {c}, kh, kw]")
        stride = self.ints(node, a, "strides", (1, 1))
        pads = self.pads(node, a, (h, w_), kern, stride)
        bias = np.zeros(w.shape[0])
        if len(node.input) > 2 and node.input[2]:
            bias = self.const(node, 2, "B")
            if bias.shape != (w.shape[0],):
                raise self.refuse(node, f"has B of shape {list(bias.shape)}; expected [{w.shape[0]}]")
        w, bias = self.fold_conv(node, w, bias, pads)
        ho, wo = (h + pads[0] + pads[2] - kern[0]) // stride[0] + 1, (w_ + pads[1] + pads[3] - kern[1]) // stride[1] + 1
        self.layers.append({"name": self.layer_name(node), "w": w, "b": bias, "activation": "none",
                            "conv": {"in_hw": (h, w_), "stride": stride, "padding": pads, "pool": None,
                                     "out": (w.shape[0], ho, wo)}})
        self.shape = (w.shape[0], ho, wo)
        self.after_linear = True

    def fold_conv(self, node, w, b, pads):
        """The input normalisation (a scalar x * scale + shift, onnx_fold) folded into the first conv:
        exact for the scale; the shift only without padding (a padded zero is not a shifted one)."""
        if self.pre is None:
            return w, b
        scale, shift = (np.asarray(v, np.float64) for v in self.pre)
        if scale.size != 1 or shift.size != 1:
            raise self.refuse(node, "reads a per-feature normalisation; expected a scalar one before a Conv")
        if float(shift) != 0.0 and any(pads):
            raise self.refuse(node, f"has pads {list(pads)} after an input shift of {float(shift):g}; a shift folds into "
                                    "a Conv only without padding (normalise the data instead)")
        self.pre = None
        return w * float(scale), b + float(shift) * w.sum(axis=(1, 2, 3))

    def conv_layer(self, node, what: str) -> dict:
        layer = self.layers[-1] if self.layers else None
        if layer is None or "conv" not in layer or len(self.shape) != 3:
            raise self.refuse(node, f"does not follow a Conv; {what}")
        return layer

    def op_batchnormalization(self, node, k: int) -> None:
        layer = self.conv_layer(node, "BatchNormalization is read only right after a Conv (folded into it)")
        if not self.after_linear or layer["activation"] != "none" or layer["conv"]["pool"] is not None:
            raise self.refuse(node, "follows a Relu or a pool; BatchNormalization is read only right after a Conv "
                                    "(folded into its weights and bias)")
        a = attrs(node)
        if a.get("training_mode", 0):
            raise self.refuse(node, "has training_mode=1; expected inference (0)")
        n = layer["w"].shape[0]
        gamma, beta, mean, var = (self.const(node, i, what) for i, what in
                                  ((1, "scale"), (2, "B"), (3, "input_mean"), (4, "input_var")))
        if any(v.shape != (n,) for v in (gamma, beta, mean, var)):
            raise self.refuse(node, f"has parameters of shapes {[list(v.shape) for v in (gamma, beta, mean, var)]}; "
                                    f"expected [{n}] each")
        scale = gamma / np.sqrt(var + float(a.get("epsilon", 1e-5)))
        layer["w"] = layer["w"] * scale[:, None, None, None]
        layer["b"] = (layer["b"] - mean) * scale + beta

    def conv_add(self, node, k: int, layer: dict) -> None:
        """Add of a constant right after a Conv: its bias (scalar, [C, 1, 1] or [1, C, 1, 1])."""
        c = self.const(node, 1 - k, "a bias")
        n = layer["w"].shape[0]
        per_channel = c.ndim >= 3 and c.shape[-3:] == (n, 1, 1) and c.size == n
        if c.size != 1 and not per_channel:
            raise self.refuse(node, f"adds a constant of shape {list(c.shape)} to the Conv's output; expected a scalar "
                                    f"or [{n}, 1, 1] (one value per channel)")
        layer["b"] = layer["b"] + np.broadcast_to(c.reshape(-1), (n,))

    def pool(self, node, mode: str, kernel, stride, pads) -> None:
        layer = self.conv_layer(node, "pooling is read only after a Conv (and its Relu): the conv kind fuses it")
        if layer["conv"]["pool"] is not None:
            raise self.refuse(node, "follows another pool; the conv kind fuses one pooling per Conv")
        c, h, w = self.shape
        layer["conv"]["pool"] = (mode, tuple(kernel), tuple(stride), tuple(pads))
        self.shape = (c, (h + pads[0] + pads[2] - kernel[0]) // stride[0] + 1,
                      (w + pads[1] + pads[3] - kernel[1]) // stride[1] + 1)
        layer["conv"]["out"] = self.shape
        self.after_linear = False

    def op_maxpool(self, node, k: int, mode: str = "max") -> None:
        c, h, w = self.map_shape(node)
        a = attrs(node)
        if "kernel_shape" not in a or len(a["kernel_shape"]) != 2:
            raise self.refuse(node, f"has kernel_shape={a.get('kernel_shape')}; expected 2 values (2-D pooling)")
        kern = self.ints(node, a, "kernel_shape", ())
        self.ints(node, a, "dilations", (1, 1), (1, 1))
        stride = self.ints(node, a, "strides", (1, 1))
        if a.get("ceil_mode", 0) not in (0, 1):
            raise self.refuse(node, f"has ceil_mode={a['ceil_mode']}; expected 0 or 1")
        pads = self.pads(node, a, (h, w), kern, stride, ceil=bool(a.get("ceil_mode", 0)))
        if mode == "avg" and a.get("count_include_pad", 0) and any(pads):
            raise self.refuse(node, f"has count_include_pad=1 with padding {list(pads)}; expected count_include_pad=0 "
                                    "(the conv kind averages the in-bounds values)")
        self.pool(node, mode, kern, stride, pads)

    def op_averagepool(self, node, k: int) -> None:
        self.op_maxpool(node, k, "avg")

    def op_globalaveragepool(self, node, k: int, mode: str = "avg") -> None:
        c, h, w = self.map_shape(node)
        self.pool(node, mode, (h, w), (1, 1), (0, 0, 0, 0))

    def op_globalmaxpool(self, node, k: int) -> None:
        self.op_globalaveragepool(node, k, "max")

    def conv_relu(self, node, layer: dict) -> None:
        """A Relu after a pooled conv layer: commutes with max pooling, not with averaging."""
        pool = layer["conv"]["pool"]
        if pool is not None and pool[0] == "avg" and layer["activation"] != "relu":
            raise self.refuse(node, "follows an average pool; expected Relu before the pooling (the conv kind applies "
                                    "ReLU, then pools: relu(avg) is not avg(relu))")
