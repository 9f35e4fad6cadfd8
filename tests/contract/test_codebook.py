import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eie_sim import EIEError, kmeans_codebook, linear_codebook, quantize


@given(seed=st.integers(0, 2**32 - 1), bits=st.integers(1, 8), density=st.sampled_from([0.0, 0.3, 1.0]))
def test_quantize_nearest_nonzero_entry(seed, bits, density):
    rng = np.random.default_rng(seed)
    w = np.where(rng.random((7, 9)) < density, rng.normal(size=(7, 9)), 0.0)
    cb = np.r_[0.0, rng.normal(size=(1 << bits) - 1)]
    codes = quantize(w, cb)
    assert codes.dtype == np.uint8
    assert np.array_equal(codes == 0, w == 0)  # sparsity preserved exactly
    for (i, j), x in np.ndenumerate(w):
        if x != 0:
            d = [abs(x - cb[k]) for k in range(1, cb.size)]
            assert codes[i, j] == 1 + int(np.argmin(d))  # argmin: first (lowest) code on ties


def test_quantize_ties_go_to_lower_code():
    cb = np.array([0.0, 1.0, 3.0, 1.0])
    assert quantize(np.array([[2.0, 1.0]]), cb).tolist() == [[1, 1]]


@pytest.mark.parametrize("init", ["linear", "density", "random"])
def test_kmeans_is_a_fixed_point_of_lloyd(init):
    rng = np.random.default_rng(1)
    w = np.where(rng.random((50, 40)) < 0.3, rng.normal(size=(50, 40)), 0.0)
    cb = kmeans_codebook(w, 3, init=init, iters=500)
    assert cb[0] == 0.0 and cb.size == 8
    codes = quantize(w, cb)
    vals = w[w != 0]
    c = codes[w != 0]
    for k in range(1, 8):
        if np.any(c == k):
            assert cb[k] == pytest.approx(vals[c == k].mean(), rel=1e-9, abs=1e-12)
    # k-means never does worse than its linear initialisation
    lin = linear_codebook(w, 3)
    err = lambda book: np.sum((book[quantize(w, book)] - w) ** 2)
    if init == "linear":
        assert err(cb) <= err(lin) + 1e-12


def test_linear_codebook_spacing():
    w = np.array([[0.0, -1.0, 2.0], [0.5, 0.0, 0.0]])
    assert linear_codebook(w, 2).tolist() == [0.0, -1.0, 0.5, 2.0]


def test_bad_inputs():
    with pytest.raises(EIEError, match="weights\\[0, 1\\]=nan"):
        quantize(np.array([[1.0, np.nan]]), np.arange(4.0))
    with pytest.raises(EIEError, match="2-D"):
        quantize(np.ones(3), np.arange(4.0))
    with pytest.raises(EIEError, match="init='bogus'"):
        kmeans_codebook(np.ones((2, 2)), 2, init="bogus")
    with pytest.raises(EIEError, match="weight_bits=9"):
        linear_codebook(np.ones((2, 2)), 9)
