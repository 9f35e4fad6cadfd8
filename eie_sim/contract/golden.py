"""Bit-exact fixed-point golden model of one EIE layer and of a chain of layers.

The arithmetic contract
-----------------------
This docstring is the contract that the cycle model and the RTL match bit for bit.

Let B = ``act_bits`` (default 16) and A = ``acc_bits`` (default 48, see :class:`ArchConfig`).
Formats are signed two's complement ``Q(bits, frac)`` (value = integer * 2**-frac); see
:mod:`eie_sim.contract.fixedpoint` for rounding (round half up, ties toward +inf) and saturation.

1. **Inputs.** Activations a_j are ``Q(B, fa)`` integers ``qa_j``. From floats:
   ``qa = sat_B(floor(a * 2**fa + 1/2))`` with ``fa`` given, or else the largest frac at which
   no value saturates (:func:`eie_sim.contract.fixedpoint.choose_frac`). Layer l + 1 receives layer l's
   output integers unchanged, with ``fa = fo`` of layer l.
2. **Weights.** The codebook is quantised the same way to ``Q(B, fw)`` (``fw`` chosen from the
   codebook's range unless given): ``qc[k]``, with ``qc[0] = 0``. Weight (i, j) is
   ``qc[codes[i, j]]``.
3. **Accumulator.** ``Q(A, fa + fw)``. It starts at the bias, ``sat_A(floor(b_i * 2**(fa+fw)
   + 1/2))`` (0 without bias). For each input column j in ascending order with
   ``qa_j != 0``, and each entry (i, v) of column j with v != 0 (padding multiplies by
   ``qc[0] = 0`` and changes nothing):  ``acc_i = sat_A(acc_i + qc[v] * qa_j)``. The
   product is exact (2B bits). The ascending-j order is the order of the non-zero
   broadcast (EIE section IV); it matters only if the accumulator saturates, which with the
   default A = 48 and up to 65,536 inputs cannot happen.
4. **Output.** ``fo`` is given, or else the largest frac at which no output saturates (computed
   from the exact accumulators; after ReLU only the non-negative range counts). Then with
   ``s = fa + fw - fo``: ``y_i = sat_B((acc_i + 2**(s-1)) >> s)`` for s > 0, or
   ``sat_B(acc_i << -s)`` for s <= 0 (arithmetic shift). ReLU, if any: ``y_i = max(y_i, 0)``.
   The float view is ``y_i * 2**-fo``.

Error bound (tested): with fa, fw and fo chosen from the ranges (so nothing saturates) and no
accumulator saturation, each float output differs from the float64 ``act(W a + b)`` (W from
the unquantised codebook) by at most

    sum_{j: codes[i,j] != 0} ( |W_ij| e_a + |a_j| e_w + e_a e_w ) + e_b + e_o,

with half-LSB errors e_a = 2**-(fa+1), e_w = 2**-(fw+1), e_b = 2**-(fa+fw+1), e_o = 2**-(fo+1)
(:func:`error_bound`). ReLU is 1-Lipschitz, so the bound holds after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..config import ArchConfig
from ..errors import ActivationError, ConfigError, EncodingError, PointerOverflowError, describe
from .fixedpoint import (QFormat, choose_frac, choose_frac_int, count_quantize_saturated, count_shift_saturated,
                         quantize_fixed, round_shift)
from .format import CompressedLayer, decode
from .layer import ACTIVATIONS, Model, ModelLayer
from .saturation import POINTS, Saturation

if TYPE_CHECKING:  # the annotations only; the functions that build matrices import scipy themselves
    import scipy.sparse as sp

__all__ = [
    "SpmvResult",
    "ForwardResult",
    "Prepared",
    "prepare",
    "finish",
    "reference_spmv",
    "reference_forward",
    "reference_forward_batch",
    "run_chain",
    "spmv_prepared",
    "error_bound",
    "check_activations",
]


@dataclass(frozen=True, eq=False)
class SpmvResult:
    """One layer's golden output.

    output_fixed: int64 outputs in ``out_format``; output: their float view;
    acc: int64 accumulators before rounding, in Q(acc_bits, act_format.frac + w_format.frac);
    acc_saturated: True if any accumulator saturated during accumulation;
    saturation: the counts of every quantisation point (:mod:`eie_sim.contract.saturation`).
    """

    output_fixed: np.ndarray
    output: np.ndarray
    act_format: QFormat
    w_format: QFormat
    out_format: QFormat
    acc: np.ndarray
    acc_saturated: bool
    activation: str
    saturation: Saturation = Saturation()

    @property
    def acc_frac(self) -> int:
        return self.act_format.frac + self.w_format.frac


@dataclass(frozen=True, eq=False)
class ForwardResult:
    """A model's golden output: the last layer's outputs and every layer's :class:`SpmvResult`."""

    layers: tuple[SpmvResult, ...]

    @property
    def output(self) -> np.ndarray:
        return self.layers[-1].output

    @property
    def output_fixed(self) -> np.ndarray:
        return self.layers[-1].output_fixed

    @property
    def saturation(self) -> Saturation:
        """The counts summed over the layers."""
        return Saturation.sum(r.saturation for r in self.layers)


def check_activations(activations, n: int, name: str = "activations") -> np.ndarray:
    """A finite 1-D float64 vector of length ``n``, or ActivationError."""
    a = np.asarray(activations)
    if a.ndim != 1:
        raise ActivationError(f"{name}: expected a 1-D vector of {n} values, got shape {a.shape}")
    if a.size != n:
        raise ActivationError(f"{name}: length {a.size}; expected {n} (the layer's inputs)")
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
        raise ActivationError(f"{name}: expected numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        k = int(np.argmax(bad))
        raise ActivationError(f"{name}[{k}]={a[k]}: expected finite values (no NaN or inf)")
    return a


def dense_codes_of(enc) -> np.ndarray:
    """Dense codes of a CompressedLayer or ModelLayer, decoded once and cached on it."""
    if isinstance(enc, ModelLayer):
        return enc.dense_codes()
    codes = enc._cache.get("codes")
    if codes is None:
        codes = enc._cache["codes"] = decode(enc)
    return codes


def weights_csc(enc, qc: np.ndarray) -> sp.csc_matrix:
    """Fixed-point weights ``qc[codes]`` as an int64 CSC matrix, cached for the last ``qc``."""
    import scipy.sparse as sp  # here, not at the top: reading a model file needs no scipy

    key = ("qcsc", qc.tobytes())
    cache = enc._cache
    if key not in cache:
        m = sp.csc_matrix(dense_codes_of(enc))
        m.data = qc[m.data.astype(np.int64)]
        m.eliminate_zeros()
        m.sort_indices()
        for old in [k for k in cache if isinstance(k, tuple) and k[0] == "qcsc"]:
            del cache[old]
        cache[key] = m
    return cache[key]


def accumulate(w: sp.csc_matrix, qa: np.ndarray, acc0: np.ndarray, acc_bits: int) -> tuple[np.ndarray, int]:
    """Step 3 of the contract. Exact integer sum when no partial sum can leave the accumulator
    range; otherwise the sequential saturating sum in ascending column order. Returns the
    accumulators and the number of additions that saturated."""
    lim = (1 << (acc_bits - 1)) - 1
    absw = abs(w).astype(np.float64)
    worst = np.abs(acc0).astype(np.float64) + absw @ np.abs(qa).astype(np.float64)
    if worst.size == 0 or float(worst.max()) < lim / 2:  # float error << margin: provably exact
        return acc0 + w @ qa, 0
    acc = acc0.copy()
    lo, hi = -lim - 1, lim
    saturated = 0
    for j in np.flatnonzero(qa):
        s, e = w.indptr[j], w.indptr[j + 1]
        rows = w.indices[s:e]
        t = acc[rows] + w.data[s:e] * qa[j]
        saturated += int(np.count_nonzero((t < lo) | (t > hi)))
        acc[rows] = np.clip(t, lo, hi)
    return acc, saturated


def check_layer_config(layer, config: ArchConfig) -> None:
    """Refuse a layer that ``config`` cannot run as stored, as every tier does: a
    :class:`CompressedLayer` must match n_pe, weight_bits and index_bits and its pointers must fit
    ``config.ptr_bits``; a :class:`ModelLayer` (re-encoded for the array as needed) must match
    weight_bits."""
    if isinstance(layer, ModelLayer):
        if layer.weight_bits != config.weight_bits:
            raise ConfigError(f"layer {layer.name!r} has weight_bits={layer.weight_bits} "
                              f"but config.weight_bits={config.weight_bits}")
        return
    if layer.n_pe != config.n_pe:
        raise ConfigError(f"layer is encoded for n_pe={layer.n_pe} but config.n_pe={config.n_pe}; "
                          "re-encode it, or pass dense codes and a codebook to encode for the config")
    if layer.weight_bits != config.weight_bits:
        raise ConfigError(f"layer has weight_bits={layer.weight_bits} (a codebook of {1 << layer.weight_bits}) "
                          f"but config.weight_bits={config.weight_bits}")
    if layer.index_bits != config.index_bits:
        raise ConfigError(f"layer has index_bits={layer.index_bits} but config.index_bits={config.index_bits}")
    need = layer.ptr_bits_needed
    if need > config.ptr_bits:
        raise PointerOverflowError(f"the layer's pointers need {need} bits but config.ptr_bits={config.ptr_bits}; "
                                   f"use ptr_bits >= {need}", need)


def config_of(layer) -> ArchConfig:
    """The configuration a layer runs on as stored (what ``config=None`` means)."""
    if isinstance(layer, ModelLayer):
        return ArchConfig(weight_bits=layer.weight_bits, index_bits=layer.index_bits, act_bits=layer.act_bits)
    return ArchConfig(n_pe=layer.n_pe, weight_bits=layer.weight_bits, index_bits=layer.index_bits,
                      ptr_bits=max(ArchConfig().ptr_bits, layer.ptr_bits_needed))


def _as_layer(layer):
    """(model layer or None, object holding codes and codebook)."""
    if isinstance(layer, ModelLayer):
        return layer, layer
    if isinstance(layer, CompressedLayer):
        return None, layer
    raise EncodingError(f"layer={describe(layer)}: expected a CompressedLayer or ModelLayer")


@dataclass(frozen=True, eq=False)
class Prepared:
    """Steps 1, 2 and the bias of step 3 of the contract, shared by every tier."""

    source: object  # the CompressedLayer or ModelLayer holding codes and codebook
    qa: np.ndarray  # int64 activations in act_format
    qc: np.ndarray  # int64 codebook in w_format
    acc0: np.ndarray  # int64 initial accumulators (bias)
    act_format: QFormat
    w_format: QFormat
    out_frac: int | None
    activation: str
    acc_bits: int
    saturation: Saturation = Saturation()  # steps 1-3 so far: inputs, weights, bias

    @property
    def acc_frac(self) -> int:
        return self.act_format.frac + self.w_format.frac


def prepare(
    layer,
    activations,
    config: ArchConfig | None = None,
    *,
    act_frac: int | None = None,
    w_frac: int | None = None,
    out_frac: int | None = None,
    bias=None,
    activation: str | None = None,
    fixed_input: bool = False,
) -> Prepared:
    """Validate the arguments of :func:`reference_spmv` and quantise inputs, codebook and bias."""
    mlayer, enc = _as_layer(layer)
    config = config_of(layer) if config is None else config
    if not isinstance(config, ArchConfig):
        raise ConfigError(f"config={describe(config)}: expected an ArchConfig")
    check_layer_config(layer, config)
    B, A = config.act_bits, config.acc_bits
    if mlayer is not None:
        if mlayer.act_bits != B and any(f is not None for f in (mlayer.in_frac, mlayer.w_frac, mlayer.out_frac)):
            raise ConfigError(
                f"config.act_bits={B}, but layer {mlayer.name!r} stores formats calibrated for act_bits={mlayer.act_bits}"
            )
        act_frac = mlayer.in_frac if act_frac is None else act_frac
        w_frac = mlayer.w_frac if w_frac is None else w_frac
        out_frac = mlayer.out_frac if out_frac is None else out_frac
        bias = mlayer.bias if bias is None else bias
        activation = mlayer.activation if activation is None else activation
    activation = "none" if activation is None else activation
    if activation not in ACTIVATIONS:
        raise ConfigError(f"activation={describe(activation)}: expected one of {ACTIVATIONS}")
    n_rows, n_cols = enc.shape

    if fixed_input:
        if act_frac is None:
            raise ActivationError("fixed_input=True needs act_frac (the fractional bits of the integers)")
        qa = np.asarray(activations)
        if qa.ndim != 1 or qa.size != n_cols:
            raise ActivationError(f"activations: shape {qa.shape}; expected ({n_cols},)")
        if not np.issubdtype(qa.dtype, np.integer):
            raise ActivationError(f"activations: dtype {qa.dtype}; fixed_input=True expects integers")
        qa = qa.astype(np.int64)
        fa = QFormat(B, act_frac)
        if qa.size and (qa.min() < fa.qmin or qa.max() > fa.qmax):
            raise ActivationError(f"activations: values {int(qa.min())}..{int(qa.max())}; expected {fa.qmin}..{fa.qmax} for act_bits={B}")
    else:
        a = check_activations(activations, n_cols)
        fa = QFormat(B, choose_frac(a, B) if act_frac is None else act_frac)
        qa = quantize_fixed(a, fa)
        sat_in = count_quantize_saturated(a, fa)
    key = ("qc", B, w_frac)
    cached = enc._cache.get(key)
    if cached is None:
        fw = QFormat(B, choose_frac(enc.codebook, B) if w_frac is None else w_frac)
        cached = enc._cache[key] = (fw, quantize_fixed(enc.codebook, fw), count_quantize_saturated(enc.codebook, fw))
    fw, qc, sat_w = cached
    acc_frac = fa.frac + fw.frac
    if out_frac is not None:
        QFormat(B, out_frac)  # validates the value

    sat_b = 0
    if bias is None:
        acc0 = np.zeros(n_rows, dtype=np.int64)
    else:
        b = np.asarray(bias)
        if b.ndim != 1 or b.size != n_rows or not np.all(np.isfinite(b.astype(np.float64))):
            raise EncodingError(f"bias: shape {b.shape}; expected ({n_rows},) finite numbers")
        lim = 1 << (A - 1)
        scaled = np.clip(np.ldexp(b.astype(np.float64), acc_frac), -float(lim), float(lim - 1))
        acc0 = np.clip(np.floor(scaled + 0.5), -lim, lim - 1).astype(np.int64)
        sat_b = count_quantize_saturated(b, QFormat(A, acc_frac)) if A <= 62 else 0
    if fixed_input:
        sat_in = 0  # integers in range (checked above): the previous layer counted its outputs
    sat = Saturation(inputs=sat_in, weights=sat_w, bias=sat_b,
                     formats=(("inputs", B, fa.frac), ("weights", B, fw.frac), ("bias", A, acc_frac), ("acc", A, acc_frac)))
    return Prepared(enc, qa, qc, acc0, fa, fw, out_frac, activation, A, sat)


def finish(prep: Prepared, acc: np.ndarray, saturated: int) -> SpmvResult:
    """Step 4 of the contract: choose the output format if needed, round, saturate, ReLU.
    ``saturated``: the number of accumulations that saturated in step 3."""
    B = prep.act_format.bits
    out_frac = prep.out_frac
    if out_frac is None:
        basis = np.maximum(acc, 0) if prep.activation == "relu" else acc
        out_frac = choose_frac_int(basis, prep.acc_frac, B)
    fo = QFormat(B, out_frac)
    shift = prep.acc_frac - fo.frac
    y = round_shift(acc, shift, B)
    relu = prep.activation == "relu"
    if relu:
        y = np.maximum(y, 0)
    sat_out = count_shift_saturated(acc, shift, B, positive_only=relu)
    sat = prep.saturation.with_counts(acc=int(saturated), outputs=sat_out,
                                      formats=prep.saturation.formats + (("outputs", B, fo.frac),))
    return SpmvResult(
        output_fixed=y,
        output=np.ldexp(y.astype(np.float64), -fo.frac),
        act_format=prep.act_format,
        w_format=prep.w_format,
        out_format=fo,
        acc=acc,
        acc_saturated=bool(saturated),
        activation=prep.activation,
        saturation=sat,
    )


def reference_spmv(
    layer,
    activations,
    config: ArchConfig | None = None,
    *,
    act_frac: int | None = None,
    w_frac: int | None = None,
    out_frac: int | None = None,
    bias=None,
    activation: str | None = None,
    fixed_input: bool = False,
) -> SpmvResult:
    """Golden output of one layer, ``act(W a + bias)``, bit-exact per the module contract.

    ``layer``: a :class:`CompressedLayer` or a :class:`ModelLayer` (whose stored formats, bias
    and activation are used unless overridden here). ``activations``: floats, or with
    ``fixed_input=True`` integers already in ``Q(act_bits, act_frac)`` (act_frac required).
    """
    return spmv_prepared(prepare(
        layer, activations, config, act_frac=act_frac, w_frac=w_frac, out_frac=out_frac,
        bias=bias, activation=activation, fixed_input=fixed_input,
    ))


def spmv_prepared(prep: Prepared) -> SpmvResult:
    """:func:`reference_spmv` of a layer already through :func:`prepare` (for callers that
    also need the prepared integers, such as the RTL load driver)."""
    w = weights_csc(prep.source, prep.qc)
    acc, saturated = accumulate(w, prep.qa, prep.acc0, prep.acc_bits)
    return finish(prep, acc, saturated)


def reference_forward(model, x, config: ArchConfig | None = None):
    """Golden output of a :class:`Model` (or a single layer) on input ``x``: the one chain of
    every layer kind (:mod:`eie_sim.contract.kinds`).

    Layer l + 1 takes layer l's output integers and format unchanged (EIE's ping-pong
    activation registers, section IV). The first layer's kind says what ``x`` is (a vector;
    a T x X sequence for lstm) and what is returned (:class:`ForwardResult`; a
    :class:`~eie_sim.contract.lstm.SequenceResult` for lstm).
    """
    if isinstance(model, CompressedLayer):
        return ForwardResult(layers=(reference_spmv(model, x, config),))
    if isinstance(model, ModelLayer):
        model = Model(layers=(model,))
    if not isinstance(model, Model):
        raise EncodingError(f"model={describe(model)}: expected a Model, ModelLayer or CompressedLayer")
    return run_chain(model, x, config)


def run_chain(model: Model, x, config: ArchConfig | None = None):
    """The golden chain of every layer kind: the first layer's kind steps on ``x``, each later
    layer on the previous one's output integers and format; the first layer's kind wraps the
    results (:meth:`~eie_sim.contract.kinds.base.LayerKind.chain_result`)."""
    first = model.layers[0]
    res = head = first.spec.golden(first, x, config)
    rest = []
    for lay in model.layers[1:]:
        res = lay.spec.golden(lay, res.output_fixed, config, act_frac=res.out_format.frac, fixed_input=True)
        rest.append(res)
    return first.spec.chain_result(head, tuple(rest))


def error_bound(layer, activations, result: SpmvResult) -> np.ndarray:
    """Per-output bound on |float view - float64 result| (module docstring), for ``result``
    computed from float ``activations`` with formats chosen from the ranges."""
    import scipy.sparse as sp  # here, not at the top: reading a model file needs no scipy

    _, enc = _as_layer(layer)
    a = check_activations(activations, enc.shape[1])
    codes = dense_codes_of(enc)
    wf = sp.csr_matrix(enc.codebook[codes.astype(np.int64)])
    mask = sp.csr_matrix((codes != 0).astype(np.float64))
    e_a = np.ldexp(1.0, -(result.act_format.frac + 1))
    e_w = np.ldexp(1.0, -(result.w_format.frac + 1))
    e_b = np.ldexp(1.0, -(result.acc_frac + 1))
    e_o = np.ldexp(1.0, -(result.out_format.frac + 1))
    return abs(wf) @ np.full(enc.shape[1], e_a) + mask @ (np.abs(a) * e_w + e_a * e_w) + e_b + e_o


def reference_forward_batch(model: Model, x: np.ndarray, config: ArchConfig | None = None, *,
                            saturation: bool = False):
    """Golden fixed-point outputs (int64, samples x outputs) of a calibrated model on many inputs.

    Every layer must store its formats (in_frac, w_frac, out_frac), so that all samples share
    them; the result equals :func:`reference_forward` sample by sample (tested). Each kind's
    batch step (:meth:`~eie_sim.contract.kinds.base.LayerKind.golden_batch`) is exact integer
    arithmetic: for fc, one sparse integer matrix product when the accumulators provably cannot
    saturate, otherwise each sample's sequential saturating sum; ``x`` is what the first
    layer's kind reads (samples x inputs; for lstm (samples, T, X) or (samples, T * X)).

    ``saturation=True`` returns ``(outputs, counts)``, counts an int64 array (samples, layers,
    len(POINTS)) of each sample's saturation counts per layer and point
    (:data:`eie_sim.contract.saturation.POINTS`; equal to :func:`reference_forward`'s, tested).
    """
    if not isinstance(model, Model):
        raise EncodingError(f"model={describe(model)}: expected a Model")
    if config is not None and not isinstance(config, ArchConfig):
        raise ConfigError(f"config={describe(config)}: expected an ArchConfig")
    first = model.layers[0]
    q, c0 = first.spec.golden_batch(first, x, None, config, saturation=saturation)
    counts = np.zeros((q.shape[0], len(model.layers), len(POINTS)), dtype=np.int64)
    counts[:, 0] = c0
    for li, lay in enumerate(model.layers[1:], 1):
        q, counts[:, li] = lay.spec.golden_batch(lay, None, q, config, saturation=saturation)
    return (q, counts) if saturation else q
