import functools
import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eie_sim import ArchConfig, EIEError, suite, encode, reference_spmv, simulate
from eie_sim.errors import ConfigError
from eie_sim.cli import main
from eie_sim.contract.fixedpoint import quantize_fixed


def test_suite_matches_table_iii():
    assert suite.NAMES == ("alex6", "alex7", "alex8", "vgg6", "vgg7", "vgg8", "ntwe", "ntwd", "ntlstm")
    assert suite.TABLE_III["vgg6"][:4] == (25088, 4096, 4.0, 18.3)
    assert suite.TABLE_III["ntwd"][:4] == (600, 8791, 11.0, 100.0)


@pytest.mark.parametrize("name", suite.NAMES)
def test_generated_layer_statistics(name):
    b = suite.get(name, seed=0, scale=0.25)
    n_in, n_out, wd, ad, _ = suite.TABLE_III[name]
    assert b.codes.shape == (round(n_out * 0.25), round(n_in * 0.25))
    assert b.codebook[0] == 0.0 and b.codebook.size == 16
    assert 100 * np.count_nonzero(b.codes) / b.codes.size == pytest.approx(wd, rel=0.05)
    assert 100 * np.count_nonzero(b.activations) / b.activations.size == pytest.approx(ad, abs=4.0)
    assert np.all(b.activations >= 0)
    again = suite.get(name, seed=0, scale=0.25)
    assert np.array_equal(b.codes, again.codes) and np.array_equal(b.activations, again.activations)
    other = suite.get(name, seed=1, scale=0.25)
    assert not np.array_equal(b.codes, other.codes)


@pytest.mark.parametrize("name", suite.NAMES)
def test_full_size_layer_bit_exact_against_golden(name):
    b = suite.get(name)
    cfg = ArchConfig()
    enc = encode(b.codes, b.codebook, n_pe=cfg.n_pe)
    res = simulate(enc, b.activations, cfg)
    gold = reference_spmv(enc, b.activations, cfg)
    assert np.array_equal(res.output_fixed, gold.output_fixed)
    # activations that round to zero in the fixed-point format are not broadcast
    live = quantize_fixed(b.activations, gold.act_format) != 0
    assert res.counters["macs_real"] == int(np.count_nonzero(b.codes[:, live]))
    assert res.counters["broadcasts"] == res.counters["row_batches"] * int(np.count_nonzero(live))
    assert 0.5 < res.load_efficiency <= 1.0


def test_bad_benchmark_arguments():
    with pytest.raises(EIEError, match="benchmark='alex9'"):
        suite.get("alex9")
    with pytest.raises(EIEError, match="scale=0"):
        suite.get("alex6", scale=0)
    with pytest.raises(EIEError, match="seed=-1"):
        suite.get("alex6", seed=-1)


def test_cli_run_json(capsys):
    assert main(["run", "alex8", "--scale", "0.1", "--pes", "8", "--fifo-depth", "2", "--sram-width", "128", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out.strip())
    for key in ("layer", "n_pe", "fifo_depth", "sram_width", "cycles", "latency_us", "load_efficiency", "entries",
                "padding_entries", "counters"):
        assert key in rec
    assert (rec["layer"], rec["n_pe"], rec["fifo_depth"], rec["sram_width"]) == ("alex8", 8, 2, 128)
    b = suite.get("alex8", scale=0.1)
    direct = simulate((b.codes, b.codebook), b.activations, ArchConfig(n_pe=8, fifo_depth=2, sram_width=128))
    assert rec["cycles"] == direct.cycles and rec["counters"] == direct.counters


def test_cli_run_text_and_model(tmp_path, capsys):
    assert main(["run", "ntlstm", "--scale", "0.05", "--pes", "4"]) == 0
    out = capsys.readouterr().out
    assert "cycles" in out and "load efficiency" in out and "per PE busy" in out
    path = tmp_path / "ex.npz"
    main(["example", "-o", str(path)])
    capsys.readouterr()
    assert main(["run", str(path), "--pes", "4", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)  # one document: the layers, the network total, the input
    assert [l["layer"] for l in doc["layers"]] == ["fc1", "fc2", "fc3"]
    assert doc["total"]["cycles"] == sum(l["cycles"] for l in doc["layers"])
    assert main(["run", str(path), "--pes", "4", "--jsonl"]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.strip().splitlines()]
    assert lines[:-1] == doc["layers"] and lines[-1] == {**doc["total"], "layer": "total", "input": doc["input"]}


def test_cli_bench(capsys):
    assert main(["bench", "--scale", "0.05", "--pes", "4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["layer"] for r in rows] == [*suite.NAMES, "ntlstm-cell"]
    assert all(r["error"] is None for r in rows)
    assert main(["bench", "--scale", "0.05", "--pes", "4", "--layers", "alex6,vgg8"]) == 0
    out = capsys.readouterr().out
    assert "alex6" in out and "vgg8" in out and "ntwe" not in out


@pytest.mark.parametrize("args, match", [
    (["run", "nonsense"], "neither a model file nor a benchmark"),
    (["run", "alex6", "--fifo-depth", "0"], "--fifo-depth=0: expected an integer in 1..65536"),
    (["bench", "--pes", "0"], "--pes=0: expected an integer in 1..65536"),
    (["bench", "--layers", "alex6,foo", "--scale", "0.01"], "--layers: 'foo' is not a Table III layer"),
])
def test_cli_errors(capsys, args, match):
    assert main(args) == 2
    assert match in capsys.readouterr().err


# --- dispersed sparsity pattern (row_cv / col_cv) ---------------------------------------------

def _uniform_reference(name, seed, scale):
    """The uniform generator as it was before row_cv / col_cv: chunks of (1 << 24) // n_in rows,
    each cell kept if its float32 uniform draw is below the density, codes drawn in row-major order."""
    n_in, n_out, wd, ad, _ = suite.TABLE_III[name]
    n_in_s, n_out_s = max(1, round(n_in * scale)), max(1, round(n_out * scale))
    rng = np.random.default_rng([seed, suite.NAMES.index(name)])
    codebook = np.concatenate(([0.0], np.sort(rng.normal(0.0, 0.05, 15))))
    codes = np.zeros((n_out_s, n_in_s), dtype=np.uint8)
    chunk = max(1, (1 << 24) // n_in_s)
    for r0 in range(0, n_out_s, chunk):
        rows = min(chunk, n_out_s - r0)
        u = rng.random((rows, n_in_s), dtype=np.float32)
        kept = np.argwhere(u < np.float32(wd / 100.0))  # row-major, the order the codes are drawn in
        codes[r0 + kept[:, 0], kept[:, 1]] = rng.integers(1, 16, size=len(kept), dtype=np.uint8)
    acts = np.abs(rng.normal(size=n_in_s)) * (rng.random(n_in_s) < ad / 100.0)
    return codes, codebook, acts


def _cv(counts):
    counts = np.asarray(counts, dtype=float)
    return counts.std() / counts.mean()


@pytest.mark.parametrize("name, seed, scale", [("alex8", 0, 0.05), ("ntwd", 3, 0.03), ("vgg6", 1, 0.02),
                                               ("ntlstm", 7, 0.04), ("vgg6", 2, 0.5)])  # the last: 2 chunks
def test_zero_dispersion_is_the_uniform_generator_bit_for_bit(name, seed, scale):
    codes, codebook, acts = _uniform_reference(name, seed, scale)
    b = suite.get(name, seed=seed, scale=scale, row_cv=0, col_cv=0)
    assert np.array_equal(b.codes, codes) and np.array_equal(b.codebook, codebook)
    assert np.array_equal(b.activations, acts)
    assert (b.row_cv, b.col_cv) == (0.0, 0.0)


def test_defaults_are_dispersed_and_recorded():
    assert 0 < suite.DEFAULT_ROW_CV <= suite.MAX_CV and 0 < suite.DEFAULT_COL_CV <= suite.MAX_CV
    b = suite.get("alex8", scale=0.1)
    assert (b.row_cv, b.col_cv) == (suite.DEFAULT_ROW_CV, suite.DEFAULT_COL_CV)
    u = suite.get("alex8", scale=0.1, row_cv=0, col_cv=0)
    assert not np.array_equal(b.codes, u.codes)
    # the dispersion changes the pattern only: same codebook, same activations
    assert np.array_equal(b.codebook, u.codebook) and np.array_equal(b.activations, u.activations)
    again = suite.get("alex8", scale=0.1)
    assert np.array_equal(b.codes, again.codes)


@pytest.mark.parametrize("name", ["alex7", "alex8", "ntwd"])
@pytest.mark.parametrize("row_cv, col_cv", [(0.5, 0.0), (0.0, 1.0), (1.0, 1.0), (2.0, 0.5), (4.0, 4.0)])
def test_dispersed_density_is_table_iii(name, row_cv, col_cv):
    b = suite.get(name, seed=2, scale=0.2, row_cv=row_cv, col_cv=col_cv)
    wd = suite.TABLE_III[name][2]
    # the expected density is Table III's exactly (clipping at 1 compensated); what is left is
    # Bernoulli noise, below 1% of the density at these sizes (>= 18,000 non-zeros)
    assert 100 * np.count_nonzero(b.codes) / b.codes.size == pytest.approx(wd, rel=0.03)
    assert b.codes.max() <= 15 and b.codes.dtype == np.uint8


def test_realised_cvs_grow_with_the_parameters_and_match_them():
    name, scale = "alex7", 0.25  # 1024 x 1024 at 9 %
    d = suite.TABLE_III[name][2] / 100
    n = round(4096 * scale)
    noise2 = (1 - d) / (d * n)  # squared CV of the counts of a uniform pattern (binomial)
    rows, cols = [], []
    for cv in (0.0, 0.5, 1.0):
        r = suite.get(name, seed=5, scale=scale, row_cv=cv, col_cv=0)
        c = suite.get(name, seed=5, scale=scale, row_cv=0, col_cv=cv)
        rows.append(_cv(np.count_nonzero(r.codes, axis=1)))
        cols.append(_cv(np.count_nonzero(c.codes, axis=0)))
        for got in (rows[-1], cols[-1]):
            # the realised CV is the multipliers' (a sample of 1024 gamma variates) plus the binomial noise
            assert got == pytest.approx(np.sqrt(cv ** 2 + noise2), abs=0.05 + 0.1 * cv)
        # the other direction stays at the uniform level
        assert _cv(np.count_nonzero(r.codes, axis=0)) < 2 * np.sqrt(noise2) + 0.02
        assert _cv(np.count_nonzero(c.codes, axis=1)) < 2 * np.sqrt(noise2) + 0.02
    assert rows[0] < rows[1] < rows[2] and cols[0] < cols[1] < cols[2]


@functools.lru_cache(maxsize=None)
def _pe_imbalance(name, row_cv, n_pe, seeds=(0, 1, 2)):
    """max / mean of the real (non-padding) entries per PE, averaged over seeds."""
    out = []
    for seed in seeds:
        b = suite.get(name, seed=seed, scale=0.1, row_cv=row_cv, col_cv=0.5)
        real = encode(b.codes, b.codebook, n_pe=n_pe, index_bits=4).real_per_pe
        out.append(real.max() / real.mean())
    return float(np.mean(out))


@settings(max_examples=min(settings().max_examples, 20))
@given(name=st.sampled_from(suite.NAMES), n_pe=st.sampled_from([8, 16, 32]),
       low=st.sampled_from([0.0, 0.5, 1.0, 1.5]), step=st.sampled_from([0.5, 1.0]))
def test_more_row_dispersion_unbalances_the_pes_more(name, n_pe, low, step):
    assert _pe_imbalance(name, low + step, n_pe) > _pe_imbalance(name, low, n_pe)


def test_dispersion_lowers_load_efficiency():
    cfg = ArchConfig(n_pe=16)
    eff = {}
    for cv in (0.0, 0.6, 1.2):
        runs = [suite.get("alex7", seed=s, scale=0.125, row_cv=cv, col_cv=cv) for s in range(3)]
        eff[cv] = np.mean([simulate((b.codes, b.codebook), b.activations, cfg).load_efficiency for b in runs])
    assert eff[0.0] > eff[0.6] > eff[1.2]


@pytest.mark.parametrize("kwargs, match", [
    ({"row_cv": -0.1}, "row_cv=-0.1: expected a coefficient of variation"),
    ({"col_cv": 4.5}, "col_cv=4.5: expected a coefficient of variation"),
    ({"row_cv": float("nan")}, "row_cv=nan"),
    ({"col_cv": float("inf")}, "col_cv=inf"),
    ({"row_cv": "0.5"}, "row_cv='0.5'"),
    ({"col_cv": True}, "col_cv=True"),
    ({"row_cv": None}, "row_cv=None"),
])
def test_bad_dispersion_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=re.escape(match)):
        suite.get("alex8", scale=0.05, **kwargs)
    with pytest.raises(TypeError):
        suite.get("alex8", 0, 0.05, 0.5)  # row_cv / col_cv are keyword-only


@pytest.mark.parametrize("cv, target", [(0.5, 0.09), (2.0, 0.25), (4.0, 0.04), (3.0, 0.5)])
def test_keep_scale_compensates_clipping(cv, target):
    from eie_sim.cycle.suite import keep_scale

    rng = np.random.default_rng(11)
    k = 1 / cv ** 2
    a, c = rng.gamma(k, 1 / k, 300) * target, rng.gamma(k, 1 / k, 200)
    s = keep_scale(a, c, target)
    expected = np.minimum(1.0, s * np.outer(a, c)).mean()  # brute force over every cell
    assert expected == pytest.approx(target, rel=1e-9)
    if cv >= 2:  # clipping bites: the scale that would do without clipping falls short
        s0 = target / np.outer(a, c).mean()
        assert np.minimum(1.0, s0 * np.outer(a, c)).mean() < 0.95 * target and s > s0


def test_cli_run_widens_pointers_like_the_sweep_and_saves_the_output(tmp_path, capsys):
    import numpy as np

    from eie_sim import ArchConfig, simulate

    out = tmp_path / "y.npy"
    assert main(["run", "alex6", "--pes", "4", "--scale", "0.5", "-o", str(out), "--json"]) == 0
    cap = capsys.readouterr()
    doc = json.loads(cap.out)
    assert "ptr_bits widened from 17 to" in cap.err
    b = suite.get("alex6", scale=0.5)
    want = simulate((b.codes, b.codebook), b.activations, ArchConfig(n_pe=4, ptr_bits=doc["ptr_bits"]))
    assert doc["ptr_bits"] > 17
    assert doc["cycles"] == want.cycles
    assert np.array_equal(np.load(out), want.output)
    # given explicitly, a too-narrow pointer is an error, not widened
    assert main(["run", "alex6", "--pes", "4", "--scale", "0.5", "--ptr-bits", "17"]) == 2
    assert "ptr_bits=17" in capsys.readouterr().err


def test_cli_set_any_field_and_bench_marks_failing_layers(capsys):
    assert main(["bench", "--scale", "0.05", "--pes", "4", "--layers", "alex8", "--set", "act_regs_per_pe=4", "--json"]) == 0
    small = json.loads(capsys.readouterr().out)[0]
    assert main(["bench", "--scale", "0.05", "--pes", "4", "--layers", "alex8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["cycles"] != small["cycles"]
    assert main(["bench", "--set", "bogus=1"]) == 2
    assert "--set 'bogus=1': expected FIELD=VALUE" in capsys.readouterr().err


def test_bench_ntlstm_cell_row_is_a_real_lstm_step(capsys):
    """The ntlstm-cell row: Table III's 2400 x 1201 matrix as an LSTM (H = 600, X = 600), step 2 of
    a two-step sequence: the gate product with a dense h_1 plus the element-wise update."""
    import numpy as np

    from eie_sim import ArchConfig, ModelLayer, simulate

    assert main(["bench", "--scale", "0.1", "--pes", "8", "--layers", "ntlstm", "--json"]) == 0
    rows = {r["layer"]: r for r in json.loads(capsys.readouterr().out)}
    b = suite.get("ntlstm", scale=0.1)
    H = b.n_out // 4
    X = b.n_in - H - 1
    lay = ModelLayer(name="c", kind="lstm", params={"hidden": H}, codebook=b.codebook, codes=b.codes)
    steps = simulate(lay, np.stack([b.activations[:X], b.activations[X:2 * X]]), ArchConfig(n_pe=8)).layers
    cell = rows["ntlstm-cell"]
    assert cell["cycles"] == steps[1].cycles != steps[0].cycles
    assert cell["counters"]["lut_reads"] == 5 * H  # sigmoid i, f, o, tanh g, tanh c per unit
    assert cell["cycles"] > 0 and rows["ntlstm"]["cycles"] > 0


# --- the gamma quantile: scipy.special.gammaincinv, loaded without importing scipy.special ---------

#: every CV the generators use by default or the tests and docs name, and the extremes of the range
GAMMA_CVS = (1e-3, 0.01, suite.DEFAULT_COL_CV, suite.DEFAULT_ROW_CV, 0.25, 0.3, 0.5, suite.PREVIOUS_ROW_CV, 1.0,
             1.2, 1.5, 2.0, 3.0, suite.MAX_CV)


def test_gammaincinv_from_the_extension_module_is_scipy_special_s_to_the_bit():
    """The ufunc that :func:`suite.gammaincinv_ufunc` loads straight from ``scipy.special._special_ufuncs``
    gives scipy.special.gammaincinv's values bit for bit on the generators' arguments: shapes
    1/cv**2 over the CV range, at the uniforms of every Table III and conv layer's row and column
    streams (the first 256 of each, seeds 0-2), plus 0 and the uniforms closest to 0 and 1."""
    from scipy.special import gammaincinv

    from eie_sim.cycle import conv_suite

    direct = suite._special_ufunc("gammaincinv")
    assert direct is not None, "scipy.special._special_ufuncs has no gammaincinv: the fast path is never taken"
    indices = list(range(len(suite.NAMES))) + [100 + i for i in range(len(conv_suite.CONV_NAMES))]
    u = np.concatenate([np.random.default_rng([seed, index, stream]).random(256)
                        for seed in range(3) for index in indices for stream in (1, 2)])
    u = np.concatenate([u, [0.0, 5e-324, 1e-300, 1e-17, 0.5, 1 - 2**-53]])
    for cv in GAMMA_CVS:
        k = 1.0 / (cv * cv)
        a, b = direct(k, u), gammaincinv(k, u)
        assert a.dtype == b.dtype == np.float64
        assert a.tobytes() == b.tobytes(), f"cv={cv}: {np.count_nonzero(a != b)} values differ"


GAMMA_CHILD = """
import hashlib, json, sys
from eie_sim.cycle import suite
digest = hashlib.sha256()
for cv in json.loads(sys.argv[1]):
    for index in (2, 4, 103):
        digest.update(suite.multipliers(1, index, 1, 3000, cv).tobytes())
b = suite.get("alex8", scale=0.05)
digest.update(b.codes.tobytes())
print(json.dumps({"digest": digest.hexdigest(), "special": "scipy.special" in sys.modules,
                  "private": "scipy.special._special_ufuncs" in sys.modules}))
"""


def test_generator_without_scipy_special_gives_the_same_multipliers_and_layers():
    """A fresh process that never imports scipy.special (the ``eie-sim run`` path) draws the same
    multipliers and layers as this one, which has; and it leaves sys.modules without the module it
    loaded privately."""
    import hashlib
    import subprocess
    import sys
    from pathlib import Path

    import scipy.special  # noqa: F401  -- here the generator uses scipy.special's own function

    digest = hashlib.sha256()
    for cv in GAMMA_CVS:
        for index in (2, 4, 103):
            digest.update(suite.multipliers(1, index, 1, 3000, cv).tobytes())
    digest.update(suite.get("alex8", scale=0.05).codes.tobytes())
    checkout = Path(suite.__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", GAMMA_CHILD, json.dumps(GAMMA_CVS)], capture_output=True, text=True,
                       cwd=checkout)
    assert r.returncode == 0, r.stderr
    child = json.loads(r.stdout)
    assert child == {"digest": digest.hexdigest(), "special": False, "private": False}
