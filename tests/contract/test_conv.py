"""The conv kind's contract (eie_sim.contract.conv): golden against slow loop references in float
and in integers, the batch step against the single one, pooling, the model file, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from eie_sim.contract.conv import geometry
from eie_sim.contract.golden import error_bound, reference_forward, reference_forward_batch
from eie_sim.contract.layer import Model, ModelLayer
from eie_sim.contract.model import load_model, save_model
from eie_sim.contract.saturation import POINTS
from eie_sim.errors import EncodingError, ModelFileError


def conv_layer(rng, c_in=3, c_out=6, hw=(9, 7), kernel=(3, 2), stride=(2, 1), padding=(1, 0, 1, 1), pool="none",
               density=0.5, activation="relu", name="c", **kw):
    kh, kw_ = kernel
    codes = rng.integers(0, 16, (c_out, c_in * kh * kw_))
    codes[rng.random(codes.shape) > density] = 0
    cb = np.concatenate([[0.0], rng.normal(0, 0.5, 15)])
    params = dict(in_hw=hw, kernel=kernel, stride=stride, padding=padding, pool=pool)
    if pool != "none":
        params.update(pool_kernel=kw.pop("pool_kernel", 2), pool_stride=kw.pop("pool_stride", 2),
                      pool_padding=kw.pop("pool_padding", 0))
    return ModelLayer(name=name, codebook=cb, codes=codes.astype(np.uint8), bias=rng.normal(0, 0.1, c_out),
                      activation=activation, kind="conv", params=params, **kw)


def slow_conv_float(layer, x):
    """Direct loops over output channels, positions and the kernel (float64, codebook values)."""
    g = geometry(layer)
    w = layer.codebook[layer.codes.astype(np.int64)].reshape(g.c_out, g.c_in, g.kh, g.kw)
    xm = x.reshape(g.c_in, g.h, g.w)
    y = np.zeros((g.c_out, g.ho, g.wo))
    for o in range(g.c_out):
        for i in range(g.ho):
            for j in range(g.wo):
                s = layer.bias[o]
                for c in range(g.c_in):
                    for ky in range(g.kh):
                        for kx in range(g.kw):
                            yy, xx = i * g.stride[0] + ky - g.padding[0], j * g.stride[1] + kx - g.padding[1]
                            if 0 <= yy < g.h and 0 <= xx < g.w:
                                s += w[o, c, ky, kx] * xm[c, yy, xx]
                y[o, i, j] = s
    if layer.activation == "relu":
        y = np.maximum(y, 0)
    return y


def slow_pool(g, y, integer: bool):
    """Pool (C, Ho, Wo) by loops: max of the in-bounds values, or their mean (rounded half up)."""
    kh, kw = g.pool_kernel
    out = np.zeros((y.shape[0], g.hp, g.wp), dtype=np.int64 if integer else np.float64)
    for c in range(y.shape[0]):
        for i in range(g.hp):
            for j in range(g.wp):
                vals = [y[c, yy, xx] for yy in range(i * g.pool_stride[0] - g.pool_padding[0], i * g.pool_stride[0] - g.pool_padding[0] + kh)
                        for xx in range(j * g.pool_stride[1] - g.pool_padding[1], j * g.pool_stride[1] - g.pool_padding[1] + kw)
                        if 0 <= yy < g.ho and 0 <= xx < g.wo]
                if g.pool == "max":
                    out[c, i, j] = max(vals)
                elif integer:
                    out[c, i, j] = math.floor(sum(int(v) for v in vals) / len(vals) + 0.5)
                else:
                    out[c, i, j] = sum(vals) / len(vals)
    return out


def slow_conv_fixed(layer, res):
    """The integer contract in Python integers: per position, bias then the patch's products in
    ascending order, round half up, saturate, ReLU (formats taken from ``res``)."""
    g = geometry(layer)
    B = layer.act_bits
    qa = res.input_fixed.reshape(g.c_in, g.h, g.w)
    fw, fo = res.w_format, res.out_format
    qc = [math.floor(v * 2 ** fw.frac + 0.5) for v in layer.codebook]
    acc_frac = res.act_format.frac + fw.frac
    shift = acc_frac - fo.frac
    y = np.zeros((g.c_out, g.ho, g.wo), dtype=np.int64)
    for o in range(g.c_out):
        b = math.floor(layer.bias[o] * 2 ** acc_frac + 0.5)
        for i in range(g.ho):
            for j in range(g.wo):
                acc = b
                for c in range(g.c_in):
                    for ky in range(g.kh):
                        for kx in range(g.kw):
                            yy, xx = i * g.stride[0] + ky - g.padding[0], j * g.stride[1] + kx - g.padding[1]
                            if 0 <= yy < g.h and 0 <= xx < g.w:
                                acc += qc[layer.codes[o, (c * g.kh + ky) * g.kw + kx]] * int(qa[c, yy, xx])
                v = (acc + (1 << (shift - 1))) >> shift if shift > 0 else acc << -shift
                v = min(max(v, -(1 << (B - 1))), (1 << (B - 1)) - 1)
                y[o, i, j] = max(v, 0) if layer.activation == "relu" else v
    return y


CASES = [
    dict(),
    dict(stride=(1, 1), padding=(0, 0, 0, 0), kernel=(1, 1), activation="none"),
    dict(hw=(8, 8), kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1), pool="max", pool_kernel=2, pool_stride=2),
    dict(hw=(7, 9), kernel=(2, 3), stride=(2, 2), padding=(1, 2, 0, 1), pool="avg", pool_kernel=(3, 2),
         pool_stride=(1, 2), pool_padding=(1, 1, 1, 0), activation="none"),
    dict(hw=(6, 6), kernel=(5, 5), stride=(1, 1), padding=(0, 0, 0, 0), pool="avg", pool_kernel=(2, 2),
         pool_stride=(1, 1)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_golden_matches_slow_float_and_integer_references(case):
    rng = np.random.default_rng(100 + case)
    layer = conv_layer(rng, **CASES[case])
    g = geometry(layer)
    x = rng.normal(0, 1, layer.n_in)
    res = reference_forward(layer, x).layers[0]
    # integers: bit-exact against the loops, before and after pooling
    y = slow_conv_fixed(layer, res)
    assert np.array_equal(res.conv_fixed.reshape(y.shape), y)
    want = slow_pool(g, y, True) if g.pool != "none" else y
    assert np.array_equal(res.output_fixed, want.reshape(-1))
    # float: the kind's float step equals the loops; the golden output is within the error bound
    yf = slow_conv_float(layer, x)
    wantf = slow_pool(g, yf, False) if g.pool != "none" else yf
    assert np.allclose(layer.spec.float_forward(layer, x[None])[0], wantf.reshape(-1), rtol=1e-12, atol=1e-12)
    if g.pool == "none":
        idx = np.array([[c * g.h * g.w + yy * g.w + xx if 0 <= yy < g.h and 0 <= xx < g.w else -1
                         for c in range(g.c_in) for yy in range(i * g.stride[0] - g.padding[0], i * g.stride[0] - g.padding[0] + g.kh)
                         for xx in range(j * g.stride[1] - g.padding[1], j * g.stride[1] - g.padding[1] + g.kw)]
                        for i in range(g.ho) for j in range(g.wo)])
        for p in range(g.positions):
            patch = np.where(idx[p] >= 0, x[np.maximum(idx[p], 0)], 0.0)
            bound = error_bound(layer, patch, res)
            err = np.abs(res.output.reshape(g.c_out, -1)[:, p] - yf.reshape(g.c_out, -1)[:, p])
            assert np.all(err <= bound + 1e-12)


def test_average_pool_rounds_half_up_by_hand():
    """2 x 2 average of conv outputs 1, 2, 2, 2 (sum 7, n 4): 7/4 = 1.75 -> 2; of -1, -2, -2, -1
    (sum -6): -1.5 -> -1 (half up, toward +inf)."""
    layer = ModelLayer(name="p", codebook=np.array([0.0, 1.0]), codes=np.ones((1, 1), np.uint8), kind="conv",
                       in_frac=0, w_frac=0, out_frac=0, act_bits=8,
                       params=dict(in_hw=(2, 4), kernel=1, pool="avg", pool_kernel=2, pool_stride=2))
    x = np.array([1, 2, -1, -2, 2, 2, -2, -1], dtype=np.float64)
    assert reference_forward(layer, x).output_fixed.tolist() == [2, -1]


@pytest.mark.parametrize("pool", ["none", "max", "avg"])
def test_batch_equals_single_with_saturation_counts(pool):
    rng = np.random.default_rng(7)
    conv = conv_layer(rng, hw=(8, 6), kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1), pool=pool,
                      in_frac=13, w_frac=14, out_frac=13)  # out_frac too large: some outputs saturate
    fc = ModelLayer(name="f", codebook=conv.codebook, codes=rng.integers(0, 16, (5, conv.n_out)).astype(np.uint8),
                    in_frac=13, w_frac=14, out_frac=10)
    model = Model(layers=(conv, fc))
    x = rng.normal(0, 1.5, (6, conv.n_in))
    q, counts = reference_forward_batch(model, x, saturation=True)
    total = 0
    for i in range(len(x)):
        r = reference_forward(model, x[i])
        assert np.array_equal(r.output_fixed, q[i])
        assert counts[i].tolist() == [[getattr(l.saturation, p) for p in POINTS] for l in r.layers]
        total += r.layers[0].saturation.outputs + r.layers[0].saturation.inputs
    assert total > 0  # the case exercises the counts


def test_chain_passes_integers_and_checks_the_input_count():
    rng = np.random.default_rng(3)
    c1 = conv_layer(rng, name="c1", hw=(10, 10), kernel=(3, 3), stride=(1, 1), padding=(0, 0, 0, 0), pool="max")
    c2 = conv_layer(rng, name="c2", c_in=6, c_out=4, hw=(4, 4), kernel=(2, 2), stride=(1, 1), padding=(0, 0, 0, 0))
    model = Model(layers=(c1, c2))
    x = rng.normal(0, 1, c1.n_in)
    r = reference_forward(model, x)
    r1 = reference_forward(c1, x).layers[0]
    r2 = c2.spec.golden(c2, r1.output_fixed, None, act_frac=r1.out_format.frac, fixed_input=True)
    assert np.array_equal(r.output_fixed, r2.output_fixed)
    with pytest.raises(EncodingError, match="layer 'c4' has 96 inputs; expected 54, the outputs of layer 'c3'"):
        Model(layers=(c1, conv_layer(rng, name="c3", c_in=6, hw=(4, 4), kernel=(2, 2), stride=1, padding=0),
                      conv_layer(rng, name="c4", c_in=6, hw=(4, 4), kernel=(2, 2), stride=1, padding=0)))


@pytest.mark.parametrize("params, msg", [
    (dict(kernel=(3, 3)), "needs params in_hw and kernel"),
    (dict(in_hw=(5, 5), kernel=(2, 3)), r"shape 6x27; a conv layer with kernel 2x3 expects C_out x \(C_in \* 6\)"),
    (dict(in_hw=(5, 5), kernel=3, padding=(3, 0, 0, 0)), "padding=.*smaller than the kernel"),
    (dict(in_hw=(5, 5), kernel=3, stride=0), "stride=0; expected 2 integers in 1"),
    (dict(in_hw=(5, 5), kernel=3, pool="min"), "pool='min'; expected one of"),
    (dict(in_hw=(5, 5), kernel=3, pool="max"), "pool_kernel=None; expected 2 integers"),
    (dict(in_hw=(2, 2), kernel=3), "kernel=.*larger than the padded input 2x2"),
    (dict(in_hw=(5, 5), kernel=3, dilation=2), r"params \['dilation'\]; kind 'conv' has fields"),
])
def test_bad_conv_fields_are_refused_by_name(params, msg):
    codes = np.ones((6, 27), np.uint8)
    with pytest.raises(EncodingError, match=msg):
        ModelLayer(name="c", codebook=np.array([0.0, 0.5]), codes=codes, kind="conv", params=params)


def _rewrite(path, out, edit):
    """Copy model file ``path`` to ``out`` with ``edit`` applied to its first layer record."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    head = json.loads(arrays["meta.json"].tobytes().decode())
    edit(head["layers"][0])
    arrays["meta.json"] = np.frombuffer(json.dumps(head).encode(), dtype=np.uint8)
    np.savez(out, **arrays)


def test_model_file_round_trip_and_fuzzed_conv_records_are_refused(tmp_path):
    rng = np.random.default_rng(11)
    layer = conv_layer(rng, pool="max", pool_kernel=2, pool_stride=1, hw=(6, 5))
    path = save_model(layer, tmp_path / "c.npz")
    back = load_model(path).layers[0]
    assert back.kind == "conv" and back.params == layer.params
    x = rng.normal(0, 1, layer.n_in)
    assert np.array_equal(reference_forward(back, x).output_fixed, reference_forward(layer, x).output_fixed)
    edits = {
        "kernel": lambda r: r.update(kernel="3x2"),
        "padding": lambda r: r.update(padding=[0, 0, 9, 0]),
        "pool": lambda r: r.update(pool=7),
        "in_hw": lambda r: r.update(in_hw=[1 << 15, 1 << 15]),
        "stride": lambda r: r.pop("stride"),
        "hidden": lambda r: r.update(hidden=4),
    }
    for field, edit in edits.items():
        bad = tmp_path / f"bad-{field}.npz"
        _rewrite(path, bad, edit)
        with pytest.raises(ModelFileError) as info:
            load_model(bad)
        assert field in str(info.value) and "\n" not in str(info.value), str(info.value)
