"""Balanced against unbalanced pruning: the shipped LeNet-300-100 and its load-balance-aware twin
(or any two models of the same network: ``--shipped A.npz --balanced B.npz``, e.g. the LSTMs).

For each model and PE count (default 8, 16, 64) this runs the project's own evaluation,
``eie-sim eval MODEL --simulate K --pes N --json`` (in process): test accuracy on all 10,000
Fashion-MNIST test images in the bit-exact fixed-point golden model; then the first K test
images, each simulated through the whole model on the cycle model (outputs checked against the
golden model), giving the mean cycles, mean load efficiency (entries processed / N / cycles per
inference), per-layer cycles and load efficiency, and the mean energy per inference under an
energy table (default ``eie45``: Table II powers calibrated on the suite's activity). The
compression ratio is the model's Deep Compression figure (``meta.report``: dense fp32 over
Huffman-coded weights and indices plus codebooks; the pruned + quantised ratio beside it).
The last column is the balanced model's cycles over the shipped model's at the same PE count.

Usage: python benchmarks/balance_table.py [--images 10000] [--pes 8 16 64] [--energy-table eie45]
       [--shipped models/lenet300-fashion.npz] [--balanced models/lenet300-fashion-balanced.npz] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
from pathlib import Path

from eie_sim import load_model
from eie_sim.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]


def evaluate(path: Path, n_pe: int, images: int, table: str) -> dict:
    """``eie-sim eval PATH --simulate IMAGES --pes N --energy-table TABLE --json`` as a dict."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli(["eval", str(path), "--simulate", str(images), "--pes", str(n_pe), "--energy-table", table, "--json"])
    if rc != 0:
        raise SystemExit(f"eie-sim eval {path} failed with exit status {rc}")
    return json.loads(out.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=10000, help="test images simulated per model and PE count (default: all)")
    ap.add_argument("--pes", type=int, nargs="+", default=[8, 16, 64])
    ap.add_argument("--energy-table", default="eie45")
    ap.add_argument("--shipped", type=Path, default=ROOT / "models" / "lenet300-fashion.npz")
    ap.add_argument("--balanced", type=Path, default=ROOT / "models" / "lenet300-fashion-balanced.npz")
    ap.add_argument("--json", action="store_true", help="also print every eval result as one JSON line")
    args = ap.parse_args()
    models = {"shipped": args.shipped, "balanced": args.balanced}
    rows = []
    t0 = time.perf_counter()
    for n_pe in args.pes:
        for label, path in models.items():
            m = load_model(path)
            ev = evaluate(path, n_pe, args.images, args.energy_table)
            rep = m.meta["report"]
            rows.append({"model": label, "file": path.name, "n_pe": n_pe, "accuracy": ev["accuracy"],
                         "ratio_huffman": rep["ratio_huffman"], "ratio_pruned_quantized": rep["ratio_pruned_quantized"],
                         "balance": m.meta.get("balance"), "eval": ev})
    print(f"Balanced vs unbalanced pruning (Fashion-MNIST): accuracy on 10,000 test images (bit-exact "
          f"fixed point); cycles, load efficiency and energy ({args.energy_table}) as means over the first "
          f"{rows[0]['eval']['simulated_images']} test images, each simulated through the whole model")
    for label, path in models.items():
        bal = next(r["balance"] for r in rows if r["model"] == label)
        print(f"  {label}: {path.name}" + (f" (pruned balanced for {bal['n_pe']} PEs, column groups of {bal['group']}"
                                           f"{', index-aware at %d bits' % bal['index_bits'] if bal['index_bits'] else ''})"
                                           if bal else " (ordinary magnitude pruning)"))
    names = [l["layer"] for l in rows[0]["eval"]["layers"]]
    widths = [max(len(n), 8) for n in names]
    ew = max(16, len("eff " + "/".join(names)))
    head = (f"{'model':<9} {'PEs':>4} {'acc %':>6} {'ratio':>6} {'P+Q':>6} {'load eff':>8} {'cycles':>9} "
            + " ".join(f"{n:>{w}}" for n, w in zip(names, widths))
            + f" {'eff ' + '/'.join(names):>{ew}} {'energy uJ':>9} {'bal/ship':>8}")
    print(head)
    print("-" * len(head))
    by = {(r["model"], r["n_pe"]): r for r in rows}
    for r in rows:
        ev = r["eval"]
        lay = ev["layers"]
        ratio = ""
        if r["model"] == "balanced":
            ratio = f"{ev['cycles_mean'] / by[('shipped', r['n_pe'])]['eval']['cycles_mean']:.3f}"
        effs = "/".join(f"{l['load_efficiency_mean']:.2f}" for l in lay)
        print(f"{r['model']:<9} {r['n_pe']:>4} {100 * r['accuracy']:>6.2f} {r['ratio_huffman']:>5.1f}x "
              f"{r['ratio_pruned_quantized']:>5.1f}x {ev['load_efficiency_mean']:>8.3f} {ev['cycles_mean']:>9.1f} "
              + " ".join(f"{l['cycles_mean']:>{w}.1f}" for l, w in zip(lay, widths))
              + f" {effs:>{ew}} {ev['energy_pj_mean'] / 1e6:>9.4f} {ratio:>8}")
        assert ev["simulator_matches"], f"{r['file']} on {r['n_pe']} PEs: cycle model differs from the golden model"
    print(f"ratio: Deep Compression's (Huffman); P+Q: pruned + quantised; load eff: entries processed / PEs / "
          f"cycles per inference; bal/ship: cycles of the balanced model over the shipped one. "
          f"{time.perf_counter() - t0:.0f} s")
    if args.json:
        for r in rows:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
