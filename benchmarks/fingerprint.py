"""Every result a refactor must not change, as one JSON file: run it before and after and compare.

    python benchmarks/fingerprint.py --out before.json          # on the old commit
    python benchmarks/fingerprint.py --compare before.json      # on the new one

It drives the command line (the interface that outlives any internal reshuffle) on the Table III
suite and on the shipped models: cycles, every access counter, outputs, energies (pJ) and
saturation counts of ``run``/``bench``/``golden``; accuracies of ``eval``; the contents of every
file written by ``example``, ``encode``, ``compress``, ``import``, ``export``, ``sweep`` and
``codesign`` (model files array by array, the format-version field left out; tables row by row,
timing columns left out). Wall-clock fields are dropped everywhere. About ten minutes on two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "eie_sim.cli"]
MODELS = ["lenet300-fashion", "lenet300-fashion-balanced", "lstm-fashion", "lstm-fashion-balanced"]
#: keys whose values depend on the machine or the clock, not on the computation
VOLATILE = re.compile(r"(seconds|_s$|_sec|elapsed|wall|time|duration|started|finished|host|pid|"
                      r"workers?$|path|file|out$|workdir|version|command|when|date)", re.I)


def _strip(value):
    """``value`` without volatile keys, floats kept exactly (repr of a float64 is exact)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in sorted(value.items()) if not VOLATILE.search(str(k))}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


def npz_digest(path: Path) -> dict:
    """One digest per array of a model file (the meta JSON parsed, volatile keys dropped)."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        for name in sorted(zf.namelist()):
            key = name[:-4] if name.endswith(".npy") else name
            arr = np.load(io.BytesIO(zf.read(name)), allow_pickle=False)
            if key == "meta.json":
                text = arr.tobytes().decode()
                out[key] = _strip(json.loads(text))
                # the bytes as written, apart from the version field (and the machine's paths)
                out["meta.json bytes"] = re.sub(r'"version": \d+', '"version": V', text)
                continue
            out[key] = f"{arr.dtype.str}{list(arr.shape)}:{_digest(arr.tobytes())}"
    return out


def table_digest(path: Path) -> dict:
    import pandas as pd
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    keep = [c for c in df.columns if not VOLATILE.search(c)]
    df = df[sorted(keep)]
    key_cols = [c for c in ("point_id", "layer", "pes") if c in df.columns]
    if key_cols:
        df = df.sort_values(key_cols, kind="stable").reset_index(drop=True)
    return {"rows": len(df), "columns": sorted(keep),
            "content": _digest(df.to_csv(index=False, float_format="%.17g").encode())}


def run_cli(args: list[str], cwd: Path) -> dict:
    """Run one command; its JSON output parsed (stripped) when it printed JSON, else its text."""
    t0 = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "rtl")]))
    proc = subprocess.run(CLI + args, cwd=cwd, capture_output=True, text=True, env=env)
    took = time.perf_counter() - t0
    print(f"  {took:6.1f} s  eie-sim {' '.join(args)}  (exit {proc.returncode})", file=sys.stderr)
    out = proc.stdout.strip()
    try:
        payload = _strip(json.loads(out)) if out else None
    except json.JSONDecodeError:
        lines = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
        payload = _strip(lines) if lines else out
    return {"exit": proc.returncode, "stdout": payload}


def fingerprint(tmp: Path, quick: bool) -> dict:
    m = {name: str(ROOT / "models" / f"{name}.npz") for name in MODELS}
    res: dict = {}

    def cli(key, args):
        res[key] = run_cli(args, tmp)

    def file(key, path: Path):
        if not path.exists():
            res[key] = "missing"
        elif path.suffix == ".npz":
            res[key] = npz_digest(path)
        elif path.suffix in (".parquet", ".csv"):
            res[key] = table_digest(path)
        elif path.suffix == ".json":
            res[key] = _strip(json.loads(path.read_text()))
        else:
            res[key] = _digest(path.read_bytes())

    cli("bench", ["bench", "--json", "--scale", "0.25"])
    cli("bench-w2-p16", ["bench", "--json", "--scale", "0.25", "--weight-bits", "2", "--pes", "16",
                         "--fifo-depth", "2", "--sram-width", "128"])
    cli("bench-node", ["bench", "--json", "--scale", "0.25", "--node-nm", "28", "--vdd", "0.9"])
    cli("run-ntlstm", ["run", "ntlstm", "--scale", "0.25", "--json"])
    cli("energy-table", ["energy-table"])
    for name, path in m.items():
        cli(f"info-{name}", ["info", path, "--json"])
        cli(f"golden-{name}", ["golden", path, "--json"])
        cli(f"golden-{name}-seed3", ["golden", path, "--json", "--seed", "3"])
        cli(f"run-{name}", ["run", path, "--json"])
        cli(f"run-{name}-p8", ["run", path, "--json", "--pes", "8", "--weight-bits", "4"])
        cli(f"eval-{name}", ["eval", path, "--json", "--limit-test", "300", "--simulate", "3"])
        onnx = tmp / f"{name}.onnx"
        cli(f"export-{name}", ["export", path, "--check", "64", "--seed", "1", "-o", str(onnx)])
        file(f"export-{name}.onnx", onnx)
        out = tmp / f"{name}-reimported.npz"
        cli(f"import-{name}", ["import", str(onnx), "-o", str(out), "--input-range", "0", "1",
                               "--weight-bits", "4"])
        file(f"import-{name}.npz", out)
    cli("example", ["example", "-o", str(tmp / "example.npz"), "--seed", "2"])
    file("example.npz", tmp / "example.npz")
    rng = np.random.default_rng(7)
    w = rng.normal(size=(96, 160)).astype(np.float32)
    w[rng.random(w.shape) < 0.85] = 0
    np.save(tmp / "w.npy", w)
    cli("encode", ["encode", str(tmp / "w.npy"), "-o", str(tmp / "enc.npz"), "--weight-bits", "3"])
    file("encode.npz", tmp / "enc.npz")
    cli("compress", ["compress", "mlp:48,24", "--dataset", "digits", "--dense-epochs", "2",
                     "--prune-quality", "1.0", "--retrain-epochs", "1", "--finetune-epochs", "1",
                     "--weight-bits", "4", "--seed", "0", "--out", str(tmp / "c.npz"),
                     "--json-report", str(tmp / "c.report.json"), "--quiet"])
    file("compress.npz", tmp / "c.npz")
    file("compress.report.json", tmp / "c.report.json")
    cli("compress-balanced", ["compress", "mlp:32", "--dataset", "digits", "--dense-epochs", "2",
                              "--sparsity", "0.8", "--balance-pes", "4", "--weight-bits", "3",
                              "--seed", "1", "--out", str(tmp / "cb.npz"), "--quiet"])
    file("compress-balanced.npz", tmp / "cb.npz")
    cli("sweep", ["sweep", "--pes", "1,4,16", "--weight-bits", "2,4", "--fifo-depth", "1,8",
                  "--layers", "alex7,ntwe,ntlstm", "--scale", "0.1", "--model", m["lenet300-fashion"],
                  "--limit-test", "200", "--workers", "1", "--quiet",
                  "--out", str(tmp / "sweep.parquet")])
    file("sweep.parquet", tmp / "sweep.parquet")
    if not quick:
        cli("codesign", ["codesign", "mlp:32", "--dataset", "digits", "--out", str(tmp / "cd.parquet"),
                         "--workdir", str(tmp / "cd"), "--candidates", "4", "--budget-minutes", "20",
                         "--sparsity", "0.7,0.9", "--weight-bits", "3,4", "--pes", "4,16",
                         "--rung-epochs", "1", "--dense-epochs", "2", "--simulate", "2",
                         "--seed", "0", "--synchronous", "--quiet", "--json"])
        file("codesign.parquet", tmp / "cd.parquet")
        for p in sorted((tmp / "cd").rglob("*")) if (tmp / "cd").exists() else []:
            if p.suffix in (".parquet", ".csv", ".json", ".npz"):
                file(f"codesign/{p.relative_to(tmp / 'cd')}", p)
    return res


def _normalise(value):
    """``value`` with what names the machine or the run, not the result, replaced in strings:
    temporary folders, the checkout's path, wall times ("3.8 s") -- so that two checkouts compare."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, str):
        value = re.sub(r"/tmp/tmp[\w]+", "<tmp>", value)
        value = re.sub(r"[^\s'\"]*/models/", "<models>/", value)
        return re.sub(r"\b\d+(\.\d+)? s\b", "<t> s", value)
    return value


def compare(old: dict, new: dict) -> list[str]:
    diffs = []
    old, new = _normalise(old), _normalise(new)
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            diffs.append(f"{key}:\n  before {json.dumps(old.get(key))[:600]}\n  after  {json.dumps(new.get(key))[:600]}")
    return diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="write the fingerprint here")
    ap.add_argument("--compare", type=Path, help="compare with this earlier fingerprint")
    ap.add_argument("--quick", action="store_true", help="leave out the co-design search")
    a = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        res = fingerprint(Path(d), a.quick)
    took = time.perf_counter() - t0
    if a.out:
        a.out.write_text(json.dumps(res, indent=1, sort_keys=True))
    n_fail = sum(1 for v in res.values() if isinstance(v, dict) and v.get("exit") not in (None, 0))
    print(f"fingerprint: {len(res)} results ({n_fail} commands exited non-zero) in {took:.0f} s")
    if a.compare:
        diffs = compare(json.loads(a.compare.read_text()), res)
        for d in diffs:
            print(d)
        print(f"compare with {a.compare}: {len(res) - len(diffs)} of {len(res)} results identical, "
              f"{len(diffs)} differ")
        return 1 if diffs else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
