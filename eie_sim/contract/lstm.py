"""Bit-exact fixed-point golden model of an LSTM layer (layer kind ``lstm``) over a sequence.

The arithmetic contract
-----------------------
This docstring is the contract that the cycle model (:mod:`eie_sim.cycle.lstm`) matches bit for
bit. B = ``act_bits`` (8..16), A = ``acc_bits``; rounding is round half up and every narrowing
saturates, as in :mod:`eie_sim.contract.golden` (the FC contract), whose steps 1-4 compute the
gates.

Layer: input size X, hidden size H, codes W of shape (4H, X + H + 1) over the inputs
[x_t ; h_{t-1} ; 1], rows in gate order **i, f, g, o** (row k*H + u is gate k of unit u; ONNX's
order i, o, f, c is mapped on import). Formats (stored in the layer, or the defaults in
brackets):

* ``fa`` = in_frac, 0 <= fa <= B - 2 [largest that fits the sequence, at most B - 2]: x_t
  and h_t are Q(B, fa), so h's range (-1, 1) and the constant input 1 (the integer 2**fa) fit.
* ``fw`` = w_frac [from the codebook's range]: the codebook, as for FC layers.
* ``fg`` = out_frac, 0 <= fg <= B - 1 [B - 6: range +-32]: the gate pre-activations.
* ``fc`` = state_frac, 0 <= fc <= B - 1 [B - 5: range +-16]: the cell state c.
* ``fs`` = B - 2 (fixed): the gate values i, f, g, o and tanh(c), range [-2, 2).

Step t = 1..T, with h_0 = c_0 = 0 (integers):

1. **Gates.** a = [qx_t ; qh_{t-1} ; 2**fa] in Q(B, fa) (x_t quantised as FC step 1 at fa).
   z = the FC contract's steps 2-4 on W and a with no bias, no ReLU and output format
   Q(B, fg): ``acc = sum_j qc[W_kj] a_j`` in Q(A, fa + fw), ascending j, saturating; then
   ``z = sat_B(round(acc * 2**(fg - fa - fw)))``.
2. **Non-linearities** by one shared table: ``TANH[n] = round(tanh(-8 + n/64) * 2**fs)``,
   n = 0..1024 (1,025 B-bit entries, step 2**-6 over the clamped range [-8, 8]).
   ``tanh_q(z, f)`` for z in Q(B, f): with u = clip(z + 8 * 2**f, 0, 16 * 2**f) (the input
   clamped to [-8, 8]); if f >= 6, d = f - 6, n = u >> d, r = u - (n << d), and
   ``y = TANH[n] + ((TANH[n+1] - TANH[n]) * r + 2**(d-1)) >> d`` (linear interpolation,
   round half up; n = 1024 or d = 0 gives TANH[n]); if f < 6, y = TANH[u << (6 - f)].
   ``sigmoid_q(z, f) = (2**fs + tanh_q(z, f + 1) + 1) >> 1``, since sigmoid(z) = (1 + tanh(z/2)) / 2
   (reading z at f + 1 halves it; the clamped range is [-16, 16]).
   i = sigmoid_q(z_i, fg), f = sigmoid_q(z_f, fg), g = tanh_q(z_g, fg), o = sigmoid_q(z_o, fg).
3. **Cell.** ``c_t = sat_B((f * c_{t-1} * 2**fs + i * g * 2**fc + 2**(2fs-1)) >> 2fs)``: both
   products exact, aligned at 2fs + fc fractional bits, summed exactly, rounded once to Q(B, fc).
4. **Hidden.** ``h_t = sat_B((o * tanh_q(c_t, fc) + 2**(2fs-fa-1)) >> (2fs - fa))``: Q(B, fa),
   fed back as the next step's a and passed on (h_T) to the next layer.

Non-linearity errors (tested exhaustively over every B-bit input at every format f used): with
fs = 14 (B = 16), |tanh_q(z) - tanh(z 2**-f)| <= ``TANH_ERROR`` = 2**-fs (table rounding and
the final rounding, half an LSB each) + max|tanh''| (1/64)**2 / 8 (interpolation: 2.35e-5) +
1 - tanh(8) (clamp: 2.3e-7) = 8.46e-5, and |sigmoid_q - sigmoid| <= ``SIGMOID_ERROR`` =
TANH_ERROR / 2 + 2**-(fs+1) = 7.28e-5 (:func:`function_errors` for other B).

Error over T steps (tested): :func:`error_bound` propagates a rigorous per-step bound on
|h_t - h_t(float64)| (the float64 cell on the unquantised codebook values): the FC bound for
the gate pre-activations with the input errors of x (half an LSB) and of h (the previous
step's bound); through sigmoid and tanh by the mean value theorem -- the largest slope within
the pre-activation's error interval (at most 1/4 and 1) -- plus the table errors; then the
product rules for c and h and their roundings (2**-(fc+1), 2**-(fa+1)). It assumes no gate
pre-activation, cell state or accumulator saturates (``LstmResult.saturated`` says). Tested on
random 16-unit layers (|W| row sums about 1.5) over 28 steps: measured error below 1e-3, bound
below 5e-3 (``tests/contract/test_lstm.py``). It is a worst case: for strongly coupled cells
(|W| row sums of 3 and more) it grows geometrically with T and says little, while the measured
error stays near 4e-4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..config import ArchConfig
from ..errors import ActivationError, ConfigError, EncodingError, describe
from .fixedpoint import QFormat, choose_frac, count_quantize_saturated, count_shift_saturated, quantize_fixed, round_shift
from .golden import (SpmvResult, config_of, dense_codes_of, prepare, reference_forward, reference_forward_batch,
                     spmv_prepared, weights_csc)
from .layer import Model, ModelLayer
from .saturation import POINTS, Saturation

__all__ = [
    "LUT_STEP_BITS", "LUT_RANGE", "LstmFormats", "LstmResult", "SequenceResult", "lstm_formats", "tanh_table",
    "tanh_q", "sigmoid_q", "cell_update", "function_errors", "TANH_ERROR", "SIGMOID_ERROR", "check_sequence",
    "reference_lstm", "reference_sequence", "reference_sequence_batch", "lstm_batch", "float_lstm", "error_bound",
]

LUT_STEP_BITS = 6  # table step 2**-6
LUT_RANGE = 8  # tanh clamped to [-8, 8]
_N = 2 * LUT_RANGE << LUT_STEP_BITS  # 1024 intervals, 1025 entries
_TANH2_MAX = 0.7698003589195010  # max |tanh''| = 4/(3 sqrt 3)


@lru_cache(maxsize=None)
def tanh_table(bits: int = 16) -> np.ndarray:
    """TANH[n] = round(tanh(-8 + n/64) * 2**(bits-2)), n = 0..1024 (int64, read-only)."""
    grid = -LUT_RANGE + np.arange(_N + 1) / (1 << LUT_STEP_BITS)
    t = np.floor(np.tanh(grid) * (1 << (bits - 2)) + 0.5).astype(np.int64)
    t.setflags(write=False)
    return t


def function_errors(bits: int = 16) -> tuple[float, float]:
    """(tanh, sigmoid) error bounds of :func:`tanh_q` and :func:`sigmoid_q` (module docstring)."""
    fs = bits - 2
    e_t = math.ldexp(1.0, -fs) + _TANH2_MAX / 8 * math.ldexp(1.0, -2 * LUT_STEP_BITS) + (1 - math.tanh(LUT_RANGE))
    return e_t, e_t / 2 + math.ldexp(1.0, -(fs + 1))


TANH_ERROR, SIGMOID_ERROR = function_errors(16)


def tanh_q(z: np.ndarray, frac: int, bits: int = 16) -> np.ndarray:
    """tanh of ``z`` (int64, Q(bits, frac)) as Q(bits, bits - 2) integers (module step 2)."""
    z = np.asarray(z, dtype=np.int64)
    table = tanh_table(bits)
    if frac >= LUT_STEP_BITS:
        d = frac - LUT_STEP_BITS
        u = np.clip(z + (LUT_RANGE << frac), 0, (2 * LUT_RANGE) << frac)
        n = u >> d
        r = u - (n << d)
        nn = np.minimum(n + 1, _N)
        if d == 0:
            return table[n]
        return table[n] + (((table[nn] - table[n]) * r + (1 << (d - 1))) >> d)
    lim = LUT_RANGE << frac
    return table[(np.clip(z, -lim, lim) << (LUT_STEP_BITS - frac)) + (_N >> 1)]


def sigmoid_q(z: np.ndarray, frac: int, bits: int = 16) -> np.ndarray:
    """sigmoid of ``z`` (Q(bits, frac)) as Q(bits, bits - 2): (1 + tanh(z / 2)) / 2."""
    return ((1 << (bits - 2)) + tanh_q(z, frac + 1, bits) + 1) >> 1


@dataclass(frozen=True)
class LstmFormats:
    """The fractional bits of module contract: fa (x, h), fw (codebook), fg (gate
    pre-activations), fc (cell state); fs = bits - 2 (gate values)."""

    bits: int
    fa: int
    fw: int
    fg: int
    fc: int

    @property
    def fs(self) -> int:
        return self.bits - 2


def _check_lstm(layer) -> ModelLayer:
    if not isinstance(layer, ModelLayer) or "hidden" not in layer.params:
        raise EncodingError(f"layer={describe(layer)}: expected a ModelLayer of kind 'lstm'")
    if not 8 <= layer.act_bits <= 16:
        raise ConfigError(f"layer {layer.name!r}: act_bits={layer.act_bits}; the LSTM cell supports 8..16")
    return layer


def check_sequence(seq, n_in: int, name: str = "sequence") -> np.ndarray:
    """A finite float64 (T, X) array with T >= 1, or ActivationError."""
    a = np.asarray(seq)
    if a.ndim != 2 or a.shape[1] != n_in or a.shape[0] < 1:
        raise ActivationError(f"{name}: shape {a.shape}; expected (T, {n_in}), T >= 1 steps of {n_in} inputs")
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise ActivationError(f"{name}: expected numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ActivationError(f"{name}: expected finite values (no NaN or inf)")
    return a


def lstm_formats(layer: ModelLayer, seq: np.ndarray | None = None) -> LstmFormats:
    """The layer's formats, stored or defaulted (module docstring), validated."""
    lay = _check_lstm(layer)
    B = lay.act_bits
    fa = lay.in_frac
    if fa is None:
        fa = min(choose_frac(seq if seq is not None else np.zeros(1), B), B - 2)
    fw = lay.w_frac if lay.w_frac is not None else choose_frac(lay.codebook, B)
    fg = B - 6 if lay.out_frac is None else lay.out_frac
    fc = B - 5 if lay.state_frac is None else lay.state_frac
    for nm, v, hi in (("in_frac", fa, B - 2), ("out_frac", fg, B - 1), ("state_frac", fc, B - 1)):
        if not 0 <= v <= hi:
            raise ConfigError(f"layer {lay.name!r}: {nm}={v}; the LSTM cell expects 0..{hi} for act_bits={B}")
    return LstmFormats(B, fa, fw, fg, fc)


def cell_update(z: np.ndarray, c_prev: np.ndarray, fm: LstmFormats, counts: bool = False):
    """Steps 2-4 on gate pre-activations ``z`` (..., 4H) in Q(B, fg) and c_{t-1}:
    returns (gates (..., 4H) i f g o in Q(B, fs), c_t in Q(B, fc), h_t in Q(B, fa)); with
    ``counts`` also (cell-state values clipped, hidden values clipped), per row of ``z``'s
    leading axes (a plain int for one step)."""
    H = z.shape[-1] // 4
    B, fs = fm.bits, fm.fs
    i = sigmoid_q(z[..., :H], fm.fg, B)
    f = sigmoid_q(z[..., H : 2 * H], fm.fg, B)
    g = tanh_q(z[..., 2 * H : 3 * H], fm.fg, B)
    o = sigmoid_q(z[..., 3 * H :], fm.fg, B)
    c_wide = (f * c_prev << fs) + (i * g << fm.fc)
    c = round_shift(c_wide, 2 * fs, B)
    h_wide = o * tanh_q(c, fm.fc, B)
    h = round_shift(h_wide, 2 * fs - fm.fa, B)
    gates = np.concatenate([i, f, g, o], axis=-1)
    if not counts:
        return gates, c, h
    axis = None if z.ndim == 1 else -1
    return (gates, c, h, count_shift_saturated(c_wide, 2 * fs, B, axis=axis),
            count_shift_saturated(h_wide, 2 * fs - fm.fa, B, axis=axis))


@dataclass(frozen=True, eq=False)
class LstmResult:
    """Golden run of an lstm layer over T steps: int64 arrays per step (rows = steps)."""

    z_fixed: np.ndarray  # (T, 4H) gate pre-activations, Q(B, fg)
    gates_fixed: np.ndarray  # (T, 4H) i, f, g, o, Q(B, fs)
    c_fixed: np.ndarray  # (T, H) Q(B, fc)
    h_fixed: np.ndarray  # (T, H) Q(B, fa)
    formats: LstmFormats
    steps: tuple  # one SpmvResult per step (the gate matrix-vector product)
    saturated: bool  # any accumulator, gate pre-activation or cell state reached its bounds
    saturation: Saturation = Saturation()  # counts over all steps (eie_sim.contract.saturation)

    @property
    def out_format(self) -> QFormat:
        return QFormat(self.formats.bits, self.formats.fa)

    @property
    def h(self) -> np.ndarray:
        return np.ldexp(self.h_fixed.astype(np.float64), -self.formats.fa)

    @property
    def output_fixed(self) -> np.ndarray:
        return self.h_fixed[-1]

    @property
    def output(self) -> np.ndarray:
        return self.h[-1]


@dataclass(frozen=True, eq=False)
class SequenceResult:
    """A sequence model's golden output: the lstm layer's result and the FC layers' after it."""

    lstm: LstmResult
    layers: tuple[SpmvResult, ...]

    @property
    def output_fixed(self) -> np.ndarray:
        return self.layers[-1].output_fixed if self.layers else self.lstm.output_fixed

    @property
    def output(self) -> np.ndarray:
        return self.layers[-1].output if self.layers else self.lstm.output

    @property
    def saturation(self) -> Saturation:
        """The counts summed over the lstm layer and the FC layers."""
        return Saturation.sum([self.lstm.saturation] + [r.saturation for r in self.layers])


def _saturates(q: np.ndarray, bits: int) -> bool:
    return bool(q.size and (q.min() <= -(1 << (bits - 1)) or q.max() >= (1 << (bits - 1)) - 1))


def step_activations(qx: np.ndarray, h_prev: np.ndarray, fa: int) -> np.ndarray:
    """a = [qx_t ; qh_{t-1} ; 2**fa], the step's input vector in Q(B, fa)."""
    return np.concatenate([qx, h_prev, [1 << fa]]).astype(np.int64)


def reference_lstm(layer: ModelLayer, seq, config: ArchConfig | None = None) -> LstmResult:
    """Golden run of ``layer`` (kind lstm) over the float sequence ``seq`` (T x X)."""
    lay = _check_lstm(layer)
    seq = check_sequence(seq, lay.n_in)
    fm = lstm_formats(lay, seq)
    qx = quantize_fixed(seq, QFormat(fm.bits, fm.fa))
    H = lay.hidden
    h = np.zeros(H, np.int64)
    c = np.zeros(H, np.int64)
    out = {k: [] for k in ("z", "g", "c", "h", "s")}
    sat = False
    n = dict(inputs=count_quantize_saturated(seq, QFormat(fm.bits, fm.fa)), acc=0, gates=0, state=0, hidden=0)
    for t in range(len(seq)):
        res = spmv_prepared(prepare(lay, step_activations(qx[t], h, fm.fa), config, act_frac=fm.fa, w_frac=fm.fw,
                                    out_frac=fm.fg, fixed_input=True))
        gates, c, h, n_c, n_h = cell_update(res.output_fixed, c, fm, counts=True)
        sat = sat or res.acc_saturated or _saturates(res.output_fixed, fm.bits) or _saturates(c, fm.bits)
        for k, v in (("acc", res.saturation.acc), ("gates", res.saturation.outputs), ("state", n_c), ("hidden", n_h)):
            n[k] += v
        for k, v in zip("zgchs", (res.output_fixed, gates, c, h, res)):
            out[k].append(v)
    A = {p: b for p, b, _ in out["s"][0].saturation.formats}["acc"]  # the accumulator's bits, as the steps ran
    fmts = (("inputs", fm.bits, fm.fa), ("weights", fm.bits, fm.fw), ("acc", A, fm.fa + fm.fw), ("gates", fm.bits, fm.fg),
            ("state", fm.bits, fm.fc), ("hidden", fm.bits, fm.fa))
    counts = Saturation(weights=out["s"][0].saturation.weights, formats=fmts, **n)
    return LstmResult(np.array(out["z"]), np.array(out["g"]), np.array(out["c"]), np.array(out["h"]), fm,
                      tuple(out["s"]), sat, counts)


def reference_sequence(model, seq, config: ArchConfig | None = None) -> SequenceResult:
    """Golden output of a sequence model (first layer lstm, then FC layers on h_T): the chain of
    :func:`eie_sim.contract.golden.reference_forward`, refusing a model that is not a sequence model."""
    if isinstance(model, ModelLayer):
        model = Model(layers=(model,))
    if not isinstance(model, Model) or not model.is_sequence:
        raise EncodingError(f"model={describe(model)}: expected a Model whose first layer is an lstm layer")
    return reference_forward(model, seq, config)


def reference_sequence_batch(model: Model, xs, config: ArchConfig | None = None, *, saturation: bool = False):
    """Golden fixed-point outputs (int64, samples x outputs) of a sequence model on many
    sequences ``xs`` (samples, T, X) or (samples, T * X); every format must be stored: the
    chain of :func:`eie_sim.contract.golden.reference_forward_batch` (the lstm layer's batch
    step is :func:`lstm_batch`), refusing a model that is not a sequence model."""
    if not isinstance(model, Model) or not model.is_sequence:
        raise EncodingError(f"model={describe(model)}: expected a Model whose first layer is an lstm layer")
    return reference_forward_batch(model, xs, config, saturation=saturation)


def lstm_batch(lay: ModelLayer, xs, config: ArchConfig | None = None, *, saturation: bool = False):
    """The lstm layer over many sequences ``xs`` (samples, T, X) or (samples, T * X): (h_T
    int64 samples x H in Q(B, fa), counts int64 samples x len(POINTS) summed over the steps).
    Equal to :func:`reference_lstm` sample by sample (tested): the gate products are exact
    integer sparse products, checked not to saturate the accumulator (else ConfigError)."""
    fm = lstm_formats(lay)
    if lay.in_frac is None:
        raise ConfigError(f"layer {lay.name!r}: reference_sequence_batch needs a stored in_frac")
    xs = np.asarray(xs, dtype=np.float64)
    X = lay.n_in
    if xs.ndim == 2 and xs.shape[1] % X == 0:
        xs = xs.reshape(len(xs), -1, X)
    if xs.ndim != 3 or xs.shape[2] != X or xs.shape[1] < 1 or not np.all(np.isfinite(xs)):
        raise ActivationError(f"xs: shape {xs.shape}; expected finite (samples, T, {X}) or (samples, T * {X})")
    cfg = config_of(lay) if config is None else config
    prep = prepare(lay, np.zeros(lay.shape[1], np.int64), config, act_frac=fm.fa, w_frac=fm.fw, out_frac=fm.fg,
                   fixed_input=True)
    w = weights_csc(prep.source, prep.qc)
    lim = (1 << (cfg.acc_bits - 1)) - 1
    worst = float(np.asarray(abs(w).astype(np.float64).sum(axis=1)).max(initial=0.0)) * (1 << (fm.bits - 1))
    if worst >= lim / 2:
        raise ConfigError(f"layer {lay.name!r}: the accumulator could saturate; use reference_sequence per sample")
    qx = quantize_fixed(xs, QFormat(fm.bits, fm.fa))
    n, T, _ = qx.shape
    h = np.zeros((n, lay.hidden), np.int64)
    c = np.zeros_like(h)
    ones = np.full((n, 1), 1 << fm.fa, np.int64)
    counts = np.zeros((n, len(POINTS)), dtype=np.int64)
    P = {p: POINTS.index(p) for p in POINTS}
    if saturation:
        counts[:, P["inputs"]] = count_quantize_saturated(xs.reshape(n, -1), QFormat(fm.bits, fm.fa), axis=1)
        counts[:, P["weights"]] = prep.saturation.weights
    shift = fm.fa + fm.fw - fm.fg
    for t in range(T):
        acc = np.ascontiguousarray((w @ np.concatenate([qx[:, t], h, ones], axis=1).T).T)
        z = round_shift(acc, shift, fm.bits)
        _, c, h, n_c, n_h = cell_update(z, c, fm, counts=True)
        if saturation:
            counts[:, P["gates"]] += count_shift_saturated(acc, shift, fm.bits, axis=1)
            counts[:, P["state"]] += n_c
            counts[:, P["hidden"]] += n_h
    return h, counts


def float_lstm(lay: ModelLayer, h: np.ndarray) -> np.ndarray:
    """The float64 cell on the codebook values over a batch of sequences ``h`` (samples, T * X):
    h_T (samples, H)."""
    w = lay.codebook[lay.dense_codes().astype(np.int64)]
    xs = h.reshape(len(h), -1, lay.n_in)
    H = lay.hidden
    hh = np.zeros((len(xs), H))
    c = np.zeros_like(hh)
    sig = lambda z: 0.5 * (1.0 + np.tanh(0.5 * z))  # noqa: E731
    for t in range(xs.shape[1]):
        z = np.concatenate([xs[:, t], hh, np.ones((len(xs), 1))], axis=1) @ w.T
        c = sig(z[:, H : 2 * H]) * c + sig(z[:, :H]) * np.tanh(z[:, 2 * H : 3 * H])
        hh = sig(z[:, 3 * H :]) * np.tanh(c)
    return hh


def _dsig(z):
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    return s * (1.0 - s)


def _dtanh(z):
    return 1.0 - np.tanh(z) ** 2


def error_bound(layer: ModelLayer, seq, result: LstmResult) -> np.ndarray:
    """Per-step bound (T, H) on |h_t float view - h_t float64| (module docstring)."""
    import scipy.sparse as sp  # here, not at the top: reading a model file needs no scipy

    lay = _check_lstm(layer)
    seq = check_sequence(seq, lay.n_in)
    fm = result.formats
    codes = dense_codes_of(lay).astype(np.int64)
    wabs = sp.csr_matrix(np.abs(lay.codebook[codes]))
    mask = sp.csr_matrix((codes != 0).astype(np.float64))
    H, X = lay.hidden, lay.n_in
    e_w = math.ldexp(1.0, -(fm.fw + 1))
    e_x = math.ldexp(1.0, -(fm.fa + 1))
    e_t, e_s = function_errors(fm.bits)
    sc = lambda q, f: np.abs(np.ldexp(q.astype(np.float64), -f))  # noqa: E731
    e_h = np.zeros(H)
    e_c = np.zeros(H)
    qx = quantize_fixed(seq, QFormat(fm.bits, fm.fa))
    bounds = []
    for t in range(len(seq)):
        h_prev = result.h_fixed[t - 1] if t else np.zeros(H, np.int64)
        c_prev = result.c_fixed[t - 1] if t else np.zeros(H, np.int64)
        a_abs = np.concatenate([sc(qx[t], fm.fa), sc(h_prev, fm.fa), [1.0]])
        e_in = np.concatenate([np.full(X, e_x), e_h, [0.0]])
        e_z = wabs @ e_in + mask @ (e_w * (a_abs + 2 * e_in)) + math.ldexp(1.0, -(fm.fg + 1))
        gv = sc(result.gates_fixed[t], fm.fs)
        zf = sc(result.z_fixed[t], fm.fg)
        near = np.maximum(zf - e_z, 0.0)  # the float64 z lies within e_z of z: the slope there is at most
        ds, dt = _dsig(near), _dtanh(near)  # the slope at the point of the interval nearest to 0
        ei, ef, eo = (ds[k * H : (k + 1) * H] * e_z[k * H : (k + 1) * H] + e_s for k in (0, 1, 3))
        eg = dt[2 * H : 3 * H] * e_z[2 * H : 3 * H] + e_t
        i, f, g, o = gv[:H], gv[H : 2 * H], gv[2 * H : 3 * H], gv[3 * H :]
        cp = sc(c_prev, fm.fc)
        e_c = f * e_c + (cp + e_c) * ef + i * eg + (g + eg) * ei + math.ldexp(1.0, -(fm.fc + 1))
        tc = sc(tanh_q(result.c_fixed[t], fm.fc, fm.bits), fm.fs)
        e_tc = _dtanh(np.maximum(sc(result.c_fixed[t], fm.fc) - e_c, 0.0)) * e_c + e_t
        e_h = o * e_tc + (tc + e_tc) * eo + math.ldexp(1.0, -(fm.fa + 1))
        bounds.append(e_h)
    return np.array(bounds)
