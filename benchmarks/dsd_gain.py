"""DSD (Dense-Sparse-Dense, Han et al., ICLR 2017) against a fair baseline, over several seeds.

For each seed: train dense for EPOCHS at the learning rate (the short baseline, "dense"); then
(DSD) prune SPARSITY of each layer's weights by magnitude and train EPOCHS under the mask at the
same rate, restore the pruned weights at zero and train EPOCHS at a tenth of the rate; and
(the continued baseline) train a copy of the dense network through the same two phases without
the mask: the same total epochs, learning-rate schedule and shuffling seeds, which is what the
DSD paper compares against. Prints the test accuracy of every model and DSD's gain over both
baselines; the last line is the gain over continued training (mean, std, min, max).

Usage: python benchmarks/dsd_gain.py [--arch lenet300] [--dataset fashion-mnist] [--epochs 15]
       [--seeds 0 1 2] [--sparsity 0.3] [--lr 0.05] [--weight-decay 5e-4] [--dropout 0]
       [--train-limit N] [--log runs.jsonl]

``--log`` appends one JSON line per seed (the configuration and the four accuracies) under an
exclusive lock, and a rerun with the same configuration takes the seeds already logged from the
file instead of training them again, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import fcntl
import json
import time
from pathlib import Path

import numpy as np

from eie_sim.train.compress import TrainSettings, dsd, train
from eie_sim.train.data import load_dataset
from eie_sim.train.nn import build


def summary(name: str, gains: list[float]) -> str:
    g = np.array(gains)
    return (f"DSD gain over {name}: mean {g.mean():+.2f} points, std {g.std(ddof=1) if g.size > 1 else 0:.2f}, "
            f"min {g.min():+.2f}, max {g.max():+.2f} over {g.size} seeds")


def logged(path: Path | None, config: dict) -> dict[int, dict]:
    """Seed -> record of the runs of ``config`` already in the log ``path`` (JSON lines)."""
    if path is None or not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line) if line.strip() else None
        if rec and rec.get("config") == config:
            out[rec["seed"]] = rec
    return out


def append_log(path: Path, rec: dict) -> None:
    """Append ``rec`` as one JSON line, holding an exclusive lock so concurrent runs do not interleave."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(rec) + "\n")
        f.flush()


def continued_with_sparse_dropout(net, data, seed, dropout, sparsity, base, tenth) -> float:
    """Control for networks with dropout: ``net`` (the dense phase's network, trained) continued
    with the sparse phase's lower dropout in the second phase, D_o sqrt(1 - sparsity) (Deep
    Compression's rescaling, which DSD applies while the weights are masked), but no mask. The
    same seeds as :func:`dsd`'s later phases."""
    for d in net.dropouts():
        d.p = dropout * (1 - sparsity) ** 0.5
    train(net, data, base, seed=seed + 1)
    for d in net.dropouts():
        d.p = dropout
    train(net, data, tenth, seed=seed + 2)
    return net.accuracy(data.x_test, data.y_test)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="lenet300")
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--epochs", type=int, default=15, help="epochs of each phase")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--sparsity", type=float, default=0.3, help="fraction of each layer's weights removed")
    ap.add_argument("--weight-decay", type=float, default=5e-4, help="L2 weight decay of every phase")
    ap.add_argument("--dropout", type=float, default=0.0, help="dropout before each hidden layer's output")
    ap.add_argument("--train-limit", type=int, default=None, help="train on the first N training images only")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--dropout-control", action="store_true",
                    help="also train continued with the sparse phase's lower dropout and no mask (is the gain the dropout?)")
    ap.add_argument("--log", type=Path, default=None, help="JSON-lines file of finished seeds (appended; resumes)")
    args = ap.parse_args()
    config = {k: getattr(args, k) for k in ("arch", "dataset", "epochs", "lr", "sparsity", "weight_decay", "dropout", "train_limit")}
    if args.dropout_control:
        config["dropout_control"] = True
    done = logged(args.log, config)
    data = load_dataset(args.dataset)
    if args.train_limit:
        data = dataclasses.replace(data, x_train=data.x_train[: args.train_limit], y_train=data.y_train[: args.train_limit])
    base = TrainSettings(epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay)
    tenth = TrainSettings(epochs=args.epochs, lr=args.lr / 10, weight_decay=args.weight_decay)
    vs_cont, vs_short, vs_ctrl = [], [], []
    print(f"DSD on {args.arch} / {args.dataset} ({len(data.y_train):,} training images), dropout {args.dropout}, "
          f"weight decay {args.weight_decay:g}: "
          f"{args.epochs} epochs per phase, {100 * args.sparsity:.0f}% pruned in the sparse phase; continued = the dense "
          f"model trained {args.epochs} + {args.epochs} more epochs (the second at a tenth of the rate) without the mask")
    print(f"{'seed':>4} {'dense':>8} {'continued':>10} {'sparse':>8} {'DSD':>8} {'vs cont.':>9} {'vs dense':>9} {'seconds':>8}")
    for seed in args.seeds:
        t0 = time.perf_counter()
        if seed in done:
            acc, secs = done[seed]["accuracy"], done[seed]["seconds"]
        else:
            net = build(args.arch, np.random.default_rng(seed), data.n_features, data.n_classes, data.side, args.dropout)
            # the dense phase here (dsd's own, with its seed), so that the control can branch from it
            train(net, data, base, seed=seed)
            control = copy.deepcopy(net) if args.dropout_control else None
            acc = dsd(net, data, sparsity=args.sparsity, dense=dataclasses.replace(base, epochs=0), sparse=base,
                      redense=tenth, seed=seed, continued=True)
            if control is not None:
                acc["continued_sparse_dropout"] = continued_with_sparse_dropout(
                    control, data, seed, args.dropout, args.sparsity, base, tenth)
            secs = time.perf_counter() - t0
            if args.log is not None:
                append_log(args.log, {"config": config, "seed": seed, "accuracy": acc, "seconds": secs})
        vs_cont.append(100 * (acc["redense"] - acc["continued"]))
        vs_short.append(100 * (acc["redense"] - acc["dense"]))
        print(f"{seed:>4} {100 * acc['dense']:>8.2f} {100 * acc['continued']:>10.2f} {100 * acc['sparse']:>8.2f} "
              f"{100 * acc['redense']:>8.2f} {vs_cont[-1]:>+9.2f} {vs_short[-1]:>+9.2f} {secs:>8.0f}",
              flush=True)
        if "continued_sparse_dropout" in acc:
            vs_ctrl.append(100 * (acc["redense"] - acc["continued_sparse_dropout"]))
            print(f"     control: continued with the sparse phase's dropout, no mask {100 * acc['continued_sparse_dropout']:.2f}"
                  f" (DSD {vs_ctrl[-1]:+.2f})", flush=True)
    if vs_ctrl:
        print(summary("continued training with the sparse phase's dropout (control)", vs_ctrl))
    print(summary("the short dense baseline (fewer epochs: not a fair comparison)", vs_short))
    print(summary("continued training", vs_cont))


if __name__ == "__main__":
    main()
