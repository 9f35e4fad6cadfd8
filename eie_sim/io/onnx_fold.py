"""Input normalisation in front of the first layer, folded into it (``import``).

The usual preprocessing ``(x - mean) / std`` (or ``x * s + t``) appears in ONNX as ``Sub``,
``Div``, ``Mul`` and ``Add`` nodes with constant operands between the graph input and the first
``Gemm`` / ``MatMul``. Their composition is an affine map ``x -> x * scale + shift`` (per feature,
or scalar), which the first layer absorbs exactly: ``W' = W diag(scale)``, ``b' = b + W shift``.
The model then reads the raw input, so ``--input-range`` names the raw range (0..255 pixels)."""

from __future__ import annotations

import numpy as np

__all__ = ["InputAffine"]

NORMALISING_OPS = {"Sub", "Div", "Mul"}


class InputAffine:
    """Mixin of the import chain (``_Chain``): ``self.pre`` is (scale, shift) or None."""

    pre = None

    def _affine_operand(self, node, k: int) -> np.ndarray:
        c = self.const(node, 1 - k, "a constant operand")
        n = self.shape[0] if len(self.shape) == 1 else None
        if c.size == 1:
            return c.reshape(())
        if n is None or c.size != n or (c.ndim > 1 and c.shape[-1] != n):
            raise self.fail(node, f"normalises the input with a constant of shape {list(c.shape)}; expected a scalar "
                                  f"or one value per input feature ([{n if n else 'features'}])")
        return c.reshape(-1)

    def normalise(self, node, k: int) -> None:
        """Compose ``node`` (Sub, Div, Mul, Add by a constant, before any layer) into ``self.pre``."""
        c = self._affine_operand(node, k)
        scale, shift = self.pre if self.pre is not None else (np.float64(1.0), np.float64(0.0))
        op = node.op_type
        if op == "Add":
            shift = shift + c
        elif op == "Sub":
            scale, shift = (scale, shift - c) if k == 0 else (-scale, c - shift)
        elif op == "Mul":
            scale, shift = scale * c, shift * c
        else:  # Div
            if k != 0:
                raise self.fail(node, "divides a constant by the input; only x / c is folded into the first layer")
            if np.any(c == 0):
                raise self.fail(node, "divides the input by zero")
            scale, shift = scale / c, shift / c
        self.pre = (scale, shift)

    def fold_into(self, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The first layer's (W, b) with the input's affine map folded in (once)."""
        if self.pre is None:
            return w, b
        scale, shift = self.pre
        self.pre = None
        n = w.shape[1]
        scale = np.broadcast_to(np.asarray(scale, np.float64), (n,))
        shift = np.broadcast_to(np.asarray(shift, np.float64), (n,))
        return w * scale[None, :], b + w @ shift

    def op_sub(self, node, k: int) -> None:
        self._before_layers(node)
        self.normalise(node, k)

    op_mul = op_sub
    op_div = op_sub

    def _before_layers(self, node) -> None:
        if self.layers or getattr(self, "lstm", None) is not None:
            raise self.fail(node, "comes after the first layer; Sub, Mul and Div by constants are read only before "
                                  "it (input normalisation, folded into the first layer)")
