"""Layer kind ``fc``: a fully connected layer ``y = act(W x + bias)`` (EIE's workload, section III
of Han et al., ISCA 2016), computed by the SpMV contract of :mod:`eie_sim.contract.golden`.

An fc layer has no fields of its own; n_in and n_out are the matrix's columns and rows.
"""

from __future__ import annotations

import numpy as np

from ...errors import ActivationError, ConfigError
from ..fixedpoint import QFormat, count_quantize_saturated, count_shift_saturated, quantize_fixed, round_shift
from ..golden import ForwardResult, accumulate, config_of, prepare, reference_spmv, weights_csc
from ..saturation import POINTS
from .base import LayerKind, register

__all__ = ["FC"]


class FC(LayerKind):
    """``act(W x + bias)``, activation none or relu."""

    name = "fc"

    def golden(self, layer, x, config, *, act_frac=None, fixed_input=False):
        return reference_spmv(layer, x, config, act_frac=act_frac, fixed_input=fixed_input)

    def golden_batch(self, layer, x, q, config, *, saturation):
        """Exact integer arithmetic: one sparse integer product when the accumulators provably
        cannot saturate, else each sample's sequential saturating sum."""
        arith = config_of(layer) if config is None else config
        B, A = arith.act_bits, arith.acc_bits
        counts = np.zeros((len(x) if x is not None else len(q), len(POINTS)), dtype=np.int64)
        if x is not None:
            x = np.asarray(x, dtype=np.float64)
            if x.ndim != 2 or x.shape[1] != layer.n_in:
                raise ActivationError(f"x: shape {x.shape}; expected (samples, {layer.n_in})")
            if not np.all(np.isfinite(x)):
                raise ActivationError("x: expected finite values (no NaN or inf)")
        if None in (layer.in_frac, layer.w_frac, layer.out_frac):
            raise ConfigError(f"layer {layer.name!r}: reference_forward_batch needs stored in_frac, w_frac and out_frac")
        if x is not None:
            fa0 = QFormat(B, layer.in_frac)
            q = quantize_fixed(x, fa0)
            if saturation:
                counts[:, POINTS.index("inputs")] = count_quantize_saturated(x, fa0, axis=1)
        prep = prepare(layer, np.zeros(layer.shape[1], dtype=np.int64), config, fixed_input=True, act_frac=layer.in_frac)
        w = weights_csc(prep.source, prep.qc)
        lim = (1 << (A - 1)) - 1
        worst = np.abs(prep.acc0).astype(np.float64)[:, None] + abs(w).astype(np.float64) @ np.abs(q.T).astype(np.float64)
        if worst.size == 0 or float(worst.max()) < lim / 2:
            acc = (w @ q.T).T + prep.acc0[None, :]
        else:
            runs = [accumulate(w, q[i], prep.acc0, A) for i in range(q.shape[0])]
            acc = np.stack([r[0] for r in runs])
            counts[:, POINTS.index("acc")] = [r[1] for r in runs]
        shift = prep.acc_frac - layer.out_frac
        y = round_shift(acc, shift, B)
        relu = layer.activation == "relu"
        if saturation:
            counts[:, POINTS.index("weights")] = prep.saturation.weights
            counts[:, POINTS.index("bias")] = prep.saturation.bias
            counts[:, POINTS.index("outputs")] = count_shift_saturated(acc, shift, B, positive_only=relu, axis=1)
        return (np.maximum(y, 0) if relu else y), counts

    def float_forward(self, layer, h):
        w = layer.codebook[layer.dense_codes().astype(np.int64)]
        h = h @ w.T + (0.0 if layer.bias is None else layer.bias)
        return np.maximum(h, 0.0) if layer.activation == "relu" else h

    def chain_result(self, first, rest):
        return ForwardResult(layers=(first,) + tuple(rest))


register(FC())
