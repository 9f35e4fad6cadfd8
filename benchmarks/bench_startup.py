"""Start-up time of the ``eie-sim`` command line: whole-process wall times of four commands.

For each command it prints the best of N (default 5) wall times of a new process
``python -m eie_sim.cli ...`` (what the ``eie-sim`` script runs), the ratio to ``python -c pass``
measured in the same run (the interpreter's own start-up, the floor), and the ratio to the reference
point of 47 ms: the process time of the EIE authors' C++ simulator for a whole AlexNet fc8 layer.
The commands are ``--help``, ``info models/lenet300-fashion.npz``, ``energy-table eie45`` (targets
<= 0.3 s) and ``run alex8`` (target <= 0.6 s), the last one warm: after one run that fills the
Numba cache on disk; every command is run once first with bytecode writing on, so that the
timed runs find their ``.pyc`` files as an installed copy does (a checkout whose environment sets
``PYTHONDONTWRITEBYTECODE`` would otherwise recompile every changed module on each run, 60-90 ms).
Then the best-of-N time of ``import eie_sim.cli`` inside a fresh process.

The processes inherit this one's environment (set PYTHONPATH to time another checkout) and run
from the root of the checkout whose eie_sim that finds, so that the model path resolves.

Usage: python benchmarks/bench_startup.py [--repeats N] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

#: the checkout of the eie_sim this interpreter finds (PYTHONPATH first), found without importing
#: it; the processes run there, since ``python -m`` and ``-c`` put the working directory first on sys.path
_SPEC = importlib.util.find_spec("eie_sim")
if _SPEC is None or _SPEC.origin is None:
    raise SystemExit("bench_startup: eie_sim is not importable; set PYTHONPATH to a checkout or install it")
ROOT = Path(_SPEC.origin).resolve().parents[1]
REFERENCE_S = 0.047  # the EIE authors' C++ simulator: process time of a whole fc8 layer
COMMANDS = [
    ("eie-sim --help", ["--help"], 0.3),
    ("eie-sim info models/lenet300-fashion.npz", ["info", "models/lenet300-fashion.npz"], 0.3),
    ("eie-sim energy-table eie45", ["energy-table", "eie45"], 0.3),
    ("eie-sim run alex8 (warm)", ["run", "alex8"], 0.6),
]
IMPORT_SNIPPET = "import time; t = time.perf_counter(); import eie_sim.cli; print(time.perf_counter() - t)"


def wall(argv: list[str], env: dict | None = None) -> float:
    """Wall time in seconds of one process running ``argv`` (output discarded); it must succeed."""
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - t0


def best_wall(argv: list[str], repeats: int) -> float:
    """The best of ``repeats`` wall times of ``argv``."""
    return min(wall(argv) for _ in range(repeats))


def import_time(repeats: int) -> float:
    """The best of ``repeats`` in-process times of ``import eie_sim.cli`` in a fresh interpreter."""
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", IMPORT_SNIPPET], cwd=ROOT, capture_output=True, text=True,
                             check=True)
        times.append(float(out.stdout.strip()))
    return min(times)


def measure(repeats: int) -> dict:
    """Every figure of the report: the baseline, the commands and the import time (seconds)."""
    baseline = best_wall([sys.executable, "-c", "pass"], repeats)
    # warm as an installed copy is after its first use: bytecode (.pyc) written even where the
    # environment says not to (PYTHONDONTWRITEBYTECODE), and Numba's kernels cached on disk
    warm_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    rows = []
    for label, args, target in COMMANDS:
        argv = [sys.executable, "-m", "eie_sim.cli", *args]
        wall(argv, env=warm_env)
        rows.append({"command": label, "wall_s": best_wall(argv, repeats), "target_s": target})
    return {"repeats": repeats, "python": sys.executable, "checkout": str(ROOT), "baseline_s": baseline, "commands": rows,
            "import_eie_sim_cli_s": import_time(repeats), "reference_s": REFERENCE_S}


def format_table(r: dict) -> str:
    """The measurements as a text table."""
    lines = [f"{'command':<42} {'wall ms':>8} {'target':>7} {'x python':>9} {'x C++ 47ms':>11}"]
    for row in r["commands"]:
        lines.append(f"{row['command']:<42} {row['wall_s'] * 1e3:8.0f} {row['target_s'] * 1e3:6.0f}  "
                     f"{row['wall_s'] / r['baseline_s']:8.1f}x {row['wall_s'] / r['reference_s']:10.1f}x")
    lines.append(f"{'python -c pass (baseline)':<42} {r['baseline_s'] * 1e3:8.0f}")
    lines.append(f"{'C++ simulator, whole fc8 layer (reference)':<42} {r['reference_s'] * 1e3:8.0f}")
    lines.append(f"{'import eie_sim.cli (in-process)':<42} {r['import_eie_sim_cli_s'] * 1e3:8.0f}")
    lines.append(f"best of {r['repeats']} runs each; {r['python']} on {r['checkout']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="processes per command; the best is kept (default 5)")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = ap.parse_args()
    r = measure(max(1, args.repeats))
    print(json.dumps(r, indent=2) if args.json else format_table(r))


if __name__ == "__main__":
    main()
