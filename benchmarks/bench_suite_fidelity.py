"""How faithful the Table III suite is to the EIE paper, under three sparsity generators.

Generators (``eie_sim.suite.get``, seed 0, full size): ``uniform`` (``row_cv = col_cv = 0``),
``previous`` (0.6 / 0.6, the earlier default, from our own small pruned MLPs) and
``default`` (:data:`~eie_sim.cycle.suite.DEFAULT_ROW_CV` / ``DEFAULT_COL_CV``, from the released
AlexNet fc8, ``eie_sim/cycle/real_layers.json``). Each layer runs on the EIE configuration
(``ArchConfig()``: 64 PEs, FIFO depth 8, 800 MHz) and again at FIFO depth 1. Per layer and
generator it prints cycles, latency (us) and its deviation from the paper's measured latency,
the per-PE imbalance of the real entries (max / mean), the FIFO-1 / FIFO-8 cycle ratio and the
energy (uJ, ``eie45``). Then, per generator, the figures the paper publishes that we can cite:

* EIE Table IV, "EIE actual time" on 64 PEs (us): the mean |deviation| over the nine layers;
* EIE Table VI, AlexNet fc7 on 64 PEs: 81,967 frames/s and 138,927 frames/J, i.e. 12.2 us,
  7.20 uJ and 590 mW per inference (Table II: 9.157 mW per PE x 64 plus the LNZD tree);
* EIE Fig. 8 and its text (at FIFO depth 1 "around half of the total cycles are idle",
  diminishing returns beyond 8) and the authors' C++ simulator on the real fc8
  (``real_layers.json``): FIFO depth 1 costs 1.29x the cycles of depth 8, load efficiency 0.70;
* EIE Table II: 9.157 mW per PE for the PE modules, suite average (the ``eie45`` calibration
  identity for the generator it was calibrated on).

Baseline in the same run: the uniform generator (ratios ``x_uniform``) and, with ``--fc8-dir``
(the ``data/`` folder of a fetched RalphMao/EIE-simulator, see ``benchmarks/real_dispersion.py``),
the real fc8 layer with its released activation vector, which ``alex8`` is compared with.

With ``--speedup`` also each layer's speedup of 64 PEs over 1 PE, activation registers sized to the
layer (the paper's scalability study, Fig. 11: near-linear; the figure gives no table to quote).

Usage: python benchmarks/bench_suite_fidelity.py [--layers alex7,alex8] [--fc8-dir DIR] [--seed S] [--speedup]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from eie_sim import ArchConfig, encode_for, energy_report, simulate, suite

#: EIE Table IV, "EIE actual time", 64 PEs at 800 MHz (us)
TABLE_IV_US = {"alex6": 30.3, "alex7": 12.2, "alex8": 9.9, "vgg6": 34.4, "vgg7": 8.7, "vgg8": 8.4,
               "ntwe": 8.0, "ntwd": 13.9, "ntlstm": 7.5}
#: EIE Table VI, AlexNet fc7 on EIE (64 PEs): frames per second and per joule
ALEX7_FRAMES_PER_S, ALEX7_FRAMES_PER_J = 81_967, 138_927
TABLE_II_PE_MW = 9.157
PE_MODULES = ("ActQueue", "PtrRead", "SpmatRead", "ArithmUnit", "ActRW")
REAL_LAYERS = Path(suite.__file__).with_name("real_layers.json")


def generators() -> dict[str, tuple[float, float]]:
    return {"uniform": (0.0, 0.0), "previous": (suite.PREVIOUS_ROW_CV, suite.PREVIOUS_COL_CV),
            "default": (suite.DEFAULT_ROW_CV, suite.DEFAULT_COL_CV)}


def speedup(codes, codebook, acts, cfg: ArchConfig) -> float:
    """Cycles on 1 PE over cycles on ``cfg.n_pe`` PEs, activation registers sized to the layer (one
    row batch at every PE count), as the paper's scalability study (Fig. 11) sizes them."""
    regs = dataclasses.replace(cfg, act_regs_per_pe=codes.shape[0])
    one = dataclasses.replace(regs, n_pe=1, ptr_bits=24)  # 1 PE holds the whole layer: wider pointers
    return (simulate(encode_for(codes, codebook, one), acts, one).cycles
            / simulate(encode_for(codes, codebook, regs), acts, regs).cycles)


def measure(codes, codebook, acts, cfg: ArchConfig, with_speedup: bool = False) -> dict:
    """Cycles at cfg and at FIFO depth 1, latency, PE imbalance, energy and PE-module power (and
    the speedup over 1 PE)."""
    enc = encode_for(codes, codebook, cfg)
    res = simulate(enc, acts, cfg)
    cfg1 = dataclasses.replace(cfg, fifo_depth=1)
    res1 = simulate(encode_for(codes, codebook, cfg1), acts, cfg1)
    rep = energy_report(res, "eie45")
    real = enc.real_per_pe
    pe_mw = sum(rep.by_module.get(m, 0.0) for m in PE_MODULES) / rep.latency_us / 1e3 / cfg.n_pe
    out = {"speedup": speedup(codes, codebook, acts, cfg)} if with_speedup else {}
    return out | {"cycles": res.cycles, "latency_us": res.latency_us, "pe_max_mean": float(real.max() / real.mean()),
            "fifo_ratio": res1.cycles / res.cycles, "load_eff": res.load_efficiency, "load_eff1": res1.load_efficiency,
            "energy_uj": rep.energy_pj / 1e6, "power_mw": rep.power_mw,
            "pe_module_mw": pe_mw}


def real_fc8(fc8_dir: Path):
    """codes (1000 x 4096), codebook, activations of the released fc8 (benchmarks/real_dispersion.py)."""
    from real_dispersion import load_fc8  # same folder

    return load_fc8(fc8_dir)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", default=",".join(suite.NAMES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--speedup", action="store_true",
                    help="also the speedup of 64 PEs over 1 PE, registers sized to the layer (Fig. 11; minutes)")
    ap.add_argument("--fc8-dir", type=Path, default=None,
                    help="data/ folder of a fetched RalphMao/EIE-simulator: also simulate the real fc8")
    args = ap.parse_args()
    cfg, names, gens = ArchConfig(), args.layers.split(","), generators()
    ref = json.loads(REAL_LAYERS.read_text())
    fc8 = next(lay for lay in ref["layers"] if (lay["network"], lay["layer"]) == ("AlexNet", "fc8"))
    authors = fc8["authors_simulator"]["cycles"]
    print(f"Table III suite, seed {args.seed}, full size, {cfg.n_pe} PEs, FIFO {cfg.fifo_depth} (and 1), "
          f"{cfg.clock_mhz:g} MHz, energy table eie45; generators (row_cv/col_cv): "
          + ", ".join(f"{g} {r:g}/{c:g}" for g, (r, c) in gens.items()))
    head = (f"{'layer':7} {'generator':9} {'cycles':>7} {'latency_us':>10} {'paper_us':>8} {'dev_%':>6} "
            f"{'PE_max/mean':>11} {'fifo1/8':>7} {'energy_uJ':>9} {'power_mW':>8} {'x_uniform':>9} {'gen_s':>6}"
            + (f" {'speedup':>8}" if args.speedup else ""))
    print(head)
    print("-" * len(head))
    rows = {}
    for name in names:
        for g, (rc, cc) in gens.items():
            t0 = time.perf_counter()
            b = suite.get(name, seed=args.seed, row_cv=rc, col_cv=cc)
            t_gen = time.perf_counter() - t0
            m = measure(b.codes, b.codebook, b.activations, cfg, args.speedup)
            rows[name, g] = m
            paper = TABLE_IV_US.get(name)
            dev = 100 * (m["latency_us"] / paper - 1) if paper else float("nan")
            x_u = m["cycles"] / rows[name, "uniform"]["cycles"]
            print(f"{name if g == 'uniform' else '':7} {g:9} {m['cycles']:7d} {m['latency_us']:10.2f} {paper:8.1f} "
                  f"{dev:+6.1f} {m['pe_max_mean']:11.3f} {m['fifo_ratio']:7.3f} {m['energy_uj']:9.3f} "
                  f"{m['power_mw']:8.1f} {x_u:9.3f} {t_gen:6.2f}"
                  + (f" {m['speedup']:8.1f}" if args.speedup else ""), flush=True)
        if name == "alex8" and args.fc8_dir is not None:
            codes, codebook, acts = real_fc8(args.fc8_dir)
            m = measure(codes, codebook, acts, cfg, args.speedup)
            rows[name, "real"] = m
            print(f"{'':7} {'real fc8':9} {m['cycles']:7d} {m['latency_us']:10.2f} {TABLE_IV_US[name]:8.1f} "
                  f"{100 * (m['latency_us'] / TABLE_IV_US[name] - 1):+6.1f} {m['pe_max_mean']:11.3f} "
                  f"{m['fifo_ratio']:7.3f} {m['energy_uj']:9.3f} {m['power_mw']:8.1f} "
                  f"{m['cycles'] / rows[name, 'uniform']['cycles']:9.3f} {'':6}"
                  + (f" {m['speedup']:8.1f}" if args.speedup else "") + "  (released weights and activations, "
                  f"activation density {np.count_nonzero(acts) / acts.size:.1%})", flush=True)
            b = suite.get(name, seed=args.seed)
            m = measure(b.codes, b.codebook, acts, cfg)
            rows[name, "default+real acts"] = m
            print(f"{'':7} {'default, real activations':26} {m['cycles']:7d} cycles ({100 * (m['cycles'] / rows[name, 'real']['cycles'] - 1):+.1f}% "
                  f"vs the real layer), FIFO 1/8 {m['fifo_ratio']:.3f}", flush=True)
    print("\nagainst the paper")
    for g in gens:
        devs = [100 * (rows[n, g]["latency_us"] / TABLE_IV_US[n] - 1) for n in names if n in TABLE_IV_US]
        line = (f"{g:9} Table IV latency: mean |dev| {np.mean(np.abs(devs)):5.1f}%, max |dev| {np.max(np.abs(devs)):5.1f}%, "
                f"{sum(abs(d) > 19 for d in devs)} of {len(devs)} beyond 19%")
        if ("alex7", g) in rows:
            a7 = rows["alex7", g]
            line += (f"; alex7 {a7['energy_uj']:.2f} uJ vs {1e6 / ALEX7_FRAMES_PER_J:.2f} (Table VI, "
                     f"{100 * (a7['energy_uj'] * ALEX7_FRAMES_PER_J / 1e6 - 1):+.0f}%), {a7['power_mw']:.0f} mW vs "
                     f"{ALEX7_FRAMES_PER_S / ALEX7_FRAMES_PER_J * 1e3:.0f} mW")
        if ("alex8", g) in rows:
            line += f"; alex8 FIFO 1/8 {rows['alex8', g]['fifo_ratio']:.3f}x"
        eff1 = np.mean([rows[n, g]["load_eff1"] for n in names])
        line += f"; load efficiency at FIFO 1 {eff1:.2f} (suite mean)"
        pe = np.mean([rows[n, g]["pe_module_mw"] for n in names])
        line += f"; PE modules {pe:.3f} mW per PE (Table II {TABLE_II_PE_MW})"
        if args.speedup:
            sp = [rows[n, g]["speedup"] for n in names]
            line += f"; speedup 64 PEs over 1: {min(sp):.1f}-{max(sp):.1f}x (geomean {np.exp(np.mean(np.log(sp))):.1f}x)"
        print(line)
    print(f"EIE authors' simulator on the real fc8 with its activations (real_layers.json): FIFO 1 "
          f"{authors['fifo1_B2']:,} / FIFO 8 {authors['fifo8_B9']:,} cycles = "
          f"{authors['fifo1_B2'] / authors['fifo8_B9']:.3f}x; real fc8 row/col CV {fc8['row_cv']:.3f}/{fc8['col_cv']:.3f}, "
          f"PE max/mean on 64 PEs {fc8['pe64_max_mean']:.3f}; its load efficiency at FIFO 1 "
          f"{fc8['authors_simulator']['load_efficiency']['fifo1_B2']:.2f}. EIE section VI (Fig. 8): at FIFO 1 'around half "
          "of the total cycles are idle', diminishing returns beyond 8")


if __name__ == "__main__":
    main()
