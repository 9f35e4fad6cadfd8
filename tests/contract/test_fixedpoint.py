import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eie_sim import FixedPointError, QFormat
from eie_sim.contract.fixedpoint import choose_frac, choose_frac_int, quantize_fixed, round_shift


def py_round_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def test_round_half_up_ties():
    q = np.array([-5, -3, -1, 1, 3, 5, 6, -6])
    # x / 2: -2.5 -> -2, -1.5 -> -1, -0.5 -> 0, 0.5 -> 1, 1.5 -> 2, 2.5 -> 3, 3 -> 3, -3 -> -3
    assert round_shift(q, 1, 16).tolist() == [-2, -1, 0, 1, 2, 3, 3, -3]


@given(q=st.lists(st.integers(-(2**61), 2**61 - 1), min_size=1, max_size=20), shift=st.integers(-70, 70), bits=st.integers(2, 40))
def test_round_shift_matches_exact_arithmetic(q, shift, bits):
    got = round_shift(np.array(q, dtype=np.int64), shift, bits)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    for x, g in zip(q, got.tolist()):
        want = py_round_half_up(Fraction(x) / Fraction(2) ** shift)
        assert g == min(max(want, lo), hi)


@given(x=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30), bits=st.integers(2, 24))
def test_choose_frac_is_largest_without_saturation(x, bits):
    x = np.array(x)
    f = choose_frac(x, bits)
    fmt = QFormat(bits, f)
    q = quantize_fixed(x, fmt)
    if np.any(x):
        # nothing saturated: error at most half an LSB
        assert np.all(np.abs(q * 2.0**-f - x) <= 2.0 ** -(f + 1) * (1 + 1e-12))
        # one more fractional bit would saturate something
        if f < 64:
            up = np.floor(np.ldexp(x, f + 1) + 0.5)
            assert up.max() > 2 ** (bits - 1) - 1 or up.min() < -(2 ** (bits - 1))


def test_choose_frac_examples():
    assert choose_frac([0.0, 0.0], 16) == 15
    assert choose_frac([-1.0], 16) == 15  # -32768 fits exactly
    assert choose_frac([1.0], 16) == 14  # 32768 would not
    assert choose_frac([0.9999], 16) == 15
    assert choose_frac([3.0, -0.5], 8) == 5  # 3 * 32 = 96 <= 127, 3 * 64 = 192 > 127


@given(q=st.lists(st.integers(-(2**50), 2**50), min_size=1, max_size=20), q_frac=st.integers(-10, 60), bits=st.integers(2, 24))
def test_choose_frac_int_is_largest(q, q_frac, bits):
    q = np.array(q, dtype=np.int64)
    f = choose_frac_int(q, q_frac, bits)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def fits(ff):
        return all(lo <= py_round_half_up(Fraction(int(x)) / Fraction(2) ** (q_frac - ff)) <= hi for x in q)

    if np.any(q):
        assert fits(f)
        if f < 64:
            assert not fits(f + 1)


def test_quantize_saturates_and_never_wraps():
    fmt = QFormat(8, 0)
    assert quantize_fixed([1e300, -1e300, 127.4, 127.5, -128.6], fmt).tolist() == [127, -128, 127, 127, -128]


@pytest.mark.parametrize("bits, frac, match", [(1, 0, "bits=1"), (16, 65, "frac=65"), (16, 1.5, "frac=1.5"), (True, 0, "bits=True")])
def test_bad_formats(bits, frac, match):
    with pytest.raises(FixedPointError, match=match):
        QFormat(bits, frac)


def test_choose_frac_rejects_nan():
    with pytest.raises(FixedPointError, match="NaN"):
        choose_frac([1.0, np.nan], 16)
