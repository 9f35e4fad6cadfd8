"""The LSTM cell contract (eie_sim.contract.lstm): tables, a hand-worked step, the error bound
against a float64 cell over T steps, batch = per sample, and the lstm layer kind in model files."""

import math

import numpy as np
import pytest

from eie_sim.contract.codebook import kmeans_codebook, quantize
from eie_sim.contract.lstm import (
    SIGMOID_ERROR, TANH_ERROR, error_bound, reference_lstm, reference_sequence, reference_sequence_batch, sigmoid_q,
    tanh_q, tanh_table,
)
from eie_sim.contract.model import Model, ModelLayer, load_model, save_model
from eie_sim.errors import EIEError, EncodingError, ModelFileError
from eie_sim.train.lstm import float_lstm_states


def _layer(rng, H=16, X=6, scale=0.15, density=0.3, **kw):
    w = rng.normal(0, scale, (4 * H, X + H + 1)) * (rng.random((4 * H, X + H + 1)) < density)
    cb = kmeans_codebook(w, 4)
    return ModelLayer(name="lstm", codebook=cb, codes=quantize(w, cb), kind="lstm",
                      params={"hidden": H, "state_frac": kw.pop("state_frac", None)}, **kw)


@pytest.mark.parametrize("frac", range(0, 16))
def test_tables_within_stated_error_on_every_16_bit_input(frac):
    z = np.arange(-32768, 32768)
    v = z * 2.0 ** -frac
    assert np.abs(tanh_q(z, frac) / 16384 - np.tanh(v)).max() <= TANH_ERROR
    assert np.abs(sigmoid_q(z, frac) / 16384 - 0.5 * (1 + np.tanh(v / 2))).max() <= SIGMOID_ERROR
    assert TANH_ERROR < 8.5e-5 and SIGMOID_ERROR < 7.3e-5


def test_hand_worked_step():
    # only the g gate's bias is set (1.0): z = (0, 0, 1, 0), i = f = o = 1/2, g = tanh(1)
    cb = np.r_[0.0, np.ones(15)]
    codes = np.zeros((4, 3), np.uint8)
    codes[2, 2] = 1
    lay = ModelLayer(name="l", codebook=cb, codes=codes, kind="lstm", params={"hidden": 1, "state_frac": 11},
                     in_frac=14, out_frac=10)
    r = reference_lstm(lay, np.zeros((1, 1)))
    t = [math.floor(math.tanh(-8 + n / 64) * 16384 + 0.5) for n in range(1025)]
    assert tanh_table(16).tolist() == t
    g = t[576]  # z_g = 1.0 = 1024 in Q10: u = 1024 + 8192, n = u >> 4 = 576, r = 0
    assert r.z_fixed.tolist() == [[0, 0, 1024, 0]]
    assert r.gates_fixed.tolist() == [[8192, 8192, g, 8192]]
    c = (8192 * g * 2 ** 11 + 2 ** 27) >> 28  # c = round(i * g) in Q11
    assert r.c_fixed.tolist() == [[c]] and c == 780
    u = c + (8 << 11)
    n, rem = u >> 5, u - ((u >> 5) << 5)
    tc = t[n] + (((t[n + 1] - t[n]) * rem + 16) >> 5)
    assert r.h_fixed.tolist() == [[(8192 * tc + 2 ** 13) >> 14]]


@pytest.mark.parametrize("seed", range(4))
def test_error_within_bound_over_28_steps(seed):
    rng = np.random.default_rng(seed)
    lay = _layer(rng)
    seq = rng.random((28, 6)) * (rng.random((28, 6)) < 0.6)
    r = reference_lstm(lay, seq)
    assert not r.saturated
    hs, _ = float_lstm_states(lay.codebook[lay.codes], 16, seq)
    err = np.abs(r.h - hs)
    bound = error_bound(lay, seq, r)
    assert np.all(err <= bound)
    assert bound.max() < 5e-3 and err.max() < 1e-3


def test_batch_equals_per_sample_and_fc_chain():
    rng = np.random.default_rng(7)
    lay = _layer(rng, in_frac=14, out_frac=10, state_frac=11)
    w2 = rng.normal(0, 0.5, (5, 16))
    cb2 = kmeans_codebook(w2, 4)
    fc = ModelLayer(name="fc", codebook=cb2, codes=quantize(w2, cb2), in_frac=14, out_frac=10, w_frac=13, bias=rng.normal(size=5))
    m = Model(layers=(lay, fc))
    xs = rng.random((6, 9, 6))
    batch = reference_sequence_batch(m, xs.reshape(6, -1))
    for i in range(6):
        assert np.array_equal(batch[i], reference_sequence(m, xs[i]).output_fixed)


def test_model_file_v2_roundtrip_and_v1(tmp_path):
    rng = np.random.default_rng(1)
    lay = _layer(rng, in_frac=14, out_frac=10, state_frac=11)
    m = Model(layers=(lay,), meta={"sequence": {"steps": 4, "features": 6}})
    p = save_model(m, tmp_path / "l.npz")
    m2 = load_model(p)
    assert m2.is_sequence and m2.layers[0].hidden == 16 and m2.layers[0].state_frac == 11
    assert m2.n_inputs == 6 and m2.n_outputs == 16
    seq = rng.random((4, 6))
    assert np.array_equal(reference_sequence(m2, seq).output_fixed, reference_sequence(m, seq).output_fixed)
    assert not load_model("models/lenet300-fashion.npz").is_sequence  # a version 1 file


def test_lstm_layer_refusals():
    rng = np.random.default_rng(2)
    lay = _layer(rng)
    with pytest.raises(EncodingError, match="hidden=8"):
        ModelLayer(name="x", codebook=lay.codebook, codes=lay.codes, kind="lstm", params={"hidden": 8})
    with pytest.raises(EncodingError, match="kind='gru'"):
        ModelLayer(name="x", codebook=lay.codebook, codes=lay.codes, kind="gru")
    with pytest.raises(EncodingError, match="lstm only as the first layer"):
        Model(layers=(ModelLayer(name="fc", codebook=lay.codebook, codes=lay.codes[:, :23]), lay))
    with pytest.raises(EIEError, match=r"shape \(3, 5\); expected \(T, 6\)"):
        reference_lstm(lay, np.zeros((3, 5)))
    with pytest.raises(EncodingError, match="expected a ModelLayer of kind 'lstm'"):
        reference_lstm(ModelLayer(name="fc", codebook=lay.codebook, codes=lay.codes), np.zeros((2, 6)))


def test_v2_fc_field_refused_in_v1_file(tmp_path):
    import json
    import zipfile

    p = tmp_path / "m.npz"
    save_model(load_model("models/lenet300-fashion.npz"), p)
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["meta.json"].tobytes())
    header["version"] = 1  # version 1 has no 'kind'
    arrays["meta.json"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(p, **arrays)
    assert zipfile.is_zipfile(p)
    with pytest.raises(ModelFileError, match=r"unknown field\(s\) \['kind'\]"):
        load_model(p)
