"""``bench --csv``: one CSV row per simulated layer, the figures of the text table in the units of
the JSON output (fractions, not percentages; energy in uJ, power in mW, latency in us)."""

from __future__ import annotations

import csv
import sys

__all__ = ["BENCH_CSV_FIELDS", "bench_record", "write_bench_csv"]

#: columns of ``bench --csv``, in order
BENCH_CSV_FIELDS = ("layer", "rows", "cols", "n_pe", "fifo_depth", "sram_width", "cycles", "latency_us", "gops",
                    "load_efficiency", "padding_fraction", "spmat_sram_reads", "dram_bytes", "energy_uj",
                    "power_mw", "frames_per_j", "energy_table", "error")


def bench_record(res, rep) -> dict:
    """The CSV row of one layer's simulation ``res`` (SimResult) and energy report ``rep``."""
    c, cfg = res.counters, res.config
    return {"layer": res.name, "rows": res.shape[0], "cols": res.shape[1], "n_pe": cfg.n_pe,
            "fifo_depth": cfg.fifo_depth, "sram_width": cfg.sram_width, "cycles": res.cycles,
            "latency_us": res.latency_us, "gops": rep.gops, "load_efficiency": res.load_efficiency,
            "padding_fraction": res.padding_fraction,
            "spmat_sram_reads": c["spmat_sram_reads"], "dram_bytes": c["dram_bytes"],
            "energy_uj": rep.energy_pj / 1e6, "power_mw": rep.power_mw, "frames_per_j": rep.frames_per_j,
            "energy_table": rep.table, "error": ""}


def write_bench_csv(records, failed=(), out=None) -> None:
    """``records`` (dicts of :data:`BENCH_CSV_FIELDS`) and ``failed`` ((layer, message) pairs, a row
    with only the layer and the error) as CSV on ``out`` (default stdout)."""
    w = csv.DictWriter(out or sys.stdout, fieldnames=BENCH_CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in records:
        w.writerow(r)
    for name, msg in failed:
        w.writerow({"layer": name, "error": msg})
