"""The CLI cases a hostile tester found ending in a traceback or silently accepted: each is now
one line on stderr naming the argument, and exit code 2."""

import subprocess
import sys

import numpy as np
import pytest

from eie_sim import example_model, save_model
from eie_sim.cli import main
from eie_sim.cli.common import strict_json


@pytest.fixture()
def d(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_model(example_model(), "m.npz")
    with open("big.npy", "wb") as f:  # a 200-byte file whose header claims 10^12 float64s
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
        f.write(b"\0" * 64)
    np.save("empty.npy", np.zeros((0, 5)))
    (tmp_path / "adir").mkdir()
    (tmp_path / "exists.png").write_text("x")
    return tmp_path


CASES = [
    (["golden", "m.npz", "--seed", "-1"], "--seed=-1: expected an integer >= 0"),
    (["run", "m.npz", "--seed", "-1"], "--seed=-1: expected an integer >= 0"),
    (["run", "alex8", "--scale", "0.05", "--energy-table", "adir"], "energy table 'adir': cannot be read"),
    (["run", "alex8", "--node-nm", "1e300"], "--node-nm=1e300: expected a number in [1, 1000]"),
    (["run", "alex8", "--vdd", "1e300"], "--vdd=1e300: expected a number in (0, 10]"),
    (["encode", "big.npy", "-o", "o.npz"], "WEIGHTS='big.npy': not a readable .npy array"),
    (["golden", "m.npz", "--input", "big.npy"], "--input='big.npy': not a readable .npy array"),
    (["encode", "empty.npy", "-o", "e.npz"], "shape (0, 5); expected at least one output and one input"),
    (["compress", "mlp:a,b"], "architecture='mlp:a,b': expected mlp:H1,H2,..."),
    (["plot", "s.parquet", "--kind", "all", "-o", "exists.png"], "--kind all writes one figure per kind into a folder"),
    (["plot", "s.parquet", "--kind", "speedup", "-o", "adir"], "-o='adir': expected a file name ending in .png"),
    (["plot", "s.parquet", "--kind", "speedup", "-o", "fig.xyz"], "-o='fig.xyz': expected a file name ending in .png"),
    (["rtl", "export", "--pes", "2", "--out", "exists.png"], "--out 'exists.png' is a file"),
    (["rtl", "cosim", "--random", "100000x100000", "--pes", "2"], "expected 1..65536 rows and columns"),
    (["eval", "m.npz", "--simulate", "-1"], "--simulate=-1: expected an integer >= 0"),
    (["run", "alex8", "--pes", "0"], "--pes=0: expected an integer in 1..65536"),
    (["eval", "m.npz", "--limit-test", "0"], "--limit-test=0: expected an integer >= 1"),
    (["eval", "m.npz", "--limit-test", "-1"], "--limit-test=-1: expected an integer >= 1"),
    (["rtl", "area", "--pes", "-5"], "--pes=-5: expected an integer in 1..1024"),
    (["rtl", "cosim", "--random", "8x8", "--density", "nan"], "--density=nan: expected a number in (0, 1]"),
    (["rtl", "cosim", "--random", "8x0"], "--random='8x0': expected 1..65536 rows and columns"),
    (["bench", "--layers", "alex7,alex7"], "--layers: 'alex7' is given 2 times"),
    (["compress", "lenet300", "--dataset", "digits", "--json-report", "missing/r.json"], "folder 'missing' does not exist"),
    (["compress", "lenet300", "--dataset", "digits", "--out", "adir"], "--out='adir': expected a file name ending in .npz"),
    # comma-separated lists: one parser for sweep and codesign
    (["sweep", "--pes", "4,x", "--layers", "alex8", "--out", "s.parquet"], "--pes='4,x': 'x' is not an integer; expected a comma-separated list such as 1,2,4"),
    (["sweep", "--clock-mhz", "800,fast", "--layers", "alex8", "--out", "s.parquet"], "--clock-mhz='800,fast': 'fast' is not a number"),
    (["codesign", "lenet300", "--fifo-depth", "4,,8", "--out", "cd.parquet"], "--fifo-depth='4,,8': '' is not an integer"),
    (["codesign", "lenet300", "--sparsity", "0.9,a", "--out", "cd.parquet"], "--sparsity='0.9,a': 'a' is not a number; expected a comma-separated list such as 0.9,0.95"),
]


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_refused_in_one_line(d, capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("eie-sim: error: ") and message in err[0], err


def test_strict_json_turns_non_finite_values_into_flagged_nulls():
    text = strict_json({"a": float("nan"), "b": [1.0, float("inf")], "c": np.float64("-inf"), "d": 2})
    import json
    obj = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard token {c}"))
    assert obj == {"a": None, "b": [1.0, None], "c": None, "d": 2, "non_finite": ["a", "b[1]", "c"]}


def test_a_closed_pipe_ends_quietly():
    proc = subprocess.run(f"{sys.executable} -m eie_sim.cli bench --scale 0.02 | head -1", shell=True,
                          capture_output=True, text=True)
    assert proc.stdout.startswith("EIE benchmark suite")
    assert proc.stderr == ""


def test_memory_budget_override(monkeypatch, d, capsys):
    np.save("w.npy", np.ones((64, 64)))
    monkeypatch.setenv("EIE_SIM_MEMORY_BUDGET", "1K")
    assert main(["encode", "w.npy", "-o", "o.npz"]) == 2
    assert "would need 32.0 KiB, more than the memory budget of 1.0 KiB" in capsys.readouterr().err
    monkeypatch.setenv("EIE_SIM_MEMORY_BUDGET", "lots")
    assert main(["encode", "w.npy", "-o", "o.npz"]) == 2
    assert "EIE_SIM_MEMORY_BUDGET='lots'" in capsys.readouterr().err
    monkeypatch.setenv("EIE_SIM_MEMORY_BUDGET", "1G")
    assert main(["encode", "w.npy", "-o", "o.npz"]) == 0
