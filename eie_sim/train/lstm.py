"""The trainer's LSTM layer (:class:`eie_sim.train.nn.LSTM`, re-exported here) and its export to the model format.

The layer reads a batch of sequences ``x`` (batch, T, X) and returns the last hidden state
h_T (batch, H), which a Dense classifier follows (sequential Fashion-MNIST: the 28 rows of an
image are 28 steps of 28 pixels). Its one weight tensor ``W`` is the stacked gate matrix of
eie-sim's ``lstm`` layer kind (:mod:`eie_sim.contract.lstm`): 4H rows in gate order
i, f, g, o (rows k*H + u), over the inputs [x_t ; h_{t-1} ; 1] -- the bias is the last
column, so pruning, weight sharing, Huffman coding and DSD treat it like any other weight, as
in NT-LSTM's 1201 = 600 + 600 + 1 columns. Per step::

    z = W [x_t; h_{t-1}; 1];  i, f, o = sigmoid(z_i, z_f, z_o);  g = tanh(z_g)
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t);  h_0 = c_0 = 0

Training tricks, both standard for LSTMs: the forget-gate bias starts at 1 (Jozefowicz et
al., ICML 2015), and the gradient of W is clipped to an L2 norm of ``clip`` (default 5) per
batch (Pascanu et al., ICML 2013). Masks and shared codes work as for Dense (:class:`Param`).
"""

from __future__ import annotations

import numpy as np

from ..contract.fixedpoint import choose_frac
from ..contract.model import Model, ModelLayer
from ..errors import ConfigError
from .nn import LSTM, Dense, Network, lstm_classifier, lstm_hidden, sigmoid  # noqa: F401  (re-exported)

__all__ = ["LSTM", "lstm_classifier", "lstm_hidden", "export_lstm_model", "float_lstm_states"]


def float_lstm_states(w: np.ndarray, hidden: int, seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 reference: (h, c) after every step, each (T, H), for one sequence (T, X) and a
    gate matrix ``w`` (4H, X + H + 1) in gate order i, f, g, o."""
    w = np.asarray(w, np.float64)
    seq = np.asarray(seq, np.float64)
    H = hidden
    h = np.zeros(H)
    c = np.zeros(H)
    hs, cs = [], []
    for xt in seq:
        z = w @ np.concatenate([xt, h, [1.0]])
        i, f, g, o = sigmoid(z[:H]), sigmoid(z[H : 2 * H]), np.tanh(z[2 * H : 3 * H]), sigmoid(z[3 * H :])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.array(hs), np.array(cs)


def export_lstm_model(net: Network, calibration: np.ndarray, *, name: str, act_bits: int = 16, index_bits: int = 4,
                      headroom: float = 2.0, meta: dict | None = None) -> Model:
    """An LSTM classifier (weights shared) as an eie-sim :class:`Model`: an ``lstm`` layer and
    the Dense layers after it, with fixed-point formats calibrated on ``calibration``
    sequences (n, T * X or T, X): the input format of x_t and h (at most 14 fractional bits,
    so that h's range (-1, 1) and the constant 1 fit), the gate pre-activation format and the
    cell-state format from ``headroom`` x the largest values seen (float64 with the codebook
    values), and the classifier's formats as :func:`eie_sim.train.compress.export_model`."""
    lstm = net.layers[0]
    if not isinstance(lstm, LSTM) or not all(isinstance(l, Dense) for l in net.layers[1:]):
        raise ConfigError(f"network {net.name!r}: expected an LSTM followed by Dense layers")
    p = lstm.params["W"]
    if p.codes is None or any(l.params["W"].codes is None for l in net.layers[1:]):
        raise ConfigError("export_lstm_model: share_weights() first; the model format stores weight codes")
    T, X = net.input_shape
    H = lstm.hidden
    xs = calibration.reshape(len(calibration), T, X).astype(np.float64)
    cb = p.codebook.astype(np.float64)
    cb[0] = 0.0
    w = cb[p.codes.astype(np.int64)]
    in_frac = max(0, min(choose_frac(xs, act_bits), act_bits - 2))  # the cell's legal range (contract.lstm)
    zmax = cmax = 0.0
    h = np.zeros((len(xs), H))
    c = np.zeros((len(xs), H))
    for t in range(T):
        z = np.concatenate([xs[:, t], h, np.ones((len(xs), 1))], axis=1) @ w.T
        zmax = max(zmax, float(np.abs(z).max()))
        i, f, g, o = sigmoid(z[:, :H]), sigmoid(z[:, H : 2 * H]), np.tanh(z[:, 2 * H : 3 * H]), sigmoid(z[:, 3 * H :])
        c = f * c + i * g
        cmax = max(cmax, float(np.abs(c).max()))
        h = o * np.tanh(c)
    layers = [ModelLayer(
        name=lstm.name, codebook=cb, codes=p.codes.astype(np.uint8), kind="lstm", act_bits=act_bits,
        params={"hidden": H, "state_frac": _cell_frac(headroom * cmax, act_bits)},
        in_frac=in_frac, w_frac=choose_frac(cb, act_bits), out_frac=_cell_frac(headroom * zmax, act_bits),
        index_bits=index_bits,
        meta={"kept_pct": float(100 * np.count_nonzero(p.codes) / p.codes.size)},
    )]
    frac = in_frac
    dense = net.layers[1:]
    for k, layer in enumerate(dense):
        q = layer.params["W"]
        cbd = q.codebook.astype(np.float64)
        cbd[0] = 0.0
        b = layer.params["b"].value.astype(np.float64)
        h = h @ cbd[q.codes.astype(np.int64)].T + b
        out_frac = choose_frac(np.array([headroom * np.abs(h).max()]), act_bits)
        layers.append(ModelLayer(
            name=layer.name, codebook=cbd, codes=q.codes.astype(np.uint8), bias=b, activation="none",
            act_bits=act_bits, in_frac=frac, w_frac=choose_frac(cbd, act_bits), out_frac=out_frac,
            index_bits=index_bits, meta={"kept_pct": float(100 * np.count_nonzero(q.codes) / q.codes.size)},
        ))
        frac = out_frac
    return Model(layers=tuple(layers), meta=dict(meta or {}, name=name, sequence={"steps": T, "features": X}))


def _cell_frac(peak: float, act_bits: int) -> int:
    """Fractional bits of a gate pre-activation or cell-state format that hold ``peak``, capped
    to the LSTM cell's legal range 0..act_bits - 1 (:func:`eie_sim.contract.lstm.lstm_formats`):
    a cell whose values are all tiny (an untrained or zero layer) would otherwise get act_bits."""
    return max(0, min(choose_frac(np.array([peak]), act_bits), act_bits - 1))
