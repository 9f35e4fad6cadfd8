"""The contract of a convolutional layer on the EIE array: im2col patches, the SpMV contract per
output position, and pooling in the activation unit.

A conv layer holds W [C_out, C_in, kh, kw] as the EIE matrix W' [C_out, C_in * kh * kw] (column
``(c * kh + ky) * kw + kx``), so its rows -- output channels -- are interleaved over the PEs and
stored in the same CSC / relative-index format with the same codebook as an fc layer (Han et
al., ISCA 2016, section III). Activations are flattened channel-major (C, H, W), as ONNX lays
out an NCHW tensor, so an fc layer after a conv layer reads its outputs as ONNX ``Flatten`` does.

Fixed-point contract (B = act_bits, A = acc_bits; formats as :mod:`eie_sim.contract.golden`):

1. **Inputs.** The input map x (C_in x H x W) is quantised once, as an fc layer's inputs
   (step 1 of the golden contract): ``Q(B, fa)``.
2. **Patches.** Output position (oy, ox), row-major over Ho x Wo with
   ``Ho = (H + pad_top + pad_bottom - kh) // sh + 1`` (likewise Wo), reads the patch
   ``p[(c * kh + ky) * kw + kx] = x[c, oy * sh + ky - pad_top, ox * sw + kx - pad_left]``, 0
   outside the map (zero padding). Dilation 1, one group.
3. **Per position,** steps 2-4 of the golden contract with the patch as the input vector:
   accumulators start at the bias, products in ascending patch order, saturating at A bits.
   ``fo`` (given, or the largest frac at which no output of any position saturates, after ReLU
   where there is one) is shared by the whole layer; round, saturate to B bits, ReLU. The conv
   output is ``y[co, oy, ox]``.
4. **Pooling** (optional, in the activation unit after the ReLU): windows of ``pool_kernel``
   with ``pool_stride`` and ``pool_padding`` over each channel of y; ``max`` takes the largest
   in-bounds value; ``avg`` takes ``floor(s / n + 1/2)`` exactly (``(2 s + n) // (2 n)``) of the
   sum s of the n in-bounds values (ONNX AveragePool with count_include_pad=0). Neither can
   saturate: the result lies within the window's values. Global average pooling is an avg pool
   whose window is the whole map. Pooling keeps the format ``fo``.

The float reference is the same computation in float64 with the codebook's values (no fixed
point); the error bound of one output position is the fc bound of its patch
(:func:`eie_sim.contract.golden.error_bound`); max pooling does not increase it, average pooling's
rounding adds up to half an output LSB (2**-(fo + 1)) to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import ArchConfig
from ..errors import ActivationError, ConfigError
from .fixedpoint import (QFormat, choose_frac, choose_frac_int, count_quantize_saturated, count_shift_saturated,
                         quantize_fixed, round_shift)
from .golden import accumulate, check_activations, config_of, prepare, weights_csc
from .saturation import POINTS, Saturation

__all__ = ["ConvGeometry", "ConvResult", "geometry", "patch_index", "patches_of", "pool_fixed", "pool_float",
           "conv_golden", "conv_batch", "conv_float"]

POOLS = ("none", "max", "avg")
_BATCH_VALUES = 1 << 23  # patch values gathered at a time by the batch step (~64 MiB of int64)


@dataclass(frozen=True)
class ConvGeometry:
    """The shapes of a conv layer (module docstring): input C_in x H x W, kernel kh x kw, stride,
    padding (top, left, bottom, right), conv output C_out x Ho x Wo, pooled output C_out x Hp x Wp."""

    c_in: int
    c_out: int
    h: int
    w: int
    kh: int
    kw: int
    stride: tuple
    padding: tuple
    ho: int
    wo: int
    pool: str
    pool_kernel: tuple
    pool_stride: tuple
    pool_padding: tuple
    hp: int
    wp: int

    @property
    def positions(self) -> int:
        """Output positions Ho * Wo: patch SpMVs per image."""
        return self.ho * self.wo

    @property
    def patch(self) -> int:
        """Patch length C_in * kh * kw (the matrix's columns)."""
        return self.c_in * self.kh * self.kw

    @property
    def n_in(self) -> int:
        return self.c_in * self.h * self.w

    @property
    def n_conv_out(self) -> int:
        return self.c_out * self.ho * self.wo

    @property
    def n_out(self) -> int:
        return self.c_out * self.hp * self.wp


def out_size(n: int, k: int, s: int, lo: int, hi: int) -> int:
    """Output length of a window ``k`` with stride ``s`` over ``n`` values padded by lo and hi."""
    return (n + lo + hi - k) // s + 1


def geometry_of(shape: tuple, p: dict) -> ConvGeometry:
    """The geometry of a matrix of ``shape`` with validated conv fields ``p``."""
    kh, kw = p["kernel"]
    h, w = p["in_hw"]
    pt, pl, pb, pr = p["padding"]
    ho = out_size(h, kh, p["stride"][0], pt, pb)
    wo = out_size(w, kw, p["stride"][1], pl, pr)
    if p["pool"] == "none":
        hp, wp = ho, wo
    else:
        qt, ql, qb, qr = p["pool_padding"]
        hp = out_size(ho, p["pool_kernel"][0], p["pool_stride"][0], qt, qb)
        wp = out_size(wo, p["pool_kernel"][1], p["pool_stride"][1], ql, qr)
    return ConvGeometry(c_in=shape[1] // (kh * kw), c_out=shape[0], h=h, w=w, kh=kh, kw=kw, stride=p["stride"],
                        padding=p["padding"], ho=ho, wo=wo, pool=p["pool"], pool_kernel=p["pool_kernel"],
                        pool_stride=p["pool_stride"], pool_padding=p["pool_padding"], hp=hp, wp=wp)


def geometry(layer) -> ConvGeometry:
    """The :class:`ConvGeometry` of a conv ModelLayer, cached on it."""
    g = layer._cache.get("conv_geometry")
    if g is None:
        g = layer._cache["conv_geometry"] = geometry_of(layer.shape, layer.params)
    return g


def _window_index(n_y: int, n_x: int, k: tuple, s: tuple, pad: tuple, channels: int, stride_c: int) -> np.ndarray:
    """(positions, channels * k0 * k1) flat indices into a (channels, n_y, n_x) map of the
    windows, channel-major then row-major within a window; -1 outside the map (padding)."""
    ho, wo = out_size(n_y, k[0], s[0], pad[0], pad[2]), out_size(n_x, k[1], s[1], pad[1], pad[3])
    oy = np.arange(ho)[:, None, None, None, None] * s[0] - pad[0]
    ox = np.arange(wo)[None, :, None, None, None] * s[1] - pad[1]
    ky = np.arange(k[0])[None, None, None, :, None]
    kx = np.arange(k[1])[None, None, None, None, :]
    c = np.arange(channels)[None, None, :, None, None]
    yy, xx = oy + ky, ox + kx
    idx = c * stride_c + yy * n_x + xx
    inside = (yy >= 0) & (yy < n_y) & (xx >= 0) & (xx < n_x)
    idx = np.where(inside, idx, -1)
    return np.ascontiguousarray(np.broadcast_to(idx, (ho, wo, channels, k[0], k[1])).reshape(ho * wo, -1), dtype=np.int64)


def patch_index(g: ConvGeometry) -> np.ndarray:
    """(positions, patch) int64: the flat input index (c, y, x) each patch element reads, -1
    for zero padding (module docstring, step 2)."""
    return _window_index(g.h, g.w, (g.kh, g.kw), g.stride, g.padding, g.c_in, g.h * g.w)


def pool_index(g: ConvGeometry) -> np.ndarray:
    """(pooled positions, pool window) int64 indices into one channel of the conv output
    (Ho x Wo), -1 for padding."""
    return _window_index(g.ho, g.wo, g.pool_kernel, g.pool_stride, g.pool_padding, 1, 0)


def _cached(layer, key: str, make):
    val = layer._cache.get(key)
    if val is None:
        val = layer._cache[key] = make(geometry(layer))
    return val


def patches_of(layer, q: np.ndarray) -> np.ndarray:
    """The patches of input maps ``q`` (..., n_in) -> (..., positions, patch), zero padding."""
    idx = _cached(layer, "conv_patch_index", patch_index)
    ext = np.concatenate([q, np.zeros(q.shape[:-1] + (1,), dtype=q.dtype)], axis=-1)
    return ext[..., np.where(idx < 0, q.shape[-1], idx)]


def pool_fixed(layer, y: np.ndarray) -> np.ndarray:
    """Step 4 on int64 conv outputs ``y`` (..., C_out, Ho * Wo) -> (..., C_out, Hp * Wp)."""
    g = geometry(layer)
    if g.pool == "none":
        return y
    idx = _cached(layer, "conv_pool_index", pool_index)
    inside = idx >= 0
    win = y[..., np.where(inside, idx, 0)]  # (..., C_out, Pp, k)
    if g.pool == "max":
        return np.where(inside, win, np.iinfo(np.int64).min).max(axis=-1)
    n = inside.sum(axis=1).astype(np.int64)
    s = np.where(inside, win, 0).sum(axis=-1)
    return (2 * s + n) // (2 * n)


def pool_float(layer, y: np.ndarray) -> np.ndarray:
    """Step 4 in float64 on conv outputs (..., C_out, Ho * Wo)."""
    g = geometry(layer)
    if g.pool == "none":
        return y
    idx = _cached(layer, "conv_pool_index", pool_index)
    inside = idx >= 0
    win = y[..., np.where(inside, idx, 0)]
    if g.pool == "max":
        return np.where(inside, win, -np.inf).max(axis=-1)
    return np.where(inside, win, 0.0).sum(axis=-1) / inside.sum(axis=1)


@dataclass(frozen=True, eq=False)
class ConvResult:
    """One conv layer's golden output: ``output_fixed`` (n_out int64, pooled, flattened C, Hp, Wp)
    and its float view ``output``; ``conv_fixed`` (C_out x Ho*Wo) the outputs before pooling;
    ``acc`` (C_out x Ho*Wo) the accumulators; formats and saturation as :class:`SpmvResult`."""

    output_fixed: np.ndarray
    output: np.ndarray
    conv_fixed: np.ndarray
    act_format: QFormat
    w_format: QFormat
    out_format: QFormat
    acc: np.ndarray
    acc_saturated: bool
    activation: str
    saturation: Saturation = Saturation()
    input_fixed: np.ndarray | None = None  # the quantised input map (n_in), what the patches read

    @property
    def acc_frac(self) -> int:
        return self.act_format.frac + self.w_format.frac


def _input_fixed(layer, x, B: int, act_frac, fixed_input: bool):
    """Step 1: (int64 input map, its format, inputs saturated)."""
    n = geometry(layer).n_in
    if fixed_input:
        if act_frac is None:
            raise ActivationError("fixed_input=True needs act_frac (the fractional bits of the integers)")
        q = np.asarray(x)
        if q.ndim != 1 or q.size != n or not np.issubdtype(q.dtype, np.integer):
            raise ActivationError(f"activations: shape {q.shape}, dtype {q.dtype}; expected ({n},) integers")
        fa = QFormat(B, act_frac)
        q = q.astype(np.int64)
        if q.size and (q.min() < fa.qmin or q.max() > fa.qmax):
            raise ActivationError(f"activations: values {int(q.min())}..{int(q.max())}; expected {fa.qmin}..{fa.qmax} for act_bits={B}")
        return q, fa, 0
    a = check_activations(x, n)
    frac = layer.in_frac if act_frac is None else act_frac
    fa = QFormat(B, choose_frac(a, B) if frac is None else frac)
    return quantize_fixed(a, fa), fa, count_quantize_saturated(a, fa)


def conv_accumulate(w, patches: np.ndarray, acc0: np.ndarray, acc_bits: int) -> tuple[np.ndarray, int]:
    """Step 3's accumulators (C_out x positions) of ``patches`` (positions x patch): one exact
    integer product when no partial sum can saturate, else each position's saturating sum."""
    lim = (1 << (acc_bits - 1)) - 1
    worst = np.abs(acc0).astype(np.float64)[:, None] + abs(w).astype(np.float64) @ np.abs(patches.T).astype(np.float64)
    if worst.size == 0 or float(worst.max()) < lim / 2:
        return np.asarray(w @ patches.T) + acc0[:, None], 0
    runs = [accumulate(w, p, acc0, acc_bits) for p in patches]
    return np.stack([r[0] for r in runs], axis=1), sum(r[1] for r in runs)


def conv_golden(layer, x, config: ArchConfig | None = None, *, act_frac=None, fixed_input=False) -> ConvResult:
    """The golden output of conv ``layer`` on one input map ``x`` (n_in floats, or integers in
    ``act_frac`` when ``fixed_input``), bit-exact per the module contract."""
    arith = config_of(layer) if config is None else config
    B, A = arith.act_bits, arith.acc_bits
    g = geometry(layer)
    q, fa, sat_in = _input_fixed(layer, x, B, act_frac, fixed_input)
    prep = prepare(layer, np.zeros(g.patch, dtype=np.int64), config, fixed_input=True, act_frac=fa.frac)
    acc, saturated = conv_accumulate(weights_csc(prep.source, prep.qc), patches_of(layer, q), prep.acc0, A)
    relu = prep.activation == "relu"
    out_frac = prep.out_frac
    if out_frac is None:
        out_frac = choose_frac_int(np.maximum(acc, 0) if relu else acc, prep.acc_frac, B)
    fo = QFormat(B, out_frac)
    shift = prep.acc_frac - fo.frac
    y = round_shift(acc, shift, B)
    if relu:
        y = np.maximum(y, 0)
    pooled = pool_fixed(layer, y).reshape(-1)
    sat = prep.saturation.with_counts(inputs=sat_in, acc=int(saturated),
                                      outputs=count_shift_saturated(acc, shift, B, positive_only=relu),
                                      formats=prep.saturation.formats + (("outputs", B, fo.frac),))
    return ConvResult(output_fixed=pooled, output=np.ldexp(pooled.astype(np.float64), -fo.frac), conv_fixed=y,
                      act_format=fa, w_format=prep.w_format, out_format=fo, acc=acc, acc_saturated=bool(saturated),
                      activation=prep.activation, saturation=sat, input_fixed=q)


def conv_batch(layer, x, q, config: ArchConfig | None, *, saturation: bool):
    """The batch golden step of a calibrated conv layer (the kind's ``golden_batch``): float
    input maps ``x`` (samples x n_in) or int64 ``q`` in in_frac. Returns (q_out, counts)."""
    arith = config_of(layer) if config is None else config
    B, A = arith.act_bits, arith.acc_bits
    g = geometry(layer)
    if None in (layer.in_frac, layer.w_frac, layer.out_frac):
        raise ConfigError(f"layer {layer.name!r}: reference_forward_batch needs stored in_frac, w_frac and out_frac")
    n = len(x) if x is not None else len(q)
    counts = np.zeros((n, len(POINTS)), dtype=np.int64)
    fa = QFormat(B, layer.in_frac)
    if x is not None:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != g.n_in:
            raise ActivationError(f"x: shape {x.shape}; expected (samples, {g.n_in})")
        if not np.all(np.isfinite(x)):
            raise ActivationError("x: expected finite values (no NaN or inf)")
        q = quantize_fixed(x, fa)
        if saturation:
            counts[:, POINTS.index("inputs")] = count_quantize_saturated(x, fa, axis=1)
    prep = prepare(layer, np.zeros(g.patch, dtype=np.int64), config, fixed_input=True, act_frac=fa.frac)
    w = weights_csc(prep.source, prep.qc)
    shift, relu = prep.acc_frac - layer.out_frac, layer.activation == "relu"
    out = np.empty((n, g.n_out), dtype=np.int64)
    step = max(1, _BATCH_VALUES // max(1, g.positions * g.patch))
    for s0 in range(0, n, step):
        pt = patches_of(layer, q[s0:s0 + step])  # (S, P, K)
        S = pt.shape[0]
        acc, sat = conv_accumulate(w, pt.reshape(S * g.positions, g.patch), prep.acc0, A)
        if sat:  # rare: redo per sample for per-sample counts
            per = [conv_accumulate(w, pt[i], prep.acc0, A) for i in range(S)]
            acc = np.concatenate([p[0] for p in per], axis=1)
            counts[s0:s0 + S, POINTS.index("acc")] = [p[1] for p in per]
        acc = acc.reshape(g.c_out, S, g.positions).transpose(1, 0, 2)  # (S, C_out, P)
        y = round_shift(acc, shift, B)
        if relu:
            y = np.maximum(y, 0)
        out[s0:s0 + S] = pool_fixed(layer, y).reshape(S, -1)
        if saturation:
            counts[s0:s0 + S, POINTS.index("outputs")] = count_shift_saturated(
                acc.reshape(S, -1), shift, B, positive_only=relu, axis=1)
    if saturation:
        counts[:, POINTS.index("weights")] = prep.saturation.weights
        counts[:, POINTS.index("bias")] = prep.saturation.bias
    return out, counts


def conv_float(layer, h: np.ndarray) -> np.ndarray:
    """The float64 view of conv ``layer`` on a batch ``h`` (samples x n_in): codebook values,
    no fixed point; im2col then the product, ReLU, pooling."""
    g = geometry(layer)
    wf = layer.codebook[layer.dense_codes().astype(np.int64)]  # (C_out, patch)
    out = np.empty((h.shape[0], g.n_out))
    step = max(1, _BATCH_VALUES // max(1, g.positions * g.patch))
    b = 0.0 if layer.bias is None else layer.bias[None, :, None]
    for s0 in range(0, h.shape[0], step):
        pt = patches_of(layer, np.asarray(h[s0:s0 + step], dtype=np.float64))  # (S, P, K)
        y = np.einsum("spk,ok->sop", pt, wf) + b
        if layer.activation == "relu":
            y = np.maximum(y, 0.0)
        out[s0:s0 + len(pt)] = pool_float(layer, y).reshape(len(pt), -1)
    return out
