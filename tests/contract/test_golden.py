import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eie_sim import (
    ActivationError,
    ArchConfig,
    EIEError,
    Model,
    ModelLayer,
    encode,
    error_bound,
    reference_forward,
    reference_spmv,
)
from eie_sim.contract.fixedpoint import choose_frac

from helpers import random_codebook, random_codes


def q_round(x: Fraction, bits: int) -> int:
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return min(max(math.floor(x + Fraction(1, 2)), lo), hi)


def slow_spmv(codes, codebook, a, *, act_bits, acc_bits, fa, fw, fo, bias=None, relu=False):
    """The contract of eie_sim.contract.golden written with Python integers, one entry at a time."""
    qa = [q_round(Fraction(float(x)) * Fraction(2) ** fa, act_bits) for x in a]
    qc = [q_round(Fraction(float(c)) * Fraction(2) ** fw, act_bits) for c in codebook]
    rows, cols = codes.shape
    acc = [0] * rows
    if bias is not None:
        acc = [q_round(Fraction(float(b)) * Fraction(2) ** (fa + fw), acc_bits) for b in bias]
    lo, hi = -(2 ** (acc_bits - 1)), 2 ** (acc_bits - 1) - 1
    for j in range(cols):  # ascending broadcast order
        if qa[j] == 0:
            continue
        for i in range(rows):
            if codes[i, j]:
                acc[i] = min(max(acc[i] + qc[codes[i, j]] * qa[j], lo), hi)
    y = [q_round(Fraction(x) / Fraction(2) ** (fa + fw - fo), act_bits) for x in acc]
    if relu:
        y = [max(v, 0) for v in y]
    return y, acc


def test_hand_worked_example():
    codes = np.array([[1, 0], [2, 3]])
    cb = np.array([0.0, 0.5, -0.25, 1.0])
    layer = encode(codes, cb, n_pe=2)
    r = reference_spmv(layer, [1.0, 2.0], act_frac=8, w_frac=8, out_frac=8)
    # qa = [256, 512], qc = [0, 128, -64, 256]; acc = [32768, 114688] in Q.16; >> 8 with rounding
    assert r.acc.tolist() == [32768, 114688]
    assert r.output_fixed.tolist() == [128, 448]
    assert r.output.tolist() == [0.5, 1.75]


def test_rounding_is_half_up_at_the_output():
    codes = np.array([[1], [1]])
    cb = np.array([0.0, 1.0])
    layer = encode(codes, cb, n_pe=1)
    # a = 0.75 and -0.75 in Q.2 -> 3, -3; w = 1.0 in Q.0; out Q.1: 1.5 -> 2? no: 3 / 2 = 1.5 -> 2 (half up)
    r = reference_spmv(layer, [0.75], act_frac=2, w_frac=0, out_frac=1)
    assert r.output_fixed.tolist() == [2, 2]
    r = reference_spmv(layer, [-0.75], act_frac=2, w_frac=0, out_frac=1)
    assert r.output_fixed.tolist() == [-1, -1]  # -1.5 -> -1 (ties toward +inf)


@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 12),
    cols=st.integers(1, 12),
    density=st.sampled_from([0.1, 0.5, 1.0]),
    n_pe=st.integers(1, 5),
    act_bits=st.sampled_from([4, 8, 16]),
    acc_extra=st.integers(0, 20),
    fracs=st.tuples(st.integers(-3, 18), st.integers(-3, 18), st.integers(-6, 24)),
    relu=st.booleans(),
    with_bias=st.booleans(),
    scale=st.sampled_from([0.01, 1.0, 300.0]),
)
def test_matches_slow_integer_reference(seed, rows, cols, density, n_pe, act_bits, acc_extra, fracs, relu, with_bias, scale):
    """Explicit formats and narrow accumulators, so rounding and saturation are exercised."""
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, rows, cols, density, 3)
    cb = random_codebook(rng, 3, scale)
    a = rng.normal(0.0, scale, cols) * (rng.random(cols) < 0.7)
    bias = rng.normal(0.0, scale, rows) if with_bias else None
    fa, fw, fo = fracs
    acc_bits = 2 * act_bits + acc_extra
    cfg = ArchConfig(n_pe=n_pe, weight_bits=3, act_bits=act_bits, acc_bits=acc_bits)
    layer = encode(codes, cb, n_pe=n_pe)
    r = reference_spmv(layer, a, cfg, act_frac=fa, w_frac=fw, out_frac=fo, bias=bias, activation="relu" if relu else "none")
    want_y, want_acc = slow_spmv(codes, cb, a, act_bits=act_bits, acc_bits=acc_bits, fa=fa, fw=fw, fo=fo, bias=bias, relu=relu)
    assert r.output_fixed.tolist() == want_y
    assert r.acc.tolist() == want_acc
    assert np.array_equal(r.output, np.array(want_y) * 2.0**-fo)


def test_accumulator_saturation_follows_ascending_column_order():
    # Row 0: +p, +p, +p, -p with p = 127 * 127 = 16129 in a 16-bit accumulator (max 32767).
    # In column order: 16129, 32258, sat(48387) = 32767, 32767 - 16129 = 16638.
    # An unsaturated sum would give 32258; the same terms in another order would give other values.
    codes = np.array([[1, 1, 1, 2]])
    cb = np.array([0.0, 0.99, -0.99, 0.0])
    cfg = ArchConfig(n_pe=1, weight_bits=2, act_bits=8, acc_bits=16)
    layer = encode(codes, cb, n_pe=1)
    r = reference_spmv(layer, [0.99] * 4, cfg, act_frac=7, w_frac=7, out_frac=7)
    assert r.acc.tolist() == [16638]
    assert r.acc_saturated
    y, _ = slow_spmv(codes, cb, [0.99] * 4, act_bits=8, acc_bits=16, fa=7, fw=7, fo=7)
    assert r.output_fixed.tolist() == y == [127]  # 16638 / 128 = 129.98 -> saturates at 127


@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 40),
    cols=st.integers(1, 60),
    density=st.sampled_from([0.05, 0.3, 1.0]),
    weight_bits=st.integers(1, 8),
    relu=st.booleans(),
    with_bias=st.booleans(),
    act_bits=st.sampled_from([8, 12, 16]),
)
def test_float_view_within_stated_bound(seed, rows, cols, density, weight_bits, relu, with_bias, act_bits):
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, rows, cols, density, weight_bits)
    cb = random_codebook(rng, weight_bits, 0.2)
    a = np.maximum(rng.normal(size=cols), 0.0)
    bias = rng.normal(0.0, 0.1, rows) if with_bias else None
    layer = encode(codes, cb, n_pe=4)
    r = reference_spmv(layer, a, ArchConfig(n_pe=4, weight_bits=weight_bits, act_bits=act_bits), bias=bias, activation="relu" if relu else "none")
    exact = cb[codes] @ a + (0.0 if bias is None else bias)
    if relu:
        exact = np.maximum(exact, 0.0)
    assert not r.acc_saturated
    bound = error_bound(layer, a, r)
    assert np.all(np.abs(r.output - exact) <= bound * (1 + 1e-9) + 1e-300)
    # The bound is tight enough to mean something: a few LSBs of the output format, not more.
    assert r.act_format.frac == choose_frac(a, act_bits)
    assert r.w_format.frac == choose_frac(cb, act_bits)


def test_bound_holds_on_a_large_layer():
    rng = np.random.default_rng(7)
    codes = random_codes(rng, 1000, 4096, 0.09, 4)
    cb = random_codebook(rng, 4, 0.05)
    a = np.maximum(rng.normal(size=4096), 0.0) * (rng.random(4096) < 0.35)
    layer = encode(codes, cb, n_pe=64)
    r = reference_spmv(layer, a)
    exact = cb[codes] @ a
    err = np.abs(r.output - exact)
    assert np.all(err <= error_bound(layer, a, r))
    assert err.max() < 1e-2 * np.abs(exact).max()


def test_forward_chains_fixed_point_outputs():
    rng = np.random.default_rng(3)
    sizes = [30, 20, 10, 5]
    layers = []
    for i in range(3):
        codes = random_codes(rng, sizes[i + 1], sizes[i], 0.4, 4)
        cb = random_codebook(rng, 4, 0.3)
        layers.append(
            ModelLayer(name=f"l{i}", codebook=cb, codes=codes, bias=rng.normal(0, 0.1, sizes[i + 1]),
                       activation="relu" if i < 2 else "none")
        )
    model = Model(layers=tuple(layers))
    x = np.maximum(rng.normal(size=30), 0)
    res = reference_forward(model, x)
    # Layer by layer by hand: each layer takes the previous integers and format unchanged.
    r0 = reference_spmv(layers[0], x)
    r1 = reference_spmv(layers[1], r0.output_fixed, act_frac=r0.out_format.frac, fixed_input=True)
    r2 = reference_spmv(layers[2], r1.output_fixed, act_frac=r1.out_format.frac, fixed_input=True)
    assert res.output_fixed.tolist() == r2.output_fixed.tolist()
    assert np.all(r1.output_fixed >= 0)
    assert res.layers[1].act_format == r0.out_format
    # and matches a float forward pass closely
    h = x
    for lay in layers:
        h = lay.codebook[lay.codes] @ h + lay.bias
        h = np.maximum(h, 0) if lay.activation == "relu" else h
    assert np.allclose(res.output, h, atol=5e-3 * np.abs(h).max())


def test_stored_formats_are_used_and_checked():
    codes = np.array([[1, 2]])
    cb = np.array([0.0, 0.5, 0.25, 0.0])
    lay = ModelLayer(name="a", codebook=cb, codes=codes, in_frac=4, w_frac=4, out_frac=4)
    r = reference_spmv(lay, [1.0, 1.0])
    assert (r.act_format.frac, r.w_format.frac, r.out_format.frac) == (4, 4, 4)
    assert r.output_fixed.tolist() == [12]
    with pytest.raises(EIEError, match="act_bits=16"):
        reference_spmv(lay, [1.0, 1.0], ArchConfig(weight_bits=2, act_bits=8))


@pytest.mark.parametrize(
    "acts, kwargs, match",
    [
        (np.ones(3), {}, "length 3; expected 4"),
        (np.ones((2, 2)), {}, "1-D vector"),
        (np.array([1.0, np.nan, 0, 0]), {}, r"activations\[1\]=nan"),
        (np.array([1.0, 0, np.inf, 0]), {}, r"activations\[2\]=inf"),
        (np.ones(4, dtype=np.int64), {"fixed_input": True}, "needs act_frac"),
        (np.full(4, 40000), {"fixed_input": True, "act_frac": 3}, "expected -32768..32767"),
        (np.ones(4), {"bias": np.ones(2)}, "bias"),
        (np.ones(4), {"activation": "tanh"}, "activation='tanh'"),
    ],
)
def test_bad_input(acts, kwargs, match):
    layer = encode(np.ones((3, 4), dtype=np.uint8), np.array([0.0, 1.0]), n_pe=2)
    with pytest.raises(EIEError, match=match):
        reference_spmv(layer, acts, **kwargs)


def test_activation_errors_are_activation_errors():
    layer = encode(np.ones((3, 4), dtype=np.uint8), np.array([0.0, 1.0]), n_pe=2)
    with pytest.raises(ActivationError):
        reference_spmv(layer, np.ones(5))


@pytest.mark.parametrize("cfg, match", [
    (dict(n_pe=4), "encoded for n_pe=8 but config.n_pe=4"),
    (dict(n_pe=8, weight_bits=3), "weight_bits=4"),
    (dict(n_pe=8, index_bits=3), "index_bits=4 but config.index_bits=3"),
    (dict(n_pe=8, ptr_bits=2), "pointers need"),
])
def test_golden_refuses_the_config_mismatches_the_cycle_model_refuses(cfg, match):
    from eie_sim import simulate

    rng = np.random.default_rng(3)
    codes = random_codes(rng, 40, 30, 0.3, 4)
    layer = encode(codes, random_codebook(rng, 4), n_pe=8)
    a = np.abs(rng.normal(size=30))
    for run in (reference_spmv, simulate):
        with pytest.raises(EIEError, match=match):
            run(layer, a, ArchConfig(**cfg))
    # config=None means the layer's own configuration, for the golden model
    assert reference_spmv(layer, a).output_fixed.tolist() == reference_spmv(layer, a, ArchConfig(n_pe=8)).output_fixed.tolist()
