"""Effect and cost of the dispersed sparsity pattern of the Table III suite (``eie_sim.suite``).

For each layer at full size on the EIE configuration (``ArchConfig()``: 64 PEs, FIFO depth 8) it
simulates the layer generated with the uniform pattern (``row_cv=0, col_cv=0``) and with the
default dispersion (``DEFAULT_ROW_CV`` / ``DEFAULT_COL_CV``), same seed, and prints, for each:
cycles, latency (us), load efficiency and the per-PE imbalance of the weights (max / mean of the
real, non-padding entries per PE), then the ratio dispersed / uniform of each. Then the time to
generate each layer (best of REPEATS) with both generators and their ratio (target <= 2).

Usage: python benchmarks/bench_dispersion.py [--repeats N] [--layers alex6,vgg6] [--seed S]
"""

from __future__ import annotations

import argparse
import time

from eie_sim import ArchConfig, suite, encode_for, simulate

UNIFORM = {"row_cv": 0.0, "col_cv": 0.0}
DISPERSED = {"row_cv": suite.DEFAULT_ROW_CV, "col_cv": suite.DEFAULT_COL_CV}


def best_time(f, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def measure(b, cfg):
    enc = encode_for(b.codes, b.codebook, cfg)
    res = simulate(enc, b.activations, cfg)
    real = enc.real_per_pe
    return {"cycles": res.cycles, "latency_us": res.latency_us, "load_eff": res.load_efficiency,
            "pe_max_mean": float(real.max() / real.mean())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--layers", default=",".join(suite.NAMES))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cfg = ArchConfig()
    names = args.layers.split(",")
    print(f"Table III suite, seed {args.seed}, full size, {cfg.n_pe} PEs, FIFO depth {cfg.fifo_depth}; "
          f"uniform (row_cv=col_cv=0) vs dispersed (row_cv={DISPERSED['row_cv']:g}, col_cv={DISPERSED['col_cv']:g})")
    keys = ("cycles", "latency_us", "load_eff", "pe_max_mean")
    print(f"{'layer':7} {'':9} {'cycles':>9} {'latency_us':>10} {'load_eff':>8} {'PE max/mean':>11}")
    gen = {}
    for name in names:
        rows = {}
        for label, kw in (("uniform", UNIFORM), ("dispersed", DISPERSED)):
            t, b = best_time(lambda: suite.get(name, seed=args.seed, **kw), args.repeats)
            gen[name, label] = t
            rows[label] = measure(b, cfg)
        u, d = rows["uniform"], rows["dispersed"]
        for label, r in rows.items():
            print(f"{name if label == 'uniform' else '':7} {label:9} {r['cycles']:9d} {r['latency_us']:10.2f} "
                  f"{r['load_eff']:8.3f} {r['pe_max_mean']:11.3f}")
        ratio = {k: d[k] / u[k] for k in keys}
        print(f"{'':7} {'ratio':9} {ratio['cycles']:9.3f} {ratio['latency_us']:10.3f} {ratio['load_eff']:8.3f} "
              f"{ratio['pe_max_mean']:11.3f}", flush=True)
    print(f"\ngeneration time, best of {args.repeats}")
    print(f"{'layer':7} {'uniform_s':>9} {'dispersed_s':>11} {'ratio':>6}")
    for name in names:
        tu, td = gen[name, "uniform"], gen[name, "dispersed"]
        print(f"{name:7} {tu:9.3f} {td:11.3f} {td / tu:6.2f}")
    tu = sum(gen[n, "uniform"] for n in names)
    td = sum(gen[n, "dispersed"] for n in names)
    print(f"{'total':7} {tu:9.3f} {td:11.3f} {td / tu:6.2f}")


if __name__ == "__main__":
    main()
