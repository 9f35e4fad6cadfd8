"""The table of every DSD configuration in a ``dsd_gain.py --log`` file: one Markdown row per
configuration (its seeds pooled) with the mean test accuracies of the short dense baseline,
the continued baseline (same total epochs and schedule, no mask) and DSD, and DSD's gain
over continued training (mean, std, min, max over the seeds); with ``--dropout-control``, also
over continued training with the sparse phase's lower dropout and no mask.

Usage: python benchmarks/dsd_table.py runs.jsonl
"""

from __future__ import annotations

import json
import sys

import numpy as np


def rows(path: str) -> list[str]:
    by_config: dict[str, list[dict]] = {}
    for line in open(path):
        if line.strip():
            rec = json.loads(line)
            config = {k: v for k, v in rec["config"].items() if k != "dropout_control"}  # the same DSD runs
            by_config.setdefault(json.dumps(config, sort_keys=True), []).append(rec)
    out = ["| network | training images | epochs / phase | rate | weight decay | dropout | sparsity | seeds | dense % "
           "| continued % | DSD % | DSD - continued, points: mean (std) [min, max] | DSD - control, points |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for key, recs in by_config.items():
        c = json.loads(key)
        # one record per seed (a rerun logs nothing new), the one with the dropout control if any
        recs = list({r["seed"]: r for r in sorted(recs, key=lambda r: "continued_sparse_dropout" in r["accuracy"])}.values())
        acc = {k: 100 * np.array([r["accuracy"][k] for r in recs]) for k in ("dense", "continued", "redense")}
        gain = acc["redense"] - acc["continued"]
        std = gain.std(ddof=1) if gain.size > 1 else 0.0
        ctrl = [100 * (r["accuracy"]["redense"] - r["accuracy"]["continued_sparse_dropout"]) for r in recs
                if "continued_sparse_dropout" in r["accuracy"]]
        ctrl_txt = f"{np.mean(ctrl):+.2f} [{min(ctrl):+.2f}, {max(ctrl):+.2f}] ({len(ctrl)} seeds)" if ctrl else "-"
        images = f"{c['train_limit']:,}" if c["train_limit"] else "all"
        out.append(f"| {c['arch']} ({c['dataset']}) | {images} | {c['epochs']} | {c['lr']:g} | {c['weight_decay']:g} | {c['dropout']:g} "
                   f"| {c['sparsity']:g} | {len(recs)} | {acc['dense'].mean():.2f} | {acc['continued'].mean():.2f} "
                   f"| {acc['redense'].mean():.2f} | {gain.mean():+.2f} ({std:.2f}) [{gain.min():+.2f}, {gain.max():+.2f}] | {ctrl_txt} |")
    return out


if __name__ == "__main__":
    print("\n".join(rows(sys.argv[1] if len(sys.argv) > 1 else "runs.jsonl")))
