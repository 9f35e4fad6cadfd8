"""Granularity of load-balance-aware pruning: ordinary pruning against balanced pruning in groups of
G columns (1, 2, 8, all = equal totals per PE as in ESE) and index-aware at G = 1, all from one
dense LeNet-300-100.

The dense network is trained once as ``eie-sim compress lenet300 --dataset fashion-mnist --dense-epochs 30
--seed 0`` trains it; each variant then runs the compress pipeline from it (three prune/retrain
rounds at qualities 1.8 1.2 0, 3 epochs each at a tenth of the rate, 4-bit sharing, 3 epochs of
codebook fine-tuning), is exported like ``compress --out`` and measured: test accuracy in the
bit-exact fixed-point golden model, the Deep Compression ratio, and on the cycle model the mean
cycles and load efficiency over the first K test images. The G = 1 index-aware row is the shipped
``models/lenet300-fashion-balanced.npz``. About 1 s per epoch on two idle cores: ~3 min in all.

Usage: python benchmarks/balance_granularity.py [--pes 16] [--images 200] [--quality 1.8 1.2 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from eie_sim import ArchConfig, simulate
from eie_sim.contract.golden import reference_forward_batch
from eie_sim.train import compress as dc
from eie_sim.train.data import load_dataset
from eie_sim.train.nn import build


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pes", type=int, default=16, help="PEs to balance for and to simulate")
    ap.add_argument("--images", type=int, default=200, help="test images simulated per variant")
    ap.add_argument("--quality", type=float, nargs="+", default=[1.8, 1.2, 0.0])
    args = ap.parse_args()
    data = load_dataset("fashion-mnist")
    net = build("lenet300", np.random.default_rng(0), data.n_features, data.n_classes, data.side)
    base = dc.TrainSettings(epochs=30, lr=0.05)
    tenth = dataclasses.replace(base, lr=0.005)
    t0 = time.perf_counter()
    dc.train(net, data, base, seed=0)
    dense_acc = net.accuracy(data.x_test, data.y_test)
    dense = net.state()
    print(f"dense LeNet-300-100: {100 * dense_acc:.2f}% ({time.perf_counter() - t0:.0f} s); qualities {args.quality}, "
          f"{args.pes} PEs, cycles and load efficiency over the first {args.images} test images")
    n = args.pes
    variants = [("ordinary (unbalanced)", {}), (f"balanced, G = {data.n_features} (per-PE totals)",
                {"balance_pes": n, "balance_group": data.n_features}),
                ("balanced, G = 8", {"balance_pes": n, "balance_group": 8}),
                ("balanced, G = 2", {"balance_pes": n, "balance_group": 2}),
                ("balanced, G = 1", {"balance_pes": n}),
                ("balanced, G = 1, index-aware", {"balance_pes": n, "balance_index_bits": 4})]
    print(f"{'pruning':<36} {'acc %':>6} {'ratio':>6} {'load eff':>8} {'cycles':>8} {'fc1 cycles':>10} {'s':>4}")
    cfg = ArchConfig(n_pe=n)
    for label, balance in variants:
        t0 = time.perf_counter()
        net.load_state(dense)
        dc.prune(net, data, quality=args.quality, rounds=3, retrain=dataclasses.replace(tenth, epochs=3), seed=0, **balance)
        dc.share_weights(net, 4, seed=0)
        dc.train(net, data, dataclasses.replace(tenth, epochs=3, weight_decay=0.0), seed=100)
        rep = dc.compression_report(net, 4, dense_acc, net.accuracy(data.x_test, data.y_test))
        model = dc.export_model(net, data.x_train[:5000], name="variant", index_bits=4)
        acc = float((reference_forward_batch(model, data.x_test).argmax(axis=1) == data.y_test).mean())
        sims = [simulate(model, data.x_test[i], cfg) for i in range(args.images)]
        print(f"{label:<36} {100 * acc:>6.2f} {rep.total['ratio_huffman']:>5.1f}x "
              f"{np.mean([s.load_efficiency for s in sims]):>8.3f} {np.mean([s.cycles for s in sims]):>8.1f} "
              f"{np.mean([s.layers[0].cycles for s in sims]):>10.1f} {time.perf_counter() - t0:>4.0f}", flush=True)


if __name__ == "__main__":
    main()
