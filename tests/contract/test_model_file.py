import json
import os

import numpy as np
import pytest

from eie_sim import (
    EIEError,
    Model,
    ModelFileError,
    ModelLayer,
    decode,
    encode,
    example_model,
    load_model,
    reference_forward,
    save_model,
)

from helpers import random_codebook, random_codes


def two_layer_model():
    rng = np.random.default_rng(11)
    c1 = random_codes(rng, 20, 30, 0.2, 4)
    cb1 = random_codebook(rng, 4)
    c2 = random_codes(rng, 5, 20, 0.5, 3)
    cb2 = random_codebook(rng, 3)
    l1 = ModelLayer(name="fc1", codebook=cb1, encoded=encode(c1, cb1, n_pe=4, index_bits=2), bias=rng.normal(size=20),
                    activation="relu", in_frac=12, w_frac=14, out_frac=11, meta={"note": "x"})
    l2 = ModelLayer(name="fc2", codebook=cb2, codes=c2, activation="none", in_frac=11, index_bits=3)
    return Model(layers=(l1, l2), meta={"name": "test", "seed": 11})


def test_round_trip(tmp_path):
    m = two_layer_model()
    p = save_model(m, tmp_path / "m.npz")
    back = load_model(p)
    assert back.meta == m.meta
    for a, b in zip(m.layers, back.layers):
        assert a.name == b.name and a.shape == b.shape and a.activation == b.activation
        assert (a.in_frac, a.w_frac, a.out_frac, a.index_bits, a.meta) == (b.in_frac, b.w_frac, b.out_frac, b.index_bits, b.meta)
        assert np.array_equal(a.codebook, b.codebook)
        assert np.array_equal(a.dense_codes(), b.dense_codes())
        assert (a.bias is None and b.bias is None) or np.array_equal(a.bias, b.bias)
        assert (a.encoded is None) == (b.encoded is None)
    e1, e2 = m.layers[0].encoded, back.layers[0].encoded
    for p1, p2 in zip(e1.pes, e2.pes):
        assert np.array_equal(p1.ptr, p2.ptr) and np.array_equal(p1.v, p2.v) and np.array_equal(p1.z, p2.z)
    x = np.abs(np.random.default_rng(0).normal(size=30))
    assert np.array_equal(reference_forward(m, x).output_fixed, reference_forward(back, x).output_fixed)


def test_example_model_round_trip(tmp_path):
    m = example_model(seed=1)
    back = load_model(save_model(m, tmp_path / "ex.npz"))
    assert [l.shape for l in back.layers] == [(300, 784), (100, 300), (10, 100)]
    assert all(np.array_equal(a.codes, b.codes) for a, b in zip(m.layers, back.layers))


def rewrite(path, out, edit):
    """Copy an .npz with ``edit(arrays, header)`` applied (arrays: dict name -> ndarray)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["meta.json"].tobytes())
    edit(arrays, header)
    arrays["meta.json"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(out, "wb") as fh:
        np.savez(fh, **arrays)
    return out


def set_layer(i, key, value):
    def edit(arrays, header):
        header["layers"][i][key] = value
    return edit


def set_array(key, value):
    def edit(arrays, header):
        arrays[key] = value
    return edit


def drop_array(key):
    def edit(arrays, header):
        del arrays[key]
    return edit


@pytest.mark.parametrize(
    "edit, match",
    [
        (set_layer(0, "weight_bits", 9), "'weight_bits'=9"),
        (set_layer(0, "activation", "gelu"), "'activation'='gelu'"),
        (set_layer(0, "layout", "coo"), "'layout'='coo'"),
        (set_layer(1, "shape", [5]), "'shape'"),
        (set_layer(0, "in_frac", 1.5), "'in_frac'=1.5"),
        (set_layer(0, "bogus", 1), "unknown field"),
        (set_layer(1, "name", "fc1"), "duplicate layer name"),
        (set_layer(0, "n_pe", 3), "ptr has shape"),
        (set_layer(0, "ptr_bits", 2), "pointers need"),
        (set_array("L1.codes", np.full((5, 20), 9, dtype=np.uint8)), r"codes\[0, 0\]=9"),
        (set_array("L1.codes", np.zeros((5, 20), dtype=np.float32)), "expected uint8"),
        (set_array("L1.codes", np.zeros((4, 20), dtype=np.uint8)), "codes have shape"),
        (set_array("L0.codebook", np.ones(16)), r"codebook\[0\]=1.0"),
        (set_array("L0.codebook", np.zeros(8)), "8 entries"),
        (set_array("L0.bias", np.ones(3)), "bias has 3 values"),
        (set_array("L0.z", np.full(1, 0, dtype=np.uint8)), "offsets, v and z"),
        (set_array("extra", np.zeros(1)), "unexpected field"),
        (drop_array("L0.v"), "'L0.v' is missing"),
        (drop_array("L1.codebook"), "'L1.codebook' is missing"),
    ],
)
def test_corrupt_fields_are_named(tmp_path, edit, match):
    good = save_model(two_layer_model(), tmp_path / "good.npz")
    bad = rewrite(good, tmp_path / "bad.npz", edit)
    with pytest.raises(ModelFileError, match=match):
        load_model(bad)


def test_corrupt_entry_stream_is_caught(tmp_path):
    good = save_model(two_layer_model(), tmp_path / "good.npz")

    def edit(arrays, header):
        v = arrays["L0.v"].copy()
        z = arrays["L0.z"].copy()
        z[:] = 3  # every entry a long jump: runs off the PE's rows or breaks padding rules
        arrays["L0.z"] = z
        arrays["L0.v"] = v
    with pytest.raises(ModelFileError, match="layer 'fc1'"):
        load_model(rewrite(good, tmp_path / "bad.npz", edit))


def test_version_and_foreign_files(tmp_path):
    good = save_model(two_layer_model(), tmp_path / "good.npz")

    def newer(arrays, header):
        header["version"] = 99
    with pytest.raises(ModelFileError, match="'version'=99; this eie-sim reads versions 1, 2, 3"):
        load_model(rewrite(good, tmp_path / "v99.npz", newer))

    def foreign(arrays, header):
        header["format"] = "something-else"
    with pytest.raises(ModelFileError, match="'format'='something-else'"):
        load_model(rewrite(good, tmp_path / "f.npz", foreign))

    plain = tmp_path / "plain.npz"
    np.savez(plain, weights=np.ones(3))
    with pytest.raises(ModelFileError, match="'meta.json' is missing"):
        load_model(plain)
    npy = tmp_path / "arr.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(ModelFileError, match="bare .npy"):
        load_model(npy)
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    with pytest.raises(ModelFileError, match="not an eie-sim model file"):
        load_model(txt)
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "missing.npz")


def test_version_2_files_load_as_written_and_kinds_are_checked_per_version(tmp_path):
    """A version-2 file (the same record, kinds fc and lstm) loads into the same layers; a kind
    other than fc/lstm is refused in a version-2 file and an unregistered one in any."""
    model = two_layer_model()
    good = save_model(model, tmp_path / "good.npz")

    def as_v2(arrays, header):
        header["version"] = 2
    back = load_model(rewrite(good, tmp_path / "v2.npz", as_v2))
    for a, b in zip(model.layers, back.layers):
        assert a.kind == b.kind and a.params == b.params
        assert np.array_equal(a.dense_codes(), b.dense_codes())

    def unknown_kind(version):
        def edit(arrays, header):
            header["version"] = version
            header["layers"][0]["kind"] = "conv9"
        return edit
    for version in (2, 3):
        with pytest.raises(ModelFileError, match="field 'kind'='conv9'; expected one of"):
            load_model(rewrite(good, tmp_path / f"k{version}.npz", unknown_kind(version)))

    def lstm_field_on_fc(arrays, header):
        header["layers"][0]["hidden"] = 3
    with pytest.raises(ModelFileError, match=r"field\(s\) \['hidden'\] belong to lstm layers; this layer's kind is 'fc'"):
        load_model(rewrite(good, tmp_path / "h.npz", lstm_field_on_fc))


def test_pickled_object_arrays_are_refused(tmp_path):
    good = save_model(two_layer_model(), tmp_path / "good.npz")
    bad = rewrite(good, tmp_path / "obj.npz", set_array("L1.codes", np.array([{"a": 1}], dtype=object)))
    with pytest.raises(ModelFileError, match="L1.codes"):
        load_model(bad)


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path, cut):
    good = save_model(two_layer_model(), tmp_path / "good.npz")
    data = good.read_bytes()
    bad = tmp_path / "trunc.npz"
    bad.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ModelFileError):
        load_model(bad)


def test_flipped_bytes_never_crash_uncontrolled(tmp_path):
    good = save_model(two_layer_model(), tmp_path / "good.npz")
    data = bytearray(good.read_bytes())
    rng = np.random.default_rng(5)
    for trial in range(30):
        d = bytearray(data)
        for pos in rng.integers(0, len(d), size=3):
            d[pos] ^= 0xFF
        p = tmp_path / f"flip{trial}.npz"
        p.write_bytes(bytes(d))
        try:
            load_model(p)
        except ModelFileError:
            pass  # the only acceptable failure


def test_failed_save_leaves_existing_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "model.npz"
    save_model(two_layer_model(), target)
    before = target.read_bytes()

    def boom(*args, **kwargs):
        args[0].write(b"partial garbage")
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(ModelFileError, match="disk full"):
        save_model(example_model(), target)
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]  # no temporary file left behind


def test_save_into_missing_folder(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        save_model(two_layer_model(), tmp_path / "nope" / "m.npz")


def test_model_validation():
    rng = np.random.default_rng(0)
    cb = random_codebook(rng, 2)
    a = ModelLayer(name="a", codebook=cb, codes=random_codes(rng, 4, 3, 0.5, 2))
    b = ModelLayer(name="b", codebook=cb, codes=random_codes(rng, 2, 5, 0.5, 2))
    with pytest.raises(EIEError, match="layer 'b' has 5 inputs; expected 4"):
        Model(layers=(a, b))
    with pytest.raises(EIEError, match="exactly one of codes"):
        ModelLayer(name="c", codebook=cb)
    with pytest.raises(EIEError, match="JSON"):
        ModelLayer(name="c", codebook=cb, codes=np.zeros((1, 1)), meta={"x": object()})
    with pytest.raises(EIEError, match="in_frac=3; expected 5"):
        Model(layers=(
            ModelLayer(name="a", codebook=cb, codes=np.zeros((2, 2)), out_frac=5),
            ModelLayer(name="b", codebook=cb, codes=np.zeros((2, 2)), in_frac=3),
        ))
    m = Model(layers=(a,))
    with pytest.raises(EIEError, match="no such layer"):
        m.layer("zz")


def test_compressed_cache_and_decode(tmp_path):
    m = two_layer_model()
    dense = m.layers[1]
    enc = dense.compressed(3)
    assert enc is dense.compressed(3)
    assert np.array_equal(decode(enc), dense.codes)
    assert m.layers[0].compressed() is m.layers[0].encoded
