"""Saturation counts (eie_sim.contract.saturation) against slow references written with Python
integers and fractions, one value at a time; the batch forms and the cycle model against the
golden model; the warning lines."""

import math
from fractions import Fraction

import numpy as np
import pytest

from eie_sim.config import ArchConfig
from eie_sim.contract.fixedpoint import QFormat, count_quantize_saturated, count_shift_saturated
from eie_sim.contract.golden import reference_forward, reference_forward_batch, reference_spmv
from eie_sim.contract.lstm import reference_lstm, reference_sequence, reference_sequence_batch
from eie_sim.contract.model import Model, ModelLayer
from eie_sim.contract.saturation import POINTS, Saturation
from eie_sim.cycle.simulator import simulate

from helpers import random_codebook, random_codes


def _clips(x: Fraction, bits: int) -> bool:
    """Does round-half-up of x leave the signed range of ``bits``?"""
    v = math.floor(x + Fraction(1, 2))
    return not -(2 ** (bits - 1)) <= v <= 2 ** (bits - 1) - 1


def slow_counts(codes, codebook, a, *, B, A, fa, fw, fo, bias=None, relu=False) -> dict:
    """The counts of one FC layer, entry by entry (ascending columns, as the contract)."""
    F = Fraction
    qa = [min(max(math.floor(F(float(x)) * 2 ** fa + F(1, 2)), -(2 ** (B - 1))), 2 ** (B - 1) - 1) for x in a]
    qc = [min(max(math.floor(F(float(c)) * 2 ** fw + F(1, 2)), -(2 ** (B - 1))), 2 ** (B - 1) - 1) for c in codebook]
    n = dict.fromkeys(POINTS, 0)
    n["inputs"] = sum(_clips(F(float(x)) * 2 ** fa, B) for x in a)
    n["weights"] = sum(_clips(F(float(c)) * 2 ** fw, B) for c in codebook)
    lo, hi = -(2 ** (A - 1)), 2 ** (A - 1) - 1
    rows, cols = codes.shape
    acc = [0] * rows
    if bias is not None:
        n["bias"] = sum(_clips(F(float(b)) * 2 ** (fa + fw), A) for b in bias)
        acc = [min(max(math.floor(F(float(b)) * 2 ** (fa + fw) + F(1, 2)), lo), hi) for b in bias]
    for j in range(cols):
        if qa[j] == 0:
            continue
        for i in range(rows):
            if codes[i, j]:
                t = acc[i] + qc[codes[i, j]] * qa[j]
                n["acc"] += not lo <= t <= hi
                acc[i] = min(max(t, lo), hi)
    for x in acc:
        v = math.floor(F(x) / F(2) ** (fa + fw - fo) + F(1, 2))
        n["outputs"] += v > 2 ** (B - 1) - 1 or (not relu and v < -(2 ** (B - 1)))
    return n


CASES = [  # seed, rows, cols, density, B, A, fa, fw, fo, relu, input scale, bias
    (0, 12, 20, 0.4, 8, 16, 5, 5, 4, False, 8.0, False),  # inputs, acc and outputs all clip
    (1, 9, 30, 0.5, 8, 16, 6, 6, 6, True, 3.0, True),
    (2, 16, 16, 0.3, 16, 32, 14, 14, 14, False, 4.0, True),
    (3, 7, 11, 0.6, 8, 20, 3, 9, 2, True, 1.0, False),  # codebook clips at fw = 9
    (4, 10, 10, 0.5, 16, 48, 12, 12, 10, False, 0.5, False),  # nothing clips
]


def _case(case):
    """(codes, codebook, activations, bias, slow_counts keywords) of a CASES row, seeded."""
    seed, rows, cols, density, B, A, fa, fw, fo, relu, scale, with_bias = case
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, rows, cols, density, 4)
    cb = random_codebook(rng, 4)
    a = rng.normal(0, scale, cols) * (rng.random(cols) < 0.7)
    bias = rng.normal(0, 2 ** (A - fa - fw - 1) * 1.5, rows) if with_bias else None
    return codes, cb, a, bias, dict(B=B, A=A, fa=fa, fw=fw, fo=fo, relu=relu)


@pytest.mark.parametrize("case", CASES)
def test_counts_match_the_slow_reference(case):
    codes, cb, a, bias, k = _case(case)
    act = "relu" if k["relu"] else "none"
    lay = ModelLayer(name="fc", codebook=cb, codes=codes, act_bits=k["B"], bias=bias, activation=act)
    cfg = ArchConfig(n_pe=4, act_bits=k["B"], acc_bits=k["A"])
    r = reference_spmv(lay, a, cfg, act_frac=k["fa"], w_frac=k["fw"], out_frac=k["fo"])
    want = slow_counts(codes, cb, a, bias=bias, **k)
    assert r.saturation.counts() == want
    assert r.acc_saturated == (want["acc"] > 0)
    lay_f = ModelLayer(name="fc", codebook=cb, codes=codes, act_bits=k["B"], bias=bias, activation=act,
                       in_frac=k["fa"], w_frac=k["fw"], out_frac=k["fo"])
    sim = simulate(lay_f, a, cfg)
    assert sim.saturation.counts() == want
    assert np.array_equal(sim.output_fixed, r.output_fixed)


def test_the_cases_exercise_every_fc_point():
    seen = dict.fromkeys(("inputs", "weights", "bias", "acc", "outputs"), 0)
    for case in CASES:
        codes, cb, a, bias, k = _case(case)
        for p, v in slow_counts(codes, cb, a, bias=bias, **k).items():
            if p in seen:
                seen[p] += v
    assert all(v > 0 for v in seen.values()), seen


def test_chosen_formats_never_saturate():
    rng = np.random.default_rng(5)
    codes = random_codes(rng, 30, 40, 0.3, 4)
    r = reference_spmv(ModelLayer(name="fc", codebook=random_codebook(rng, 4), codes=codes), rng.normal(0, 100, 40))
    assert r.saturation.total == 0 and not r.saturation


@pytest.mark.parametrize("shift", [-70, -20, -9, -8, -7, -1, 0, 1, 2, 7, 30, 62, 63, 80])
def test_shift_count_equals_the_exact_rescale(shift):
    rng = np.random.default_rng(abs(shift))
    q = np.concatenate([rng.integers(-(1 << 40), 1 << 40, 300), rng.integers(-600, 600, 300), [0, 1, -1, 127, 128, -128, -129]])
    B = 8
    for relu in (False, True):
        want = 0
        for v in q.tolist():
            y = math.floor(Fraction(v) / Fraction(2) ** shift + Fraction(1, 2))
            want += y > 127 or (not relu and y < -128)
        assert count_shift_saturated(q, shift, B, positive_only=relu) == want
    rows = q[:600].reshape(6, 100)
    assert count_shift_saturated(rows, shift, B, axis=1).tolist() == [count_shift_saturated(r, shift, B) for r in rows]


def test_quantize_count_at_the_half_lsb_edges():
    f = QFormat(8, 4)  # range -8 .. 7.9375; 7.96875 rounds up to 8.0 (clips), 7.96874 does not
    x = np.array([7.96875, 7.968749, -8.03125, -8.031251, -8.0, 100.0, -100.0, 0.0])
    assert count_quantize_saturated(x, f) == sum(_clips(Fraction(float(v)) * 16, 8) for v in x) == 4


def _model(rng, in_frac, out_fracs):
    l1 = ModelLayer(name="fc1", codebook=random_codebook(rng, 4), codes=random_codes(rng, 16, 20, 0.4, 4),
                    activation="relu", in_frac=in_frac, w_frac=13, out_frac=out_fracs[0])
    l2 = ModelLayer(name="fc2", codebook=random_codebook(rng, 4), codes=random_codes(rng, 5, 16, 0.5, 4),
                    in_frac=out_fracs[0], w_frac=13, out_frac=out_fracs[1])
    return Model(layers=(l1, l2))


def test_batch_counts_equal_per_sample_counts_and_the_cycle_model():
    rng = np.random.default_rng(7)
    m = _model(rng, 13, (13, 14))
    x = rng.normal(0, 3.0, (25, 20))
    q, counts = reference_forward_batch(m, x, saturation=True)
    assert counts.shape == (25, 2, len(POINTS))
    for i in range(25):
        res = reference_forward(m, x[i])
        assert np.array_equal(q[i], res.output_fixed)
        assert [list(counts[i, l]) for l in range(2)] == [list(r.saturation.counts().values()) for r in res.layers]
        if i < 5:
            sim = simulate(m, x[i], ArchConfig(n_pe=4))
            assert [r.saturation.counts() for r in sim.layers] == [r.saturation.counts() for r in res.layers]
            assert sim.saturation.counts() == res.saturation.counts()
    assert counts[:, 0, POINTS.index("inputs")].sum() > 0 and counts[:, :, POINTS.index("outputs")].sum() > 0
    assert np.array_equal(reference_forward_batch(m, x), q)


def _lstm(rng, H=6, X=4, **kw):
    w = rng.normal(0, 0.8, (4 * H, X + H + 1)) * (rng.random((4 * H, X + H + 1)) < 0.6)
    cb = np.r_[0.0, np.sort(rng.normal(0, 1.0, 15))]
    codes = np.abs(np.digitize(w, (cb[1:-1] + cb[2:]) / 2) + 1) * (w != 0)
    return ModelLayer(name="lstm", codebook=cb, codes=codes.astype(np.uint8), kind="lstm",
                      params={"hidden": H, "state_frac": kw.pop("state_frac", None)}, **kw)


def test_lstm_counts_against_a_recomputation_from_the_gates():
    rng = np.random.default_rng(8)
    lay = _lstm(rng, in_frac=12, out_frac=13, state_frac=14)  # gates clip above 4, c above 2
    seq = rng.normal(0, 3.0, (6, 4))
    r = reference_lstm(lay, seq)
    fm, B = r.formats, r.formats.bits
    fs = fm.fs
    want = dict.fromkeys(POINTS, 0)
    want["inputs"] = sum(_clips(Fraction(float(v)) * 2 ** fm.fa, B) for v in seq.ravel())
    H = lay.hidden
    c_prev = [0] * H
    for t in range(len(seq)):
        want["gates"] += r.steps[t].saturation.outputs
        want["acc"] += r.steps[t].saturation.acc
        g = r.gates_fixed[t].tolist()
        for u in range(H):
            i, f, gg, o = g[u], g[H + u], g[2 * H + u], g[3 * H + u]
            c_wide = (f * c_prev[u] << fs) + (i * gg << fm.fc)
            want["state"] += _clips(Fraction(c_wide, 2 ** (2 * fs)), B)
        from eie_sim.contract.lstm import tanh_q

        tc = tanh_q(r.c_fixed[t], fm.fc, B).tolist()
        for u in range(H):
            want["hidden"] += _clips(Fraction(g[3 * H + u] * tc[u], 2 ** (2 * fs - fm.fa)), B)
        c_prev = r.c_fixed[t].tolist()
    assert r.saturation.counts() == want
    assert want["inputs"] > 0 and want["gates"] > 0 and want["state"] > 0
    # the cycle model, step by step, and the batch form agree
    sim = simulate(lay, seq, ArchConfig(n_pe=4))
    assert sim.saturation.counts() == want
    fc = ModelLayer(name="fc", codebook=random_codebook(rng, 4), codes=random_codes(rng, 3, H, 0.8, 4),
                    in_frac=fm.fa, w_frac=13, out_frac=13)
    m = Model(layers=(lay, fc))
    xs = rng.normal(0, 3.0, (4, 6, 4))
    q, counts = reference_sequence_batch(m, xs, saturation=True)
    for i in range(4):
        res = reference_sequence(m, xs[i])
        assert np.array_equal(q[i], res.output_fixed)
        assert list(counts[i, 0]) == list(res.lstm.saturation.counts().values())
        assert list(counts[i, 1]) == list(res.layers[0].saturation.counts().values())


def test_warnings_name_the_layer_the_count_the_format_and_the_fix():
    s = Saturation(inputs=3, outputs=2, formats=(("inputs", 16, 15), ("outputs", 16, 12)))
    w = s.warnings("fc1")
    assert len(w) == 2
    assert "layer fc1" in w[0] and "3 input" in w[0] and "Q16.15 (range -1 .. 0.999969)" in w[0] and "--input-range" in w[0]
    assert "2 output" in w[1] and "Q16.12 (range -8 .. 7.99976)" in w[1]
    assert Saturation().warnings("x") == []
    assert (s + s).to_dict()["saturated_total"] == 10
