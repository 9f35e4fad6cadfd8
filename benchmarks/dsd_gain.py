"""DSD (Dense-Sparse-Dense, Han et al., ICLR 2017) against its dense baseline, over several seeds.

For each seed: train dense for EPOCHS (the baseline), prune 30% by magnitude per layer and train
EPOCHS under the mask, restore the pruned weights at zero and train EPOCHS at a tenth of the
learning rate. Prints the test accuracy after each phase and the gain of the final dense model
over the baseline, as mean and standard deviation over the seeds.

Usage: python benchmarks/dsd_gain.py [--arch lenet300] [--dataset fashion-mnist] [--epochs 15] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from eie_sim.train.compress import TrainSettings, dsd
from eie_sim.train.data import load_dataset
from eie_sim.train.nn import build


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="lenet300")
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--sparsity", type=float, default=0.3)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    data = load_dataset(args.dataset)
    base = TrainSettings(epochs=args.epochs, lr=args.lr)
    tenth = TrainSettings(epochs=args.epochs, lr=args.lr / 10)
    gains = []
    print(f"DSD on {args.arch} / {args.dataset}: {args.epochs} epochs per phase, {100 * args.sparsity:.0f}% pruned in the sparse phase")
    print(f"{'seed':>4} {'dense':>8} {'sparse':>8} {'re-dense':>9} {'gain_pts':>9} {'seconds':>8}")
    for seed in args.seeds:
        t0 = time.perf_counter()
        net = build(args.arch, np.random.default_rng(seed), data.n_features, data.n_classes, data.side)
        acc = dsd(net, data, sparsity=args.sparsity, dense=base, sparse=base, redense=tenth, seed=seed)
        gain = 100 * (acc["redense"] - acc["dense"])
        gains.append(gain)
        print(f"{seed:>4} {100 * acc['dense']:>8.2f} {100 * acc['sparse']:>8.2f} {100 * acc['redense']:>9.2f} "
              f"{gain:>+9.2f} {time.perf_counter() - t0:>8.0f}", flush=True)
    g = np.array(gains)
    print(f"DSD gain over the dense baseline: mean {g.mean():+.2f} points, std {g.std(ddof=1) if g.size > 1 else 0:.2f}, "
          f"min {g.min():+.2f}, max {g.max():+.2f} over {g.size} seeds")


if __name__ == "__main__":
    main()
