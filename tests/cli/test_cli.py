import json
import subprocess
import sys

import numpy as np
import pytest

from eie_sim import __version__, decode, load_model, quantize
from eie_sim.cli import main


def run(args):
    """The installed console script, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "eie_sim.cli", *args], capture_output=True, text=True)


def test_help_and_version():
    r = run(["--help"])
    assert r.returncode == 0 and "info" in r.stdout and "encode" in r.stdout
    r = run(["--version"])
    assert r.returncode == 0 and r.stdout.strip() == f"eie-sim {__version__}"


def test_example_info_json(tmp_path, capsys):
    path = tmp_path / "ex.npz"
    assert main(["example", "-o", str(path)]) == 0
    capsys.readouterr()
    assert main(["info", str(path), "--json", "--pes", "8"]) == 0
    info = json.loads(capsys.readouterr().out)
    model = load_model(path)
    assert [l["name"] for l in info["layers"]] == ["fc1", "fc2", "fc3"]
    total_dense = total_eie = total_dc = 0
    for rec, lay in zip(info["layers"], model.layers):
        enc = lay.compressed(8)
        st = enc.storage()
        assert rec["shape"] == list(lay.shape)
        assert rec["density"] == pytest.approx(np.count_nonzero(lay.codes) / lay.codes.size)
        assert rec["padding_per_pe"]["max"] == int(enc.padding_per_pe.max())
        assert rec["ratio_eie"] == pytest.approx(lay.codes.size * 32 / st.total_bits)
        assert rec["ratio_deep_compression"] == pytest.approx(st.ratio_deep_compression)
        total_dense += st.dense_fp32_bits
        total_eie += st.total_bits
        total_dc += st.deep_compression_bits
    assert info["ratio_eie"] == pytest.approx(total_dense / total_eie)
    assert info["ratio_deep_compression"] == pytest.approx(total_dense / total_dc)


def test_info_text(tmp_path, capsys):
    path = tmp_path / "ex.npz"
    main(["example", "-o", str(path)])
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "fc1" in out and "ratio EIE" in out and "300x784" in out


def test_encode(tmp_path, capsys):
    rng = np.random.default_rng(0)
    w = np.where(rng.random((50, 40)) < 0.1, rng.normal(size=(50, 40)), 0.0)
    np.save(tmp_path / "w.npy", w)
    out = tmp_path / "layer.npz"
    assert main(["encode", str(tmp_path / "w.npy"), "--weight-bits", "3", "--pes", "4", "-o", str(out)]) == 0
    m = load_model(out)
    lay = m.layers[0]
    assert lay.encoded.n_pe == 4 and lay.weight_bits == 3 and lay.codebook[0] == 0.0
    codes = decode(lay.encoded)
    assert np.array_equal(codes == 0, w == 0)
    assert np.array_equal(codes, quantize(w, lay.codebook))


def test_golden_json(tmp_path, capsys):
    path = tmp_path / "ex.npz"
    main(["example", "-o", str(path)])
    capsys.readouterr()
    assert main(["golden", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["output"]) == 10 and len(out["layers"]) == 3


@pytest.mark.parametrize(
    "setup, args, match",
    [
        (None, ["info", "{d}/missing.npz"], "no such file"),
        (lambda d: np.save(f"{d}/w.npy", np.ones(4)), ["encode", "{d}/w.npy", "-o", "{d}/o.npz"], "2-D"),
        (lambda d: np.save(f"{d}/w.npy", np.array([[1.0, np.nan]])), ["encode", "{d}/w.npy", "-o", "{d}/o.npz"], "nan"),
        (lambda d: np.save(f"{d}/w.npy", np.ones((2, 2))), ["encode", "{d}/w.npy", "--pes", "0", "-o", "{d}/o.npz"], "--pes=0"),
        (lambda d: np.save(f"{d}/w.npy", np.ones((2, 2))), ["encode", "{d}/w.npy", "--weight-bits", "12", "-o", "{d}/o.npz"], "weight-bits=12"),
        (lambda d: open(f"{d}/x.npz", "w").write("junk"), ["info", "{d}/x.npz"], "not an eie-sim model file"),
    ],
)
def test_errors_exit_2_with_a_message(tmp_path, capsys, setup, args, match):
    if setup:
        setup(tmp_path)
    assert main([a.format(d=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("eie-sim: error:") and match in err
