"""Gate-level area of one RTL PE at the paper's configuration, per module, next to EIE Table II.

Synthesises the PE once (eie_rtl.area.synth_pe: Yosys + abc onto a generic gate set with the
Nangate 45 nm Open Cell Library's X1 cell areas; register files as flip-flops; SRAM macros kept
as memories) and prints two tables from it:

1. SRAMs as the RTL has them (CACTI 7 45 nm area of each SRAM macro's capacity and width);
2. SRAMs of the cost model's EIE configuration (``eie_sim.cost.area.sram_area_um2(ArchConfig())``:
   128 KB spmat SRAM, two 16 KB pointer banks, 2 KB activation SRAM), the memories Table II has.

Then the synthesis time and where every figure comes from. Table II: EIE (Han et al., ISCA
2016), one PE at 45 nm, as ``eie_sim.cost.energy.TABLE2``.

Usage: python benchmarks/area_table.py [--fast] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

from eie_sim import ArchConfig
from eie_rtl import PEParams
from eie_rtl.area import SRAM_MIN_BITS, area_table, format_area_table, synth_pe

PAPER = dict(fifo_depth=8, weight_bits=4, index_bits=4, act_bits=16, acc_bits=48, sram_width=64, max_cols=4096,
             max_rows=64, max_src=64, spmat_words=16384)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="abc's quick script (strash; dretime; map)")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the tables")
    args = ap.parse_args()
    p = PEParams(**PAPER)
    t0 = time.perf_counter()
    r = synth_pe(p, fast=args.fast)
    wall = time.perf_counter() - t0
    rtl_rows = area_table(p, synth=r)
    cfg_rows = area_table(p, ArchConfig(), synth=r)
    if args.json:
        print(json.dumps({"params": PAPER, "synthesis_seconds": wall, "flow": r["flow"], "library": r["library"],
                          "memories": r["memories"], "sram_as_in_rtl": rtl_rows, "sram_of_cost_model": cfg_rows},
                         indent=1, default=str))
        return
    print(f"One PE: {', '.join(f'{k}={v}' for k, v in PAPER.items())}; counters and Verilog macros off.")
    print(f"Synthesis: {wall:.1f} s wall ({r['flow']}), elaboration and both Yosys runs included.\n")
    print("Memories (SRAM macro if >= %d bits, else a register file of flip-flops):" % SRAM_MIN_BITS)
    for m in r["memories"]:
        print(f"  {m['module'] + '/' + m['name']:<26} {m['depth']:>6} x {m['width']:>2} bit  "
              f"{m['read_ports']}R{m['write_ports']}W  {m['kind']}")
    print("\nLogic per Yosys module (its own cells, submodules not included):")
    for name, m in r["modules"].items():
        print(f"  {name:<26} gates {m['gates']:>6,}  flip-flops {m['flip_flops']:>5,}  "
              f"logic {m['area_um2']:>9,.0f} um^2")
    print("\n1. SRAMs as the RTL has them\n")
    print(format_area_table(rtl_rows))
    print("\n2. SRAMs of the cost model's EIE configuration (ArchConfig(): spmat 128 KB, pointers 2 x 16 KB, "
          "activations 2 KB)\n")
    print(format_area_table(cfg_rows))
    print("\nSources: Table II = EIE (Han et al., ISCA 2016) Table II, per PE at 45 nm (eie_sim.cost.energy.TABLE2); "
          "logic = gates and flip-flops after Yosys/abc, each cell at its Nangate 45 nm X1 area "
          "(eie_rtl.area.GATE_AREA_UM2, NangateOpenCellLibrary_typical.lib rev. 1.0); no wires, clock tree or "
          "placement density; SRAM = CACTI 7.0 45 nm itrs-lstp (eie_sim/cost/cacti/sram_45nm.csv).")


if __name__ == "__main__":
    main()
