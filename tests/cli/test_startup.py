"""Start-up of the command line: the light commands import no heavy dependency, and the lazy
package root still resolves its whole public API.

Each check runs in a fresh interpreter (``sys.modules`` of this one holds whatever earlier
tests imported) and asserts what is in ``sys.modules`` afterwards, never a time: the start-up
times themselves are ``benchmarks/bench_startup.py``'s."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import eie_sim

#: the checkout whose eie_sim is under test: the subprocesses run there, since ``python -c``
#: puts the working directory first on sys.path
CHECKOUT = Path(eie_sim.__file__).resolve().parents[1]
MODEL = Path(__file__).resolve().parents[2] / "models" / "lenet300-fashion.npz"
#: what ``--help``, ``info`` and ``energy-table`` must not import (top-level package names)
HEAVY = ("numba", "pandas", "dask", "distributed", "matplotlib", "scipy", "onnx", "amaranth", "cocotb")

RUN_MAIN = """
import contextlib, io, json, sys
from eie_sim.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        code = main(json.loads(sys.argv[1]))
    except SystemExit as exc:
        code = exc.code
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps({"code": code, "heavy": heavy}))
"""


def run_main(argv: list[str]) -> dict:
    """``main(argv)`` in a fresh interpreter: its exit code and the heavy packages it imported."""
    r = subprocess.run([sys.executable, "-c", RUN_MAIN, json.dumps(argv), json.dumps(HEAVY)],
                       capture_output=True, text=True, cwd=CHECKOUT)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["info", str(MODEL)], ["info", str(MODEL), "--pes", "16"],
                                  ["energy-table", "eie45"], ["energy-table", "eie45", "--toml"],
                                  ["run", "--help"], ["sweep", "--help"]],
                         ids=lambda a: " ".join(Path(x).name for x in a))
def test_light_commands_import_no_heavy_package(argv):
    out = run_main(argv)
    assert out["code"] == 0
    assert not out["heavy"], f"eie-sim {' '.join(argv)} imported {out['heavy']}"


def test_run_imports_numba_but_not_pandas():
    """A simulation needs the Numba kernels; its text report builds no DataFrame."""
    out = run_main(["run", "alex8", "--scale", "0.05"])
    assert out["code"] == 0
    assert "numba" in out["heavy"] and "pandas" not in out["heavy"], out["heavy"]


ROOT_API = """
import json, sys
import eie_sim
before = sorted(m for m in sys.modules if m.startswith('eie_sim'))
missing = [n for n in eie_sim.__all__ if getattr(eie_sim, n, None) is None]
print(json.dumps({"before": before, "missing": missing, "simulate": eie_sim.simulate.__module__,
                  "suite": eie_sim.suite.__name__, "codesign": type(eie_sim.codesign).__name__,
                  "dir": sorted(set(eie_sim.__all__) - set(dir(eie_sim)))}))
"""


def test_package_root_is_lazy_and_resolves_every_public_name():
    r = subprocess.run([sys.executable, "-c", ROOT_API], capture_output=True, text=True, cwd=CHECKOUT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["before"] == ["eie_sim", "eie_sim._version"]
    assert out["missing"] == [] and out["dir"] == []
    assert out["simulate"] == "eie_sim.cycle.simulator"
    assert out["suite"] == "eie_sim.cycle.suite"
    assert out["codesign"] == "function"  # the function, even after the subpackage eie_sim.codesign is imported


def test_from_imports_and_subpackage_names():
    from eie_sim import ArchConfig, EIEError, codesign, simulate, suite  # noqa: F401
    import eie_sim.codesign.search  # the subpackage import must not replace the function eie_sim.codesign

    assert eie_sim.codesign is codesign and callable(codesign)
    assert eie_sim.simulate is simulate and suite.get is eie_sim.suite.get
    with pytest.raises(AttributeError):
        eie_sim.no_such_name  # noqa: B018


def test_main_with_arguments_leaves_the_garbage_collector_alone(capsys):
    """Only the program (``argv`` None: the process ends next) freezes its objects out of the exit
    collections; a caller of ``main([...])`` keeps a collecting garbage collector."""
    import gc

    from eie_sim.cli import main

    before = gc.get_freeze_count()
    assert main(["--version"]) == 0
    assert gc.get_freeze_count() == before and "eie-sim" in capsys.readouterr().out
