"""Fuzzing model files: every corrupted file is a clean load or an EIEError, never anything else.

Corruptions: truncation, byte flips, a member replaced (random bytes, another array, a huge
declared shape), metadata edits (fields deleted, retyped, enlarged, nested deep) and oversized
declarations. A file that still loads must also survive ``info``, the golden model and a save,
and the commands ``info``, ``golden``, ``run`` and ``export`` on it must succeed or fail with one
``eie-sim: error:`` line (LSTM and conv model files are mutated too).
Cases per test: ``EIE_FUZZ_EXAMPLES`` (default 400: five tests, about two thousand files in CI;
set it to 20000 for the long run).
"""

import contextlib
import io
import json
import os
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eie_sim import EIEError, Model, ModelLayer, encode, load_model, reference_forward, save_model
from eie_sim.cli import main
from eie_sim.contract.info import model_info

FUZZ = int(os.environ.get("EIE_FUZZ_EXAMPLES", "400"))
fuzz = settings(max_examples=FUZZ, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


def _valid_file() -> bytes:
    """A small model: a dense layer with bias and ReLU, then an EIE-layout layer."""
    rng = np.random.default_rng(0)
    cb = np.r_[0.0, np.linspace(-1, 1, 15)]
    c1 = np.where(rng.random((12, 10)) < 0.4, rng.integers(1, 16, (12, 10)), 0).astype(np.uint8)
    c2 = np.where(rng.random((5, 12)) < 0.5, rng.integers(1, 16, (5, 12)), 0).astype(np.uint8)
    model = Model(layers=(
        ModelLayer(name="fc1", codebook=cb, codes=c1, bias=rng.normal(size=12), activation="relu",
                   in_frac=12, w_frac=14, out_frac=10),
        ModelLayer(name="fc2", codebook=cb, encoded=encode(c2, cb, n_pe=2), in_frac=10, w_frac=14, out_frac=9),
    ), meta={"name": "fuzz", "note": [1, {"a": 2}]})
    buf = io.BytesIO()
    path = "/tmp/_eie_fuzz_valid.npz"
    save_model(model, path)
    with open(path, "rb") as f:
        buf.write(f.read())
    return buf.getvalue()


def _valid_lstm_file() -> bytes:
    """A sequence model: an lstm layer (3 inputs, 2 units, 4 steps) and an FC layer."""
    rng = np.random.default_rng(1)
    cb = np.r_[0.0, np.linspace(-1, 1, 15)]
    c1 = np.where(rng.random((8, 6)) < 0.6, rng.integers(1, 16, (8, 6)), 0).astype(np.uint8)
    c2 = np.where(rng.random((3, 2)) < 0.8, rng.integers(1, 16, (3, 2)), 0).astype(np.uint8)
    model = Model(layers=(
        ModelLayer(name="lstm", codebook=cb, codes=c1, kind="lstm", params={"hidden": 2, "state_frac": 11}, in_frac=12,
                   w_frac=14, out_frac=10),
        ModelLayer(name="fc", codebook=cb, codes=c2, bias=rng.normal(size=3), in_frac=12, w_frac=14, out_frac=10),
    ), meta={"name": "fuzz-lstm", "sequence": {"steps": 4, "features": 3}})
    path = "/tmp/_eie_fuzz_valid_lstm.npz"
    save_model(model, path)
    with open(path, "rb") as f:
        return f.read()


def _valid_conv_file() -> bytes:
    """A CNN: a conv layer (2 x 6 x 6 input, 3x3 kernel, stride (2, 1), asymmetric padding, max
    pooling) and an FC layer."""
    rng = np.random.default_rng(2)
    cb = np.r_[0.0, np.linspace(-1, 1, 15)]
    c1 = np.where(rng.random((3, 18)) < 0.6, rng.integers(1, 16, (3, 18)), 0).astype(np.uint8)
    params = {"in_hw": [6, 6], "kernel": [3, 3], "stride": [2, 1], "padding": [1, 0, 1, 1], "pool": "max",
              "pool_kernel": [2, 2], "pool_stride": [1, 1]}
    conv = ModelLayer(name="conv", codebook=cb, codes=c1, bias=rng.normal(size=3), activation="relu", kind="conv",
                      params=params, in_frac=12, w_frac=14, out_frac=10)
    c2 = np.where(rng.random((4, conv.n_out)) < 0.5, rng.integers(1, 16, (4, conv.n_out)), 0).astype(np.uint8)
    model = Model(layers=(conv, ModelLayer(name="fc", codebook=cb, codes=c2, in_frac=10, w_frac=14, out_frac=9)),
                  meta={"name": "fuzz-conv"})
    path = "/tmp/_eie_fuzz_valid_conv.npz"
    save_model(model, path)
    with open(path, "rb") as f:
        return f.read()


VALID = _valid_file()
VALID_LSTM = _valid_lstm_file()
VALID_CONV = _valid_conv_file()
TALLY = {"refused": 0, "loaded": 0, "commands_ok": 0, "commands_eie_error": 0}  # printed at the end (pytest -s)
COMMANDS = (["info"], ["golden"], ["run", "--pes", "2"], ["export", "--check", "0", "-o"])


def _commands(tmp_path, path) -> None:
    """Every command on a file that loads: exit 0, or exit 2 with one ``eie-sim: error:`` line."""
    for cmd in COMMANDS:
        argv = [cmd[0], str(path), *cmd[1:]] + ([str(tmp_path / "out.onnx")] if cmd[0] == "export" else [])
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main(argv)
        lines = [l for l in err.getvalue().splitlines() if not l.startswith(("warning: layer", "note: "))]
        if code == 0:
            TALLY["commands_ok"] += 1
        else:
            assert code == 2 and len(lines) == 1 and lines[0].startswith("eie-sim: error:"), (argv, err.getvalue())
            TALLY["commands_eie_error"] += 1


def _members(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in members.items():
            z.writestr(n, d)
    return buf.getvalue()


def _npy(arr) -> bytes:
    b = io.BytesIO()
    np.save(b, arr, allow_pickle=False)
    return b.getvalue()


def _outcome(tmp_path, data: bytes) -> str:
    """'refused' or 'loaded'; anything else fails the test."""
    p = tmp_path / "f.npz"
    p.write_bytes(data)
    try:
        model = load_model(p)
    except EIEError:
        TALLY["refused"] += 1
        return "refused"
    TALLY["loaded"] += 1
    try:  # a file that loads must be usable, or refused cleanly on use
        model_info(model, None)
        x = np.abs(np.random.default_rng(1).normal(size=model.n_inputs))
        reference_forward(model, x)
        save_model(model, tmp_path / "again.npz")
    except EIEError:
        pass
    _commands(tmp_path, p)
    return "loaded"


def test_the_valid_file_loads(tmp_path):
    assert _outcome(tmp_path, VALID) == "loaded"


@fuzz
@given(cut=st.integers(0, len(VALID) - 1))
def test_truncated(tmp_path_factory, cut):
    assert _outcome(tmp_path_factory.mktemp("t"), VALID[:cut]) == "refused"


@fuzz
@given(flips=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(1, 255)), min_size=1, max_size=8))
def test_byte_flips(tmp_path_factory, flips):
    data = bytearray(VALID)
    for pos, x in flips:
        data[pos] ^= x
    _outcome(tmp_path_factory.mktemp("t"), bytes(data))


_MEMBER = st.sampled_from(sorted(_members(VALID)))
_REPLACEMENT = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda shape, dt: _npy(np.zeros(shape, dtype=dt)),
              st.lists(st.integers(0, 6), max_size=3).map(tuple), st.sampled_from(["u1", "i8", "f8", "f4", "?", "U3"])),
    st.builds(lambda n: _npy(np.arange(n, dtype=np.int64) - n // 2), st.integers(0, 40)),
    st.just(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }" + b" " * 49 + b"\n"),
)


@fuzz
@given(name=_MEMBER, new=_REPLACEMENT, rename=st.booleans())
def test_member_replaced(tmp_path_factory, name, new, rename):
    m = _members(VALID)
    m[name] = new
    if rename:
        m[name.replace(".npy", "")] = m.pop(name)
    _outcome(tmp_path_factory.mktemp("t"), _zip(m))


_JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def _header(valid: bytes = VALID) -> dict:
    raw = np.load(io.BytesIO(_members(valid)["meta.json.npy"]))
    return json.loads(raw.tobytes())


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(_header()) if p]
PATHS_LSTM = [p for p in _paths(_header(VALID_LSTM)) if p]
PATHS_CONV = [p for p in _paths(_header(VALID_CONV)) if p]


@fuzz
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS_LSTM), st.one_of(_JSON_VALUE, st.just("DELETE"))), min_size=1,
                      max_size=3))
def test_lstm_metadata_edited(tmp_path_factory, edits):
    _outcome(tmp_path_factory.mktemp("t"), _edited(VALID_LSTM, edits, 0))


def test_the_valid_lstm_file_loads(tmp_path):
    assert _outcome(tmp_path, VALID_LSTM) == "loaded"


@fuzz
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS_CONV), st.one_of(_JSON_VALUE, st.just("DELETE"))), min_size=1,
                      max_size=3))
def test_conv_metadata_edited(tmp_path_factory, edits):
    _outcome(tmp_path_factory.mktemp("t"), _edited(VALID_CONV, edits, 0))


@fuzz
@given(flips=st.lists(st.tuples(st.integers(0, len(VALID_CONV) - 1), st.integers(1, 255)), min_size=1, max_size=8))
def test_conv_byte_flips(tmp_path_factory, flips):
    data = bytearray(VALID_CONV)
    for pos, x in flips:
        data[pos] ^= x
    _outcome(tmp_path_factory.mktemp("t"), bytes(data))


def test_the_valid_conv_file_loads(tmp_path):
    assert _outcome(tmp_path, VALID_CONV) == "loaded"
    m = load_model(tmp_path / "f.npz")
    assert m.layers[0].kind == "conv" and m.layers[0].n_out == 3 * 2 * 4  # 3 x 5 map, 2x2 pool stride 1


def _edited(valid: bytes, edits, depth: int) -> bytes:
    h = _header(valid)
    for path, value in edits:
        node = h
        try:
            for k in path[:-1]:
                node = node[k]
            if value == "DELETE":
                del node[path[-1]]
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    text = json.dumps(h)
    if depth:
        text = text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
    m = _members(valid)
    m["meta.json.npy"] = _npy(np.frombuffer(text.encode(), dtype=np.uint8))
    return _zip(m)


@fuzz
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), st.one_of(_JSON_VALUE, st.just("DELETE"))), min_size=1, max_size=4),
       depth=st.sampled_from([0, 0, 0, 40, 5000]))
def test_metadata_edited(tmp_path_factory, edits, depth):
    _outcome(tmp_path_factory.mktemp("t"), _edited(VALID, edits, depth))


@fuzz
@given(layer=st.integers(0, 1), rows=st.integers(1, 1 << 24), cols=st.integers(1, 1 << 24), n_pe=st.integers(1, 1 << 16))
def test_oversized_declarations(tmp_path_factory, layer, rows, cols, n_pe):
    h = _header()
    h["layers"][layer]["shape"] = [rows, cols]
    if h["layers"][layer].get("layout") == "eie":
        h["layers"][layer]["n_pe"] = n_pe
    m = _members(VALID)
    m["meta.json.npy"] = _npy(np.frombuffer(json.dumps(h).encode(), dtype=np.uint8))
    assert _outcome(tmp_path_factory.mktemp("t"), _zip(m)) == "refused"


@pytest.mark.parametrize("bad", [None, 123, 4.5, ""])
def test_paths_of_the_wrong_type(tmp_path, bad):
    with pytest.raises(EIEError, match="path="):
        load_model(bad)
    with pytest.raises(EIEError, match="path="):
        save_model(load_model(_write(tmp_path)), bad)


def _write(tmp_path):
    p = tmp_path / "ok.npz"
    p.write_bytes(VALID)
    return p


def teardown_module(module):
    total = TALLY["refused"] + TALLY["loaded"]
    print(f"\nmodel-file fuzzing: {total} cases, {TALLY['refused']} clean refusals (EIEError), "
          f"{TALLY['loaded']} valid loads; on those, info/golden/run/export: {TALLY['commands_ok']} ran, "
          f"{TALLY['commands_eie_error']} one-line EIEError, 0 other outcomes")
