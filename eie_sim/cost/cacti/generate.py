"""Regenerate ``sram_45nm.csv`` with CACTI 7 (not a run-time dependency of eie-sim).

CACTI is built once from its public source, outside this project::

    git clone https://github.com/HewlettPackard/cacti && cd cacti   # commit 1ffd8df, "CACTI 7.0"
    make                                                             # g++; writes ./cacti
    python -m eie_sim.cost.cacti.generate --cacti-dir PATH/TO/cacti  # from the eie-sim checkout

For every cell/peripheral type x capacity (1 KB .. 1 MB, powers of two) x word width (16 ..
512 bits) it fills ``sram.cfg.template`` (one bank, one read/write port, 45 nm, 360 K, a
scratch RAM without tags or ECC, words of one access each), runs CACTI in its own folder (it
reads ``tech_params/`` from the working directory) and parses the report. A configuration for
which CACTI finds no organisation is left out of the table (the interpolator then refuses it).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "sram.cfg.template"
TABLE = HERE / "sram_45nm.csv"
CELL_TYPES = ("itrs-lop", "itrs-hp", "itrs-lstp")
CAPACITIES_BYTES = tuple(1 << k for k in range(10, 21))  # 1 KB .. 1 MB
WIDTHS_BITS = (16, 32, 64, 128, 256, 512)
COLUMNS = ("cell_type", "capacity_bytes", "width_bits", "read_pj", "write_pj", "leakage_mw", "gate_leakage_mw",
           "area_mm2", "access_ns", "cycle_ns")

_FIELDS = {
    "access_ns": r"Access time \(ns\):\s*([0-9.eE+-]+)",
    "cycle_ns": r"Cycle time \(ns\):\s*([0-9.eE+-]+)",
    "read_nj": r"Total dynamic read energy per access \(nJ\):\s*([0-9.eE+-]+)",
    "write_nj": r"Total dynamic write energy per access \(nJ\):\s*([0-9.eE+-]+)",
    "leakage_mw": r"Total leakage power of a bank \(mW\):\s*([0-9.eE+-]+)",
    "gate_leakage_mw": r"Total gate leakage power of a bank \(mW\):\s*([0-9.eE+-]+)",
    "hw_mm": r"Cache height x width \(mm\):\s*([0-9.eE+-]+) x ([0-9.eE+-]+)",
}


def parse_report(text: str) -> dict | None:
    """The figures of one CACTI report (pJ, mW, mm2, ns), or None when it has none."""
    got = {}
    for key, pat in _FIELDS.items():
        m = re.search(pat, text)
        if m is None:
            return None
        got[key] = tuple(float(g) for g in m.groups())
    return {
        "read_pj": got["read_nj"][0] * 1e3,
        "write_pj": got["write_nj"][0] * 1e3,
        "leakage_mw": got["leakage_mw"][0],
        "gate_leakage_mw": got["gate_leakage_mw"][0],
        "area_mm2": got["hw_mm"][0] * got["hw_mm"][1],
        "access_ns": got["access_ns"][0],
        "cycle_ns": got["cycle_ns"][0],
    }


def run_point(cacti_dir: Path, cell: str, capacity: int, width: int) -> dict | None:
    cfg = TEMPLATE.read_text().format(size_bytes=capacity, block_bytes=width // 8, cell=cell, periph=cell,
                                      width_bits=width)
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
        f.write(cfg)
    try:
        proc = subprocess.run([str(cacti_dir / "cacti"), "-infile", f.name], cwd=cacti_dir, capture_output=True,
                              text=True, timeout=600)
    finally:
        os.unlink(f.name)
    figures = parse_report(proc.stdout) if proc.returncode == 0 else None
    return None if figures is None else {"cell_type": cell, "capacity_bytes": capacity, "width_bits": width, **figures}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cacti-dir", required=True, type=Path, help="folder of the built cacti binary")
    ap.add_argument("--out", type=Path, default=TABLE)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    grid = [(c, cap, w) for c in CELL_TYPES for cap in CAPACITIES_BYTES for w in WIDTHS_BITS if cap * 8 >= 16 * w]
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda p: run_point(args.cacti_dir, *p), grid))
    missing = [p for p, r in zip(grid, rows) if r is None]
    rows = [r for r in rows if r is not None]
    tmp = args.out.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        f.write("# CACTI 7.0 (HewlettPackard/cacti 1ffd8df), 45 nm, one bank, 1 RW port, RAM, no ECC, 360 K; "
                "python -m eie_sim.cost.cacti.generate; config eie_sim/cost/cacti/sram.cfg.template\n")
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    tmp.replace(args.out)
    print(f"wrote {args.out}: {len(rows)} points; CACTI found no organisation for {len(missing)}: {missing}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
