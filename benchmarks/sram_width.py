"""SRAM width (EIE paper Fig. 9): spmat reads, energy per read and total read energy per word width.

For alex6 and vgg6 (Table III, full size, seed 0) on 64 PEs, at 32 .. 512-bit spmat words:
reads (cycle model), energy per read under ``eie45`` (CACTI 7 width scaling, lstp cells) and the
total; the baseline, computed in the same run, is the linear width model eie-sim used before
(Horowitz's SRAM law, energy proportional to width), and the ratio CACTI / linear is printed.

    .venv/bin/python benchmarks/sram_width.py [--layers alex6,vgg6] [--pes 64]
"""

from __future__ import annotations

import argparse
import time

from eie_sim import ArchConfig, suite, preset, simulate
from eie_sim.cost.energy import sram_read_pj

WIDTHS = (32, 64, 128, 256, 512)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", default="alex6,vgg6")
    ap.add_argument("--pes", type=int, default=64)
    args = ap.parse_args()
    table = preset("eie45")
    ref = ArchConfig()
    ref_pj = table.energy_pj["spmat_sram_read"].value
    print(f"spmat SRAM {ref.spmat_sram_kb} KB per PE, {args.pes} PEs; energy per read: eie45 (CACTI) and the linear "
          f"model (Horowitz law x width, scaled to the same {ref_pj:.2f} pJ at {ref.sram_width} bits)")
    print(f"{'layer':<7}{'width':>6}{'reads':>11}{'pJ/read':>9}{'total_uJ':>10}{'linear pJ/read':>16}"
          f"{'linear total_uJ':>17}{'CACTI/linear':>14}{'sim_s':>7}")
    for name in args.layers.split(","):
        b = suite.get(name)
        for w in WIDTHS:
            cfg = ArchConfig(n_pe=args.pes, sram_width=w)
            t0 = time.perf_counter()
            sim = simulate((b.codes, b.codebook), b.activations, cfg)
            dt = time.perf_counter() - t0
            reads = sim.counters["spmat_sram_reads"]
            per_read = table.at(cfg)["spmat_sram_read"]
            linear = ref_pj * sram_read_pj(cfg.spmat_sram_kb * 1024, w) / sram_read_pj(ref.spmat_sram_kb * 1024, ref.sram_width)
            print(f"{name:<7}{w:>6}{reads:>11,}{per_read:>9.2f}{reads * per_read / 1e6:>10.3f}{linear:>16.2f}"
                  f"{reads * linear / 1e6:>17.3f}{per_read / linear:>14.3f}{dt:>7.2f}")


if __name__ == "__main__":
    main()
