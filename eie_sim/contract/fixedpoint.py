"""Signed two's-complement fixed-point numbers, the arithmetic of the golden model.

A format ``Q(bits, frac)`` holds integers q in [-2**(bits-1), 2**(bits-1) - 1] that stand for
``q * 2**-frac``. ``frac`` may be negative (coarser than 1) or exceed ``bits`` (all fraction).

Rounding everywhere is *round half up* (ties toward +infinity): ``floor(x + 1/2)``. For a
right shift of an integer by s > 0 bits that is ``(q + 2**(s-1)) >> s`` with an arithmetic
shift, one adder and a shifter in hardware. Saturation clamps to the format's range; nothing
ever wraps.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..errors import FixedPointError, describe

__all__ = [
    "FRAC_MIN",
    "FRAC_MAX",
    "QFormat",
    "choose_frac",
    "choose_frac_int",
    "count_quantize_saturated",
    "count_shift_saturated",
    "quantize_fixed",
    "round_shift",
    "saturate",
]

FRAC_MIN = -64
FRAC_MAX = 64


def _check_frac(name: str, frac: object) -> int:
    if isinstance(frac, bool) or not isinstance(frac, (int, np.integer)):
        raise FixedPointError(f"{name}={describe(frac)}: expected an integer number of fractional bits")
    frac = int(frac)
    if not FRAC_MIN <= frac <= FRAC_MAX:
        raise FixedPointError(f"{name}={frac}: expected fractional bits in {FRAC_MIN}..{FRAC_MAX}")
    return frac


@dataclass(frozen=True)
class QFormat:
    """Signed fixed-point format: ``bits`` total bits, ``frac`` fractional bits."""

    bits: int
    frac: int

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, (int, np.integer)) or not 2 <= self.bits <= 62:
            raise FixedPointError(f"bits={describe(self.bits)}: expected an integer in 2..62")
        object.__setattr__(self, "bits", int(self.bits))
        object.__setattr__(self, "frac", _check_frac("frac", self.frac))

    @property
    def qmin(self) -> int:
        return -(1 << (self.bits - 1))

    @property
    def qmax(self) -> int:
        return (1 << (self.bits - 1)) - 1


class _LazyKernel:
    """A Numba kernel compiled with ``njit(cache=True)`` (:func:`eie_sim._jit.cached_njit`) on its
    first call, so that importing this module (every model file read needs it) does not import
    Numba; later calls go to the compiled dispatcher, whose machine code Numba caches on disk next
    to this module."""

    def __init__(self, py_func):
        functools.update_wrapper(self, py_func)
        self.py_func = py_func
        self._jitted = None

    def __call__(self, *args):
        if self._jitted is None:
            from .._jit import cached_njit

            self._jitted = cached_njit()(self.py_func)
        return self._jitted(*args)


def _lazy_njit(py_func) -> _LazyKernel:
    """``@njit(cache=True)``, compiled on the first call (:class:`_LazyKernel`)."""
    return _LazyKernel(py_func)


def saturate(q: np.ndarray, bits: int) -> np.ndarray:
    """Clamp int64 array ``q`` to the signed range of ``bits`` bits."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.clip(q, lo, hi)


@_lazy_njit
def _quantize_kernel(x, scale, qmin, qmax, out):
    for i in range(x.size):
        q = np.floor(x[i] * scale + 0.5)  # scale is a power of two: the product is exact
        out[i] = np.int64(min(max(q, qmin), qmax))


@_lazy_njit
def _round_shift_kernel(q, shift, lo, hi, out):
    half = np.int64(1) << np.int64(shift - 1)
    for i in range(q.size):
        out[i] = min(max((q[i] + half) >> np.int64(shift), lo), hi)


@_lazy_njit
def _minmax(x):
    lo = x[0]
    hi = x[0]
    for i in range(1, x.size):
        lo = min(lo, x[i])
        hi = max(hi, x[i])
    return lo, hi


def quantize_fixed(x, fmt: QFormat) -> np.ndarray:
    """Float array -> int64 codes of ``fmt``: round half up, then saturate (NaN not allowed)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty(x.shape, dtype=np.int64)
    if x.size:
        _quantize_kernel(x.reshape(-1), math.ldexp(1.0, fmt.frac), float(fmt.qmin), float(fmt.qmax), out.reshape(-1))
    return out


def count_quantize_saturated(x, fmt: QFormat, axis=None):
    """How many values of float array ``x`` :func:`quantize_fixed` clips to ``fmt``'s range;
    with ``axis``, along it (an int64 array).

    ``floor(x 2**f + 1/2) > qmax`` exactly when ``x 2**f >= qmax + 1/2`` (and ``< qmin`` when
    ``x 2**f < qmin - 1/2``); the product by a power of two and the half-integers are exact."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0 and axis is None:
        return 0
    s = np.ldexp(x, fmt.frac)
    n = np.count_nonzero(s >= fmt.qmax + 0.5, axis=axis) + np.count_nonzero(s < fmt.qmin - 0.5, axis=axis)
    return int(n) if axis is None else np.asarray(n, dtype=np.int64)


def count_shift_saturated(q: np.ndarray, shift: int, out_bits: int, positive_only: bool = False, axis=None):
    """How many values of int64 ``q`` :func:`round_shift` (``q``, ``shift``, ``out_bits``) clips;
    with ``positive_only`` only those above the range (a ReLU after it zeroes the others, exactly).

    Computed on the thresholds in Python integers: for shift > 0 the result exceeds
    ``hi`` iff ``q >= (hi + 1) 2**shift - 2**(shift-1)`` and is below ``lo`` iff
    ``q < lo 2**shift - 2**(shift-1)``; for shift <= 0 (s = -shift) iff ``q > floor(hi / 2**s)``
    or ``q < -floor(-lo / 2**s)``. ``axis``: count along it (an int64 array), else in all of ``q``."""
    q = np.asarray(q, dtype=np.int64)
    if q.size == 0 or shift >= 63:
        return 0 if axis is None else np.zeros(np.delete(q.shape, axis), dtype=np.int64)
    hi, lo = (1 << (out_bits - 1)) - 1, -(1 << (out_bits - 1))
    if shift > 0:
        half = 1 << (shift - 1)
        up, down = ((hi + 1) << shift) - half, (lo << shift) - half  # saturates: q >= up or q < down
    else:
        s = -shift
        up, down = (hi >> s) + 1, -((-lo) >> s)
    big, small = (1 << 63) - 1, -(1 << 63)
    n = np.count_nonzero(q >= up, axis=axis) if up <= big else np.count_nonzero(q > big, axis=axis)
    if not positive_only and down > small:
        n = n + np.count_nonzero(q < down, axis=axis)
    return int(n) if axis is None else np.asarray(n, dtype=np.int64)


def round_shift(q: np.ndarray, shift: int, out_bits: int) -> np.ndarray:
    """Rescale int64 ``q`` by 2**-shift with round half up, then saturate to ``out_bits``.

    shift > 0: ``(q + 2**(shift-1)) >> shift`` (arithmetic shift, i.e. floor division).
    shift <= 0: ``q << -shift``; q is clamped first so the shift cannot overflow.
    """
    q = np.ascontiguousarray(q, dtype=np.int64)
    lo, hi = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    if 0 < shift < 63:
        out = np.empty(q.shape, dtype=np.int64)
        if q.size:
            _round_shift_kernel(q.reshape(-1), shift, lo, hi, out.reshape(-1))
        return out
    if shift >= 63:
        # Every representable accumulator value rounds to 0 or -0 -> 0 (|q| < 2**62).
        return np.zeros_like(q)
    if shift == 0:
        r = q
    else:
        lim = 1 << (out_bits - 1)
        s = -shift
        if s + out_bits - 1 >= 63:  # any non-zero q saturates; avoid int64 overflow
            r = np.sign(q) * np.int64(lim)
        else:
            r = np.clip(q, -lim, lim) << np.int64(s)
    return saturate(r, out_bits)


def choose_frac(x, bits: int) -> int:
    """Largest frac such that every value of float array ``x`` fits ``Q(bits, frac)`` after rounding.

    With this choice quantisation never saturates, so the error of each element is at most
    half an LSB, ``2**-(frac+1)``. All-zero (or empty) input gives ``bits - 1``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return min(bits - 1, FRAC_MAX)
    if not np.all(np.isfinite(x)):
        raise FixedPointError("cannot choose a fixed-point format for values that include NaN or inf")
    lo, hi = (float(v) for v in _minmax(np.ascontiguousarray(x).reshape(-1)))
    m = max(abs(hi), abs(lo))
    if m == 0.0:
        return min(bits - 1, FRAC_MAX)
    qmax = (1 << (bits - 1)) - 1
    frac = bits - 1 - (math.frexp(m)[1])  # m < 2**e, so m * 2**frac < 2**(bits-1)
    frac = max(FRAC_MIN, min(FRAC_MAX, frac))

    def fits(f: int) -> bool:
        return math.floor(math.ldexp(hi, f) + 0.5) <= qmax and math.floor(math.ldexp(lo, f) + 0.5) >= -qmax - 1

    while frac < FRAC_MAX and fits(frac + 1):  # e.g. -1.0 fits Q(16, 15) exactly
        frac += 1
    while frac > FRAC_MIN and not fits(frac):
        frac -= 1
    return frac


def choose_frac_int(q: np.ndarray, q_frac: int, bits: int) -> int:
    """Largest frac such that integers ``q`` (scaled by 2**-q_frac) fit ``Q(bits, frac)`` after
    :func:`round_shift`, computed exactly on integers."""
    q = np.ascontiguousarray(q, dtype=np.int64).reshape(-1)
    if q.size == 0:
        return min(bits - 1, FRAC_MAX)
    lo, hi = (int(v) for v in _minmax(q))
    if lo == 0 and hi == 0:
        return min(bits - 1, FRAC_MAX)
    m = max(abs(hi), abs(lo))
    qmax = (1 << (bits - 1)) - 1
    frac = q_frac - (m.bit_length() - (bits - 1))  # m * 2**(frac-q_frac) < 2**(bits-1)
    frac = max(FRAC_MIN, min(FRAC_MAX, frac))

    def fits(f: int) -> bool:
        s = q_frac - f
        if s > 0:
            half = 1 << (s - 1)
            return (hi + half) >> s <= qmax and (lo + half) >> s >= -qmax - 1
        return (hi << -s) <= qmax and (lo << -s) >= -qmax - 1

    while frac < FRAC_MAX and fits(frac + 1):
        frac += 1
    while frac > FRAC_MIN and not fits(frac):
        frac -= 1
    return frac
