"""Train and compress the shipped LSTM (models/lstm-fashion.npz) on sequential Fashion-MNIST.

The steps are those of ``eie-sim compress lstm:128 --dataset fashion-mnist --dense-epochs 25 --dense-lr 0.3
--sparsity 0.9 --prune-rounds 4 --retrain-epochs 3 --finetune-epochs 3 --weight-bits 4``, with a
checkpoint (``build/lstm-fashion.ckpt.npz``, the network's parameters) after the codebook fine-tuning
so that the export can be redone (``--export-only``) without retraining. Run single-threaded
BLAS (``OPENBLAS_NUM_THREADS=1``): the LSTM's small matrix products run 3-8x slower on two threads.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python models/train_lstm_fashion.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eie_sim.contract.model import save_model  # noqa: E402
from eie_sim.train import compress as dc  # noqa: E402
from eie_sim.train.data import load_dataset  # noqa: E402
from eie_sim.train.lstm import export_lstm_model, lstm_classifier  # noqa: E402


def save_ckpt(net, path: Path) -> None:
    arrays = {}
    for li, layer in enumerate(net.layers):
        for pn, p in layer.params.items():
            arrays[f"{li}.{pn}.value"] = p.value
            if p.codes is not None:
                arrays[f"{li}.{pn}.codes"] = p.codes
                arrays[f"{li}.{pn}.codebook"] = p.codebook
    np.savez(path, **arrays)


def load_ckpt(net, path: Path) -> None:
    with np.load(path, allow_pickle=False) as z:
        for li, layer in enumerate(net.layers):
            for pn, p in layer.params.items():
                p.value = z[f"{li}.{pn}.value"]
                if f"{li}.{pn}.codes" in z.files:
                    p.codes = z[f"{li}.{pn}.codes"]
                    p.codebook = z[f"{li}.{pn}.codebook"]
                    p.mask = (p.codes != 0).astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--lr", type=float, default=0.3)
    ap.add_argument("--sparsity", type=float, nargs="+", default=[0.9])
    ap.add_argument("--prune-rounds", type=int, default=4)
    ap.add_argument("--retrain-epochs", type=int, default=3)
    ap.add_argument("--finetune-epochs", type=int, default=3)
    ap.add_argument("--finetune-lr", type=float, default=None,
                    help="learning rate of the codebook fine-tuning (default: lr / 10); a centroid's step sums the "
                         "gradients of all its weights, so the LSTM's shared codebook wants a small one")
    ap.add_argument("--weight-bits", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "models/lstm-fashion.npz"))
    ap.add_argument("--report", default=str(ROOT / "models/lstm-fashion.report.json"))
    ap.add_argument("--ckpt", default=str(ROOT / "build/lstm-fashion.ckpt.npz"))
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--balance-pes", type=int, default=None,
                    help="load-balance-aware pruning for N PEs (eie_sim.train.balance; the gate matrix by the unit-local mapping)")
    ap.add_argument("--balance-group", type=int, default=1, help="columns per balanced group (default 1)")
    ap.add_argument("--balance-index-aware", action="store_true", help="count 4-bit padding entries in the balanced count")
    args = ap.parse_args()
    balance = {}
    if args.balance_pes is not None:
        balance = {"balance_pes": args.balance_pes, "balance_group": args.balance_group,
                   "balance_index_bits": 4 if args.balance_index_aware else None}
    data = load_dataset("fashion-mnist")
    net = lstm_classifier(np.random.default_rng(args.seed), 28, 28, args.hidden, data.n_classes)
    ckpt = Path(args.ckpt)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    hist_path = ckpt.with_suffix(".json")
    if not args.export_only:
        base = dc.TrainSettings(epochs=args.epochs, lr=args.lr)
        t0 = time.perf_counter()
        h_dense = dc.train(net, data, base, seed=args.seed, label="dense", progress=True)
        dense_acc = net.accuracy(data.x_test, data.y_test)
        retrain = dc.TrainSettings(epochs=args.retrain_epochs, lr=args.lr / 10)
        dc.prune(net, data, sparsity=args.sparsity, rounds=args.prune_rounds, retrain=retrain, seed=args.seed, progress=True,
                 **balance)
        pruned_acc = net.accuracy(data.x_test, data.y_test)
        dc.share_weights(net, args.weight_bits, seed=args.seed)
        shared_acc = net.accuracy(data.x_test, data.y_test)
        fine_lr = args.lr / 10 if args.finetune_lr is None else args.finetune_lr
        fine = dc.TrainSettings(epochs=args.finetune_epochs, lr=fine_lr, weight_decay=0.0)
        dc.train(net, data, fine, seed=args.seed + 100, label="codebook fine-tune", progress=True)
        final_acc = net.accuracy(data.x_test, data.y_test)
        save_ckpt(net, ckpt)
        hist = {"dense_accuracy": dense_acc, "pruned_accuracy": pruned_acc, "shared_accuracy_before_finetune": shared_acc,
                "compressed_accuracy": final_acc, "seconds_total": time.perf_counter() - t0,
                "seconds_per_dense_epoch": float(np.mean([r["seconds"] for r in h_dense])), "dense_history": h_dense}
        hist_path.write_text(json.dumps(hist, indent=2))
    else:
        load_ckpt(net, ckpt)
        hist = json.loads(hist_path.read_text())
    report = dc.compression_report(net, 4, hist["dense_accuracy"], hist["compressed_accuracy"])
    print(report.to_text())
    command = "OPENBLAS_NUM_THREADS=1 python models/train_lstm_fashion.py " + " ".join(
        a for a in sys.argv[1:] if a != "--export-only")
    model = export_lstm_model(net, data.x_train[:5000], name=Path(args.out).stem, meta={
        "command": command.strip(), "dataset": "fashion-mnist", "sequential": True, "seed": args.seed,
        "report": report.total, "dense_accuracy": hist["dense_accuracy"],
        "compressed_float_accuracy": hist["compressed_accuracy"],
        **({"balance": {"n_pe": args.balance_pes, "group": args.balance_group,
                        "index_bits": balance["balance_index_bits"]}} if balance else {})})
    save_model(model, args.out)
    result = {"arch": f"lstm:{args.hidden}", "dataset": "fashion-mnist (sequential: 28 steps of 28 pixels)",
              "seed": args.seed, "command": command.strip(), **{k: v for k, v in hist.items() if k != "dense_history"},
              "dense_history": hist["dense_history"], "report": report.total,
              "layers": report.rows.to_dict(orient="records")}
    Path(args.report).write_text(json.dumps(result, indent=2, default=float))
    print(f"wrote {args.out} and {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
