"""The LSTM part of the ONNX importer: a forward ``LSTM`` read as the first layer and the read-out
of its last hidden state (``Y_h``, or ``Y``'s last step through Squeeze / Gather / Slice).

:class:`LstmOps` holds the ``op_*`` methods of these nodes; the graph walker of
:mod:`eie_sim.io.onnx_import` inherits them. Gate order: ONNX's i, o, f, c is mapped to
eie-sim's i, f, g, o, and the bias Wb + Rb becomes the last column of the 4H x (X + H + 1)
matrix (:mod:`eie_sim.contract.lstm`).
"""

from __future__ import annotations

import numpy as np
from onnx import helper

__all__ = ["LstmOps", "attrs", "LSTM_SUPPORTED"]

LSTM_SUPPORTED = ("forward direction, default activations (Sigmoid, Tanh, Tanh), no peepholes, no clip, input_forget=0, "
                  "layout=0, no or all-zero initial_h / initial_c, no sequence_lens or all equal to T")
_ONNX_TO_EIE_GATES = (0, 2, 3, 1)  # eie-sim i, f, g, o = ONNX blocks i (0), f (2), c (3), o (1)


def attrs(node) -> dict:
    """A node's attributes as Python values."""
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


_attrs = attrs


class LstmOps:
    """The LSTM node and the nodes that read its last step (mixed into the importer's walker)."""


    def lstm_fail(self, node, why: str):
        return self.fail(node, f"{why}; eie-sim reads an LSTM with {LSTM_SUPPORTED}")

    def op_lstm(self, node, k: int) -> str:
        if not self.sequence or k != 0 or self.lstm is not None or self.layers or self.cur != self.input_name:
            raise self.fail(node, "is not the first operation on the graph input; an LSTM is read only as the first "
                                  "layer, on the input [T, batch, X]")
        a = _attrs(node)
        text = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # noqa: E731
        direction = text(a.get("direction", "forward"))
        if direction != "forward":
            raise self.lstm_fail(node, f"has direction={direction!r}")
        acts = [text(v) for v in a.get("activations", ["Sigmoid", "Tanh", "Tanh"])]
        if [v.lower() for v in acts] != ["sigmoid", "tanh", "tanh"]:
            raise self.lstm_fail(node, f"has activations={acts}")
        if "clip" in a:
            raise self.lstm_fail(node, f"has clip={a['clip']:g}")
        if a.get("input_forget", 0):
            raise self.lstm_fail(node, f"has input_forget={a['input_forget']}")
        if a.get("layout", 0):
            raise self.lstm_fail(node, f"has layout={a['layout']} (batch first)")
        if len(node.input) > 7 and node.input[7]:
            raise self.lstm_fail(node, f"has peephole weights P {node.input[7]!r}")
        T, X = self.input_sizes
        w = self.const(node, 1, "W")
        hidden = a.get("hidden_size")
        if w.ndim != 3 or w.shape[0] != 1 or w.shape[1] % 4 or w.shape[2] != X or w.shape[1] == 0:
            raise self.lstm_fail(node, f"has W of shape {list(w.shape)}; expected [1, 4H, {X}]")
        H = w.shape[1] // 4
        if hidden is not None and hidden != H:
            raise self.lstm_fail(node, f"has hidden_size={hidden} but W of shape {list(w.shape)}")
        r = self.const(node, 2, "R")
        if r.shape != (1, 4 * H, H):
            raise self.lstm_fail(node, f"has R of shape {list(r.shape)}; expected [1, {4 * H}, {H}]")
        bias = np.zeros(4 * H)
        if len(node.input) > 3 and node.input[3]:
            b = self.const(node, 3, "B")
            if b.shape != (1, 8 * H):
                raise self.lstm_fail(node, f"has B of shape {list(b.shape)}; expected [1, {8 * H}]")
            bias = b[0, : 4 * H] + b[0, 4 * H :]
        if len(node.input) > 4 and node.input[4]:
            lens = self.const(node, 4, "sequence_lens", floating=False).reshape(-1)
            if not np.all(lens == T):
                raise self.lstm_fail(node, f"has sequence_lens {lens.tolist()} (varying or not T={T}): every sequence "
                                           f"must have all {T} steps")
        for j, what in ((5, "initial_h"), (6, "initial_c")):
            if len(node.input) > j and node.input[j] and np.any(self.const(node, j, what)):
                raise self.lstm_fail(node, f"has a non-zero {what} {node.input[j]!r}")
        if len(node.output) > 2 and node.output[2] and node.output[2] in self.used:
            raise self.fail(node, f"has its cell-state output Y_c {node.output[2]!r} used; only Y or Y_h can be")
        used = [j for j in (0, 1) if len(node.output) > j and node.output[j] and node.output[j] in self.used]
        if len(used) != 1:
            raise self.fail(node, "has " + ("both Y and Y_h" if used else "neither Y nor Y_h") + " used; expected "
                                  "exactly one of them, read by the classifier")
        blocks = lambda m: np.concatenate([m[g * H : (g + 1) * H] for g in _ONNX_TO_EIE_GATES])  # noqa: E731
        weight = np.concatenate([blocks(w[0]), blocks(r[0]), blocks(bias)[:, None]], axis=1)
        self.lstm = {"name": self.layer_name(node), "weight": weight, "hidden": H, "steps": T}
        self.seq = [["T", T], ["1", 1], ["N", 1], ["H", H]] if used[0] == 0 else [["1", 1], ["N", 1], ["H", H]]
        self.shape = ()
        return node.output[used[0]]

    def seq_text(self) -> str:
        return "[" + ", ".join("batch" if kind == "N" else str(n) for kind, n in self.seq) + "]"

    def seq_done(self) -> None:
        if [kind for kind, _ in self.seq] == ["N", "H"]:
            self.shape = (self.lstm["hidden"],)
            self.seq = None

    def seq_axis(self, node, axis: int) -> int:
        n = len(self.seq)
        if not -n <= axis < n:
            raise self.fail(node, f"has axis {axis} for the LSTM's output {self.seq_text()}")
        return axis % n

    def seq_only(self, node) -> None:
        if self.seq is None:
            raise self.fail(node, "does not follow an LSTM; it is read only to take the LSTM's last hidden state")

    def op_squeeze(self, node, k: int) -> None:
        self.seq_only(node)
        if len(node.input) > 1 and node.input[1]:
            axes = self.const(node, 1, "axes", floating=False).reshape(-1).tolist()
        else:
            axes = _attrs(node).get("axes")
        if not axes:
            raise self.fail(node, f"has no axes; expected explicit axes of the LSTM's output {self.seq_text()} "
                                  "(all size-1 axes would drop a batch of 1 too)")
        axes = sorted({self.seq_axis(node, int(x)) for x in axes})
        for ax in axes:
            kind, n = self.seq[ax]
            if kind == "N" or n != 1:
                raise self.fail(node, f"squeezes axis {ax} of the LSTM's output {self.seq_text()}; expected an axis "
                                      "of size 1 other than the batch")
        self.seq = [d for j, d in enumerate(self.seq) if j not in axes]
        self.seq_done()

    def last_step_axis(self, node, axis: int) -> int:
        ax = self.seq_axis(node, axis)
        if self.seq[ax][0] not in ("T", "1"):
            raise self.fail(node, f"selects along axis {ax} of the LSTM's output {self.seq_text()}; expected the "
                                  "time axis (the last step)")
        return ax

    def op_gather(self, node, k: int) -> None:
        self.seq_only(node)
        if k != 0:
            raise self.fail(node, "gathers from a constant by the LSTM's output")
        ax = self.last_step_axis(node, int(_attrs(node).get("axis", 0)))
        idx = self.const(node, 1, "indices", floating=False)
        n = self.seq[ax][1]
        if idx.ndim != 0 or int(idx) not in (n - 1, -1):
            raise self.fail(node, f"gathers indices {idx.tolist()} on axis {ax}; expected the scalar {n - 1} or -1 "
                                  "(the last step)")
        del self.seq[ax]
        self.seq_done()

    def op_slice(self, node, k: int) -> None:
        self.seq_only(node)
        if k != 0:
            raise self.fail(node, "slices a constant by the LSTM's output")
        a = _attrs(node)
        if self.opset < 10:
            starts, ends, axes, steps = a.get("starts"), a.get("ends"), a.get("axes"), None
        else:
            get = lambda j: (self.const(node, j, "slice bounds", floating=False).reshape(-1).tolist()  # noqa: E731
                             if len(node.input) > j and node.input[j] else None)
            starts, ends, axes, steps = get(1), get(2), get(3), get(4)
        axes = axes if axes is not None else list(range(len(starts)))
        if len(starts) != 1 or len(axes) != 1 or (steps is not None and list(steps) != [1]):
            raise self.fail(node, f"slices starts={starts} ends={ends} axes={axes} steps={steps}; expected one axis, "
                                  "step 1: the last step of the time axis")
        ax = self.last_step_axis(node, int(axes[0]))
        n = self.seq[ax][1]
        if int(starts[0]) not in (n - 1, -1) or int(ends[0]) < n:
            raise self.fail(node, f"slices [{starts[0]}:{ends[0]}] of the time axis ({n} steps); expected the last "
                                  f"step only ([-1:] or [{n - 1}:{n}])")
        self.seq[ax] = ["1", 1]
        self.seq_done()
