"""Layer kind ``lstm``: the LSTM cell of :mod:`eie_sim.contract.lstm` over a sequence (ESE, Han et
al., FPGA 2017, runs LSTMs on EIE's array; here the gate product is one EIE matrix).

Fields: ``hidden`` (H, integer >= 1) and ``state_frac`` (the cell state's fractional bits, None
for the default). The matrix is W (4H, X + H + 1) over [x_t ; h_{t-1} ; 1] with its bias in the
last column, so the layer has activation ``none`` and no bias. A sequence kind: only a model's
first layer; ``n_in`` = X (per step), ``n_out`` = H (h_T is passed on in in_frac's format).
"""

from __future__ import annotations

import numpy as np

from ...errors import EncodingError, describe
from ..layer import check_opt_frac
from ..lstm import SequenceResult, float_lstm, lstm_batch, lstm_formats, reference_lstm
from .base import LayerKind, record_frac, record_int, register

__all__ = ["LSTM"]


class LSTM(LayerKind):
    """The gate matrix of an LSTM cell, gates i, f, g, o (contract in :mod:`eie_sim.contract.lstm`)."""

    name = "lstm"
    fields = ("hidden", "state_frac")
    sequence = True

    def check(self, layer, params, where):
        extra = sorted(set(params) - set(self.fields))
        if extra:
            raise EncodingError(f"{where}: params {extra}; kind 'lstm' has fields {list(self.fields)}")
        state_frac = check_opt_frac(f"{where}: state_frac", params.get("state_frac"))
        H = params.get("hidden")
        if isinstance(H, bool) or not isinstance(H, (int, np.integer)) or H < 1:
            raise EncodingError(f"{where}: hidden={describe(H)}; expected an integer >= 1 for an lstm layer")
        H = int(H)
        rows, cols = layer.shape
        if rows != 4 * H or cols < H + 2:
            raise EncodingError(f"{where}: shape {rows}x{cols}; an lstm layer with hidden={H} expects "
                                f"{4 * H} x (X + {H + 1}) with X >= 1 (the gate matrix over [x_t; h_t-1; 1])")
        if layer.activation != "none" or layer.bias is not None:
            raise EncodingError(f"{where}: activation={layer.activation!r}, bias given: {layer.bias is not None}; an lstm "
                                "layer expects activation 'none' and no bias (its bias is the matrix's last column)")
        return {"hidden": H, "state_frac": state_frac}

    def read(self, rec, where):
        return {"hidden": record_int(rec, "hidden", where, 1, 1 << 22), "state_frac": record_frac(rec, "state_frac", where)}

    def n_in(self, layer):
        return layer.shape[1] - layer.params["hidden"] - 1

    def n_out(self, layer):
        return layer.params["hidden"]

    def next_frac(self, layer):
        return layer.in_frac

    def stored_formats(self, layer, acc_bits):
        fm, B = lstm_formats(layer), layer.act_bits
        return (("inputs", B, fm.fa), ("weights", B, fm.fw), ("acc", acc_bits, fm.fa + fm.fw), ("gates", B, fm.fg),
                ("state", B, fm.fc), ("hidden", B, fm.fa))

    def golden(self, layer, x, config, *, act_frac=None, fixed_input=False):
        if fixed_input:
            raise EncodingError(f"layer {layer.name!r}: an lstm layer reads a float sequence; expected it first")
        return reference_lstm(layer, x, config)

    def golden_batch(self, layer, x, q, config, *, saturation):
        if x is None:
            raise EncodingError(f"layer {layer.name!r}: an lstm layer reads float sequences; expected it first")
        return lstm_batch(layer, x, config, saturation=saturation)

    def float_forward(self, layer, h):
        return float_lstm(layer, h)

    def chain_result(self, first, rest):
        return SequenceResult(first, tuple(rest))


register(LSTM())
