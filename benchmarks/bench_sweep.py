"""Sweep throughput on Dask: points per second with 1 and 2 local workers, and the per-point
overhead of the sweep against the same work done in a bare loop in one process.

    python benchmarks/bench_sweep.py [--scale 1.0] [--repeat 2]

The workload is the whole Table III suite x n_pe {8, 16, 32, 64} x FIFO {1, 2, 4, 8, 16} x SRAM
width {32, 64, 128, 256} (720 points). Clusters are started before timing and warmed (layers
generated and Numba kernels loaded on every worker; encodings dropped before each timed run),
so the figures are steady-state sweep throughput; the cold cluster start is printed separately. The bare loop encodes each
(layer, n_pe) once and calls simulate() (and energy_report()) per point, as a user would by hand.
Targets: the sweep on 2 workers >= 1.7x the points/s of the bare loop in one process (the loop
a user would otherwise write), and the sweep's time per point on 1 worker <= 1.15x that loop's.
The same loop also runs as one task inside a worker (alternating with the sweep, so both see the
same process): the gap between it and the loop in this process is what running in a Dask worker
costs by itself (it was 1.56x before the workers' malloc setting was undone, see
``eie_sim.explore.worker._tune_malloc``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from eie_sim import ArchConfig, PointerOverflowError, suite, encode, energy_report, simulate, sweep

SPACE = {"n_pe": [8, 16, 32, 64], "fifo_depth": [1, 2, 4, 8, 16], "sram_width": [32, 64, 128, 256]}


def _warm(names, scale):
    """On a worker: generate the layers into its cache and load the Numba kernels."""
    from eie_sim.cost.presets import get_table
    from eie_sim.explore.space import _config_for, resolve_layers
    from eie_sim.explore.worker import run_batch

    srcs, _ = resolve_layers(names, None, 0, 0, None)
    for s in srcs:
        run_batch(s, None, [_config_for({"n_pe": 4}, s)], ["warm"], get_table("eie45"), 0, True)
    return len(srcs)


def _drop_encodings():
    """On a worker: forget encoded layers, so every timed sweep encodes as the bare loop does."""
    from eie_sim.explore import worker

    worker._CACHES.pop("enc", None)
    worker._PTR_BITS_NEEDED.clear()


def bare_loop(names, scale):
    """(seconds for encode + simulate + energy_report, seconds in simulate alone, points)."""
    layers = [suite.get(n, scale=scale) for n in names]
    total = sim_only = 0.0
    points = 0
    for b in layers:
        for n_pe in SPACE["n_pe"]:
            t0 = time.perf_counter()
            try:
                enc = encode(b.codes, b.codebook, n_pe=n_pe)
            except PointerOverflowError as exc:  # what the sweep does when ptr_bits is not swept
                enc = encode(b.codes, b.codebook, n_pe=n_pe, ptr_bits=exc.bits_needed)
            total += time.perf_counter() - t0
            for fifo in SPACE["fifo_depth"]:
                for width in SPACE["sram_width"]:
                    cfg = ArchConfig(n_pe=n_pe, fifo_depth=fifo, sram_width=width, ptr_bits=enc.ptr_bits)
                    t0 = time.perf_counter()
                    res = simulate(enc, b.activations, cfg)
                    t1 = time.perf_counter()
                    energy_report(res, "eie45")
                    t2 = time.perf_counter()
                    total += t2 - t0
                    sim_only += t1 - t0
                    points += 1
    return total, sim_only, points


def _bare_in_worker(names, scale):
    return bare_loop(names, scale)


def timed_sweep(n_workers, names, scale, repeat):
    """(best sweep seconds, rows, cluster start seconds, DataFrame, best bare-loop seconds inside
    a worker of the same cluster or None); bare loop and sweep alternate."""
    from dask.distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
    with Client(cluster) as client:
        client.run(_warm, names, scale)
        start_s = time.perf_counter() - t0
        best = best_bare = float("inf")
        for _ in range(repeat):
            if n_workers == 1:
                client.run(_drop_encodings)
                best_bare = min(best_bare, client.submit(_bare_in_worker, [n.split("@")[0] for n in names], scale,
                                                         pure=False).result()[0])
            client.run(_drop_encodings)
            t = time.perf_counter()
            df = sweep(SPACE, names, scheduler=cluster.scheduler_address)
            best = min(best, time.perf_counter() - t)
    cluster.close()
    assert df["error"].isna().all()
    return best, len(df), start_s, df, (best_bare if n_workers == 1 else None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    names = [f"{n}@{args.scale:g}" if args.scale != 1 else n for n in suite.NAMES]
    print(f"machine: {os.cpu_count()} cores; workload: {len(names)} Table III layers (scale {args.scale:g}) x "
          f"{len(SPACE['n_pe']) * len(SPACE['fifo_depth']) * len(SPACE['sram_width'])} points")
    bare_loop(names[:1], args.scale)  # JIT warm-up
    bare, sim_only, n = min((bare_loop([b.split("@")[0] for b in names], args.scale) for _ in range(args.repeat)),
                            key=lambda r: r[0])
    t1, rows1, start1, df1, bare_w = timed_sweep(1, names, args.scale, args.repeat)
    t2, rows2, start2, df2, _ = timed_sweep(2, names, args.scale, args.repeat)
    same = df1.drop(columns=["notes"]).equals(df2.drop(columns=["notes"]))
    print(f"bare loop (1 process)  {n / bare:8.1f} points/s  {1e3 * bare / n:7.2f} ms/point "
          f"(simulate() alone {1e3 * sim_only / n:.2f} ms/point)")
    print(f"bare loop (in a worker){n / bare_w:8.1f} points/s  {1e3 * bare_w / n:7.2f} ms/point (one task, same process as the sweep)")
    print(f"sweep, 1 worker        {rows1 / t1:8.1f} points/s  {1e3 * t1 / rows1:7.2f} ms/point  "
          f"(cluster start + warm-up {start1:.1f} s, not counted)")
    print(f"sweep, 2 workers       {rows2 / t2:8.1f} points/s  {1e3 * t2 / rows2:7.2f} ms/point  "
          f"(cluster start + warm-up {start2:.1f} s, not counted)")
    print(f"in a worker vs in this process (the same bare loop): {bare_w / bare:.2f}x the time per point")
    print(f"scaling 2 vs 1 worker: {t1 / t2:.2f}x; results identical: {same}")
    print(f"per-point overhead, sweep on 1 worker vs the bare loop in that worker: {100 * (t1 / rows1 / (bare_w / n) - 1):+.1f}%; "
          f"vs the bare loop in this process: {100 * (t1 / rows1 / (bare / n) - 1):+.1f}% (target <= 15%)")
    print(f"sweep on 2 workers vs the bare loop in one process: {(rows2 / t2) / (n / bare):.2f}x the points/s (target >= 1.7)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
