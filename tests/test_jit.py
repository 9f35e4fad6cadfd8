"""``eie_sim._jit.cached_njit``: Numba's on-disk cache, looked up without the target refresh.

A cached kernel loads in a fresh process without Numba's implementation modules (the refresh
that compiling needs), runs with the same results, and a lookup that fails on the light path
falls back to Numba's own. Assertions are on results, cache statistics and ``sys.modules``,
never on times (those are ``benchmarks/bench_startup.py``'s)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import eie_sim
from eie_sim import _jit

CHECKOUT = Path(eie_sim.__file__).resolve().parents[1]
#: modules that only Numba's target refresh imports (numba.core.cpu.CPUContext.load_additional_registries)
REFRESH_ONLY = ("numba.np.arraymath", "numba.np.linalg", "numba.np.npyimpl", "numba.typed.typeddict", "scipy.linalg")

KERNEL_SOURCE = '''
import numpy as np
from eie_sim._jit import cached_njit


@cached_njit()
def halves(x, shift):
    out = np.empty(x.size, dtype=np.int64)  # the runtime (NRT) allocates
    for i in range(x.size):
        out[i] = np.int64(np.floor(x[i] * 2.0 + 0.5)) >> shift
    return out


@cached_njit()
def total_of_halves(x, shift):  # compiled only in the test that calls it, against a loaded halves
    return halves(x, shift).sum()
'''

CHILD = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import numpy as np
import toy_kernels
out = toy_kernels.halves(np.linspace(-3.0, 3.0, 13), 1)
print(json.dumps({"out": out.tolist(), "hits": sum(toy_kernels.halves.stats.cache_hits.values()),
                  "misses": sum(toy_kernels.halves.stats.cache_misses.values()),
                  "refresh_modules": sorted(m for m in json.loads(sys.argv[3]) if m in sys.modules)}))
"""


def _expected():
    x = np.linspace(-3.0, 3.0, 13)
    return (np.floor(x * 2.0 + 0.5).astype(np.int64) >> 1).tolist()


def _child(folder: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, str(CHECKOUT), str(folder), json.dumps(REFRESH_ONLY)],
                       capture_output=True, text=True, cwd=folder)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_cached_kernel_loads_without_the_refresh_and_computes_the_same(tmp_path):
    (tmp_path / "toy_kernels.py").write_text(KERNEL_SOURCE)
    first = _child(tmp_path)  # compiles (Numba refreshes the target for that) and writes the cache
    assert first["misses"] == 1 and first["out"] == _expected()
    second = _child(tmp_path)
    assert second["hits"] == 1 and second["misses"] == 0
    assert second["out"] == first["out"]
    assert second["refresh_modules"] == [], f"the cache lookup refreshed the target: {second['refresh_modules']}"


COMPILE_AFTER_LOAD = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import numpy as np
import toy_kernels
x = np.linspace(-3.0, 3.0, 13)
loaded = toy_kernels.halves(x, 1)
total = toy_kernels.total_of_halves(x, 1)  # a cache miss: compiled now, calling the loaded kernel
print(json.dumps({"loaded": loaded.tolist(), "total": int(total),
                  "hits": sum(toy_kernels.halves.stats.cache_hits.values()),
                  "misses": sum(toy_kernels.total_of_halves.stats.cache_misses.values())}))
"""


def test_a_kernel_compiled_after_a_light_load_calls_the_loaded_one(tmp_path):
    """A cache miss after light loads compiles as usual (the compiler refreshes the target then),
    also when the new kernel calls one that was loaded without the refresh."""
    (tmp_path / "toy_kernels.py").write_text(KERNEL_SOURCE)
    assert _child(tmp_path)["misses"] == 1  # halves only, on disk
    r = subprocess.run([sys.executable, "-c", COMPILE_AFTER_LOAD, str(CHECKOUT), str(tmp_path)], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out == {"loaded": _expected(), "total": sum(_expected()), "hits": 1, "misses": 1}


def test_a_failing_light_lookup_falls_back_to_numba_s_own(tmp_path, monkeypatch):
    (tmp_path / "toy_kernels.py").write_text(KERNEL_SOURCE)
    assert _child(tmp_path)["misses"] == 1  # the cache on disk
    monkeypatch.syspath_prepend(str(tmp_path))
    import toy_kernels

    calls = []
    original = _jit._LoadOnlyCache._load_overload

    def flaky(self, sig, target_context):
        calls.append(sig)
        if len(calls) == 1:
            raise RuntimeError("light lookup failed")
        return original(self, sig, target_context)

    monkeypatch.setattr(_jit._LoadOnlyCache, "_load_overload", flaky)
    try:
        out = toy_kernels.halves(np.linspace(-3.0, 3.0, 13), 1)
        assert out.tolist() == _expected()
        assert len(calls) == 2  # the light lookup, then Numba's, which found the entry
        assert sum(toy_kernels.halves.stats.cache_hits.values()) == 1
    finally:
        sys.modules.pop("toy_kernels", None)


def test_the_project_s_kernels_use_the_light_lookup():
    from eie_sim.cycle import conv, kernels
    from eie_sim.train import huffman

    disps = [kernels.simulate_pass, kernels.dense_pass, kernels.scan_acts, kernels.build_real_entries,
             conv.patch_nonzeros, huffman._encode]
    assert all(type(d._cache) is _jit._LoadOnlyCache for d in disps)


RUN_TWICE = """
import contextlib, io, json, sys
from eie_sim.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(["run", "alex8", "--scale", "0.05"])
print(json.dumps({"code": code, "text": out.getvalue(),
                  "refresh_modules": sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules),
                  "special": "scipy.special" in sys.modules}))
"""


def test_warm_run_refreshes_nothing_and_imports_no_scipy_special():
    """``eie-sim run`` on a warm cache: no target refresh, no scipy.special, the same text."""
    runs = []
    for _ in range(2):  # the first may compile (a cold cache); the second loads
        r = subprocess.run([sys.executable, "-c", RUN_TWICE, json.dumps(REFRESH_ONLY)], capture_output=True,
                           text=True, cwd=CHECKOUT)
        assert r.returncode == 0, r.stderr
        runs.append(json.loads(r.stdout))
    assert runs[1]["code"] == 0 and runs[1]["text"] == runs[0]["text"]
    assert runs[1]["refresh_modules"] == [] and not runs[1]["special"], runs[1]
