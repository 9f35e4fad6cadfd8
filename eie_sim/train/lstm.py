"""An LSTM layer in NumPy with backpropagation through time, and its export to the model format.

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

import math

import numpy as np

from ..contract.fixedpoint import choose_frac
from ..contract.model import Model, ModelLayer
from ..errors import ConfigError, describe
from .nn import Dense, Layer, Network, Param

__all__ = ["LSTM", "lstm_classifier", "lstm_hidden", "export_lstm_model", "float_lstm_states"]


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class LSTM(Layer):
    """A single-layer LSTM over (batch, T, X) returning h_T (batch, H); W is (4H, X + H + 1)."""

    def __init__(self, n_in: int, hidden: int, rng: np.random.Generator, name: str = "lstm", clip: float = 5.0):
        self.name = name
        self.n_in, self.hidden, self.clip = int(n_in), int(hidden), clip
        H = self.hidden
        s = 1.0 / math.sqrt(H)
        w = rng.uniform(-s, s, (4 * H, n_in + H + 1)).astype(np.float32)
        w[:, -1] = 0.0
        w[H : 2 * H, -1] = 1.0  # forget-gate bias
        self.params = {"W": Param(w)}
        self.need_dx = False

    def forward(self, x, train):
        B, T, X = x.shape
        H = self.hidden
        W = self.params["W"].value
        wx, wh, wb = W[:, :X], W[:, X : X + H], W[:, -1]
        zx = (x.reshape(B * T, X) @ wx.T).reshape(B, T, 4 * H) + wb
        h = np.zeros((B, H), np.float32)
        c = np.zeros((B, H), np.float32)
        keep = train
        if keep:
            self.x = x
            self.hs = np.zeros((T + 1, B, H), np.float32)
            self.cs = np.zeros((T + 1, B, H), np.float32)
            self.gates = np.zeros((T, B, 4 * H), np.float32)
            self.tc = np.zeros((T, B, H), np.float32)
        for t in range(T):
            z = zx[:, t] + h @ wh.T
            a = np.empty_like(z)
            a[:, : 2 * H] = _sigmoid(z[:, : 2 * H])
            a[:, 2 * H : 3 * H] = np.tanh(z[:, 2 * H : 3 * H])
            a[:, 3 * H :] = _sigmoid(z[:, 3 * H :])
            c = a[:, H : 2 * H] * c + a[:, :H] * a[:, 2 * H : 3 * H]
            tc = np.tanh(c)
            h = a[:, 3 * H :] * tc
            if keep:
                self.gates[t], self.tc[t], self.hs[t + 1], self.cs[t + 1] = a, tc, h, c
        return h

    def backward(self, grad):
        x = self.x
        B, T, X = x.shape
        H = self.hidden
        W = self.params["W"].value
        wh = W[:, X : X + H]
        dz_all = np.empty((T, B, 4 * H), np.float32)
        dh = grad.astype(np.float32)
        dc = np.zeros((B, H), np.float32)
        for t in range(T - 1, -1, -1):
            a = self.gates[t]
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            tc = self.tc[t]
            dc = dc + dh * o * (1.0 - tc * tc)
            dz = dz_all[t]
            dz[:, 3 * H :] = dh * tc * o * (1.0 - o)
            dz[:, :H] = dc * g * i * (1.0 - i)
            dz[:, H : 2 * H] = dc * self.cs[t] * f * (1.0 - f)
            dz[:, 2 * H : 3 * H] = dc * i * (1.0 - g * g)
            dc = dc * f
            dh = dz @ wh
        dz2 = dz_all.transpose(1, 0, 2).reshape(B * T, 4 * H)
        gw = np.empty_like(W)
        gw[:, :X] = dz2.T @ x.reshape(B * T, X)
        hprev = self.hs[:T].transpose(1, 0, 2).reshape(B * T, H)
        gw[:, X : X + H] = dz2.T @ hprev
        gw[:, -1] = dz2.sum(axis=0)
        if self.clip:
            n = float(np.sqrt(np.sum(gw.astype(np.float64) ** 2)))
            if n > self.clip:
                gw *= np.float32(self.clip / n)
        self.params["W"].grad = gw
        return None  # the LSTM is the first layer: no input gradient needed


def lstm_hidden(arch: str) -> int:
    """H of ``lstm:H`` (an integer in 1..4096), or ConfigError."""
    s = arch[5:].strip()
    if not s.isdigit() or not 1 <= int(s) <= 4096:
        raise ConfigError(f"architecture={describe(arch)}: expected lstm:H with a hidden size H in 1..4096")
    return int(s)


def lstm_classifier(rng: np.random.Generator, steps: int, n_in: int, hidden: int, n_out: int) -> Network:
    """LSTM(H) over ``steps`` steps of ``n_in`` features, then Dense(H -> n_out) on h_T."""
    if steps < 1 or n_in < 1:
        raise ConfigError(f"sequence shape {steps} x {n_in}: expected steps >= 1 and features >= 1")
    return Network(f"lstm{hidden}", [LSTM(n_in, hidden, rng, name="lstm"), Dense(hidden, n_out, rng, name="fc")],
                   (steps, n_in))


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
        i, f, g, o = _sigmoid(z[:H]), _sigmoid(z[H : 2 * H]), np.tanh(z[2 * H : 3 * H]), _sigmoid(z[3 * H :])
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
        i, f, g, o = _sigmoid(z[:, :H]), _sigmoid(z[:, H : 2 * H]), np.tanh(z[:, 2 * H : 3 * H]), _sigmoid(z[:, 3 * H :])
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
