"""Speed of the RTL in Verilator against the Python cycle model, on one layer on a 4-PE array.

Prints Verilator's simulated cycles per second (load port writes plus the layer, from the
cocotb bench's own clock; an -O2 build) and the warm ``simulate()`` time of the cycle model on
the same layer, and their ratio. Also checks that both give the same cycles and outputs.

Usage: python benchmarks/bench_rtl.py [--bench alex7] [--scale 0.03]
"""

from __future__ import annotations

import argparse
import time

from eie_sim import ArchConfig, benchmarks, encode, simulate
from eie_rtl.verilator import BuildSpec, run_cosim


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="alex7")
    ap.add_argument("--scale", type=float, default=0.03)
    args = ap.parse_args()
    b = benchmarks.get(args.bench, scale=args.scale)
    cfg = ArchConfig(n_pe=4, fifo_depth=8)
    layer = encode(b.codes, b.codebook, n_pe=4)
    spec = BuildSpec.for_config(cfg, max_cols=128, max_rows=32, spmat_words=64)
    t0 = time.perf_counter()
    res = run_cosim(layer, b.activations, cfg, spec=spec, optimize=True)
    first = time.perf_counter() - t0
    res = run_cosim(layer, b.activations, cfg, spec=spec, optimize=True)  # warm: build cached
    simulate(layer, b.activations, cfg)
    reps = 200
    t0 = time.perf_counter()
    for _ in range(reps):
        simulate(layer, b.activations, cfg)
    t_model = (time.perf_counter() - t0) / reps
    rate = res["sim_cycles_total"] / res["sim_seconds"]
    print(f"layer {args.bench} x{args.scale}: {layer.n_rows}x{layer.n_cols}, 4 PEs, FIFO 8; "
          f"cycles_rtl {res['cycles_rtl']} cycles_model {res['cycles_model']} outputs_match {res['outputs_match']}")
    print(f"Verilator (cocotb bench): {res['sim_cycles_total']} simulated cycles (load + layer) in {res['sim_seconds']:.3f} s "
          f"= {rate:,.0f} cycles/s; layer alone {res['cycles_rtl']} cycles = {res['cycles_rtl'] / rate * 1e3:.2f} ms")
    print(f"Python cycle model: {t_model * 1e3:.3f} ms per simulate(); ratio Verilator layer time / cycle model "
          f"{(res['cycles_rtl'] / rate) / t_model:.1f}x (first call with build {first:.0f} s)")


if __name__ == "__main__":
    main()
