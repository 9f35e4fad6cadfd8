"""``eie-sim codesign``: search compression and PE-array parameters together (successive halving on Dask)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..errors import ConfigError
from .common import SEED, check_writable, comma_list, float_in, int_in, strict_json
from .vocabulary import add_deprecated, say

__all__ = ["add_parsers"]


def _balance(text: str) -> tuple:
    vals = []
    for tok in text.split(","):
        tok = tok.strip().lower()
        if tok not in ("on", "off"):
            raise ConfigError(f"--balance={text!r}: {tok!r}; expected off, on or off,on")
        vals.append(tok == "on")
    return tuple(vals)


def _space_search(args):
    from ..codesign import CodesignSpace, SearchSettings

    space = CodesignSpace(
        sparsity=None if not args.sparsity else tuple(tuple(comma_list("sparsity", s, float)) for s in args.sparsity),
        weight_bits=tuple(comma_list("weight-bits", args.weight_bits)), balance=_balance(args.balance),
        balance_pes=args.balance_pes, balance_group=args.balance_group, n_pe=tuple(comma_list("pes", args.pes)),
        fifo_depth=tuple(comma_list("fifo-depth", args.fifo_depth)), sram_width=tuple(comma_list("sram-width", args.sram_width)),
        index_bits=tuple(comma_list("index-bits", args.index_bits)))
    search = SearchSettings(
        candidates=args.candidates, eta=args.eta, epochs=tuple(comma_list("rung-epochs", args.rung_epochs)), prune_rounds=args.prune_rounds,
        budget_minutes=args.budget_minutes, simulate_images=args.simulate, validation=args.validation,
        dense_epochs=args.dense_epochs, dense_lr=args.dense_lr, lr=args.retrain_lr, finetune_lr=args.finetune_lr,
        seed=args.seed)
    return space, search


def _summary(res, args) -> dict:
    from ..codesign.report import design_text

    def brief(row):
        if row is None:
            return None
        keys = ("candidate", "rung", "accuracy", "accuracy_rank", "energy_pj", "latency_us", "area_mm2", "compression",
                "n_pe", "fifo_depth", "sram_width", "index_bits", "weight_bits", "sparsity", "balance_pes", "kept_pct")
        out = {k: row.get(k) for k in keys if k in row}
        if row.get("kind") == "candidate":
            out["design"] = design_text(row)
        return out

    best, ref = res.best, res.reference_row
    return {
        "out": str(args.out), "workdir": str(res.workdir), "wall_s": round(res.wall_s, 1), "stopped": res.stopped,
        "designs": int((res.results["kind"] == "candidate").sum()) if "kind" in res.results else 0,
        "dense_accuracy": res.dense_accuracy, "rungs": res.rungs,
        "best_rule": res.best_rule, "best": brief(best), "reference": brief(ref),
        "best_beats_reference": bool(best is not None and ref is not None and best["accuracy"] >= ref["accuracy"]
                                     and best["energy_pj"] < ref["energy_pj"]),
        "best_path": str(res.best_path) if res.best_path else None,
        "max_loss": res.max_loss, "best_compression": brief(res.best_compression),
        "front_energy": len(res.front_energy), "front_latency": len(res.front_latency),
        "figures": [str(p) for p in res.figures],
    }


def _markdown(res, s: dict) -> str:
    from ..codesign.report import front_table

    lines = [f"# Co-design search: {s['out']}", "",
             f"Wall time {s['wall_s']:.0f} s; {s['designs']} designs; dense accuracy {100 * s['dense_accuracy']:.2f}%"
             + (f"; stopped early: {s['stopped']}" if s["stopped"] else ""), "",
             "## Pareto front: accuracy against energy per inference", "", front_table(res.front_energy, "markdown"), "",
             "## Pareto front: accuracy against latency", "", front_table(res.front_latency, "markdown"), ""]
    return "\n".join(lines)


def _print_text(res, s: dict) -> None:
    from ..codesign.report import front_table

    for r in s["rungs"]:
        print(f"rung {r['rung']}: {r['candidates']} candidates ({r['resumed']} resumed, {r['trained']} trained), "
              f"{r['epochs']} epoch(s) per phase, {r['seconds']:.0f} s" +
              (f"; promoted {len(r['promoted'])}" if "promoted" in r else "") +
              (f" ({r['budget_cut']})" if "budget_cut" in r else ""))
    print(f"\nPareto front, accuracy against energy per inference ({len(res.front_energy)} designs):")
    print(front_table(res.front_energy))
    print(f"\nPareto front, accuracy against latency ({len(res.front_latency)} designs):")
    print(front_table(res.front_latency))
    b, ref = s["best"], s["reference"]
    print(f"\nchosen design ({s['best_rule']}):")
    if b:
        print(f"  {b['design']}: accuracy {100 * b['accuracy']:.2f}%, {b['energy_pj'] / 1e3:.1f} nJ, "
              f"{b['latency_us']:.3f} us, {b['area_mm2']:.2f} mm2, {b['compression']:.1f}x")
    if ref:
        print(f"  reference on the same hardware: accuracy {100 * ref['accuracy']:.2f}%, {ref['energy_pj'] / 1e3:.1f} nJ, "
              f"{ref['latency_us']:.3f} us; at least as accurate with lower energy: {s['best_beats_reference']}")
    if s["best_path"]:
        print(f"  saved to {s['best_path']}")
    bc = s["best_compression"]
    loss = f"<= {s['max_loss']:g} points below the dense {100 * s['dense_accuracy']:.2f}%"
    print(f"best compression {loss}: " + (f"{bc['compression']:.1f}x, accuracy {100 * bc['accuracy']:.2f}% "
                                          f"({bc['design']})" if bc else "none"))
    for p in s["figures"]:
        print(f"wrote {p}")
    print(f"wall time {s['wall_s']:.0f} s" + (f"; stopped early: {s['stopped']}" if s["stopped"] else ""))


def _cmd_codesign(args) -> int:
    from ..codesign import codesign

    space, search = _space_search(args)
    if args.save_best:
        check_writable(args.save_best, "--save-best", (".npz",))
    if args.table_out:
        check_writable(args.table_out, "--table-out", (".md",))
    t0 = time.monotonic()

    def log(text: str) -> None:
        if not args.quiet:
            print(f"[{time.monotonic() - t0:7.1f} s] {text}", file=sys.stderr, flush=True)

    figures = args.figures if args.figures is not None else str(Path(args.out).with_name(Path(args.out).stem + "-figures"))
    scheduler = "synchronous" if args.synchronous else args.scheduler
    if args.synchronous and args.scheduler:
        raise ConfigError(f"--synchronous with --scheduler={args.scheduler}: give one or the other")
    try:
        res = codesign(args.network, args.dataset, out=args.out, space=space, search=search, workdir=args.workdir,
                       reference=args.reference, save_best=args.save_best, figures=figures, max_loss=args.max_loss,
                       energy_table=args.energy_table, scheduler=scheduler, workers=args.workers, data_dir=args.data_dir,
                       progress=log, bar=not args.quiet)
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished designs are saved in {args.out}; rerun the same command to resume", file=sys.stderr)
        return 130
    s = _summary(res, args)
    if args.table_out:
        Path(args.table_out).write_text(_markdown(res, s))
    if args.json:
        print(strict_json(s))
    else:
        _print_text(res, s)
    return 0


def add_parsers(sub) -> None:
    from ..train.data import DATASETS

    p = sub.add_parser("codesign", help="search compression (sparsity, bits, balance) and PE array (PEs, FIFO, SRAM "
                                        "width) together: Pareto fronts of accuracy against energy and latency",
                       description="Successive halving over software candidates (each pruned, retrained, weight-shared "
                                   "and fine-tuned from the dense network, more epochs for the survivors), every "
                                   "trained candidate evaluated bit-exact on the test set and on every hardware point "
                                   "(cycle model on K test images, eie45 energy, area). Results stream to --out and "
                                   "resume. See eie_sim.codesign.")
    p.add_argument("network", metavar="NETWORK", help="lenet300, mlp:H1,H2,... (trained dense once), or a model file "
                                                      "(starts from its master weights, else its shared weights)")
    p.add_argument("--dataset", default="fashion-mnist", choices=DATASETS, help=say("--dataset", "training and test data"))
    p.add_argument("--data-dir", default=None, help=say("--data-dir"))
    p.add_argument("--out", required=True, metavar="FILE.parquet", help=say("--out", "the results file (one row per design); resumes"))
    p.add_argument("--workdir", default=None, metavar="DIR",
                   help=say("--workdir", "the dense network and candidate model files (default: OUT without extension + .work)"))
    g = p.add_argument_group("software grid (trained; values to search, comma-separated)")
    g.add_argument("--sparsity", nargs="+", default=None, metavar="S1,S2,...",
                   help=say("--sparsity", "values to search, comma-separated: one list for every layer, or one per layer "
                                          "(default: 0.85,0.9,0.93,0.95 per hidden layer, 0.5,0.7 for the last)"))
    g.add_argument("--weight-bits", default="3,4,5", metavar="B1,B2", help=say("--weight-bits", "values to search"))
    g.add_argument("--balance", default="off,on", metavar="off,on", help=say("--balance", "values to search: off, on or off,on"))
    g.add_argument("--balance-pes", type=int_in(1, 1 << 16), default=None, metavar="N",
                   help=say("--balance-pes", "default: the largest of --pes"))
    g.add_argument("--balance-group", type=int_in(1, 1 << 31), default=8, metavar="G",
                   help=say("--balance-group", "the EIE queue depth by default"))
    g = p.add_argument_group("hardware grid (every trained candidate on every point; values to search, comma-separated)")
    g.add_argument("--pes", default="8,16,32,64", metavar="N1,N2", help=say("--pes", "values to search"))
    g.add_argument("--fifo-depth", default="4,8", metavar="D1,D2", help=say("--fifo-depth", "values to search"))
    g.add_argument("--sram-width", default="32,64", metavar="W1,W2", help=say("--sram-width", "values to search"))
    g.add_argument("--index-bits", default="3,4", metavar="I1,I2", help=say("--index-bits", "values to search"))
    g = p.add_argument_group("search")
    g.add_argument("--candidates", type=int_in(1, 100000), default=48, help=say("--candidates"))
    g.add_argument("--eta", type=int_in(2, 1000), default=3, help=say("--eta"))
    g.add_argument("--rung-epochs", default="1,3,6", metavar="E0,E1,...",
                   help=say("--rung-epochs", "rung 0: per pruning round and fine-tuning"))
    add_deprecated(g, "codesign", "--epochs", metavar="E0,E1,...")
    g.add_argument("--prune-rounds", type=int_in(1, 100), default=3, help=say("--prune-rounds", "in rung 0"))
    g.add_argument("--budget-minutes", type=float_in(0, 1e6, lo_open=True), default=30.0, help=say("--budget-minutes"))
    g.add_argument("--simulate", type=int_in(1), default=32, metavar="K", help=say("--simulate", "per hardware point"))
    add_deprecated(g, "codesign", "--simulate-images", type=int_in(1), metavar="K")
    g.add_argument("--validation", type=int_in(0), default=0, metavar="N",
                   help=say("--validation", "0: rank on the test set"))
    g.add_argument("--dense-epochs", type=int_in(1, 10000), default=30, help=say("--dense-epochs"))
    g.add_argument("--dense-lr", type=float_in(0, 100, lo_open=True), default=0.05, help=say("--dense-lr"))
    g.add_argument("--retrain-lr", type=float_in(0, 100, lo_open=True), default=0.005, help=say("--retrain-lr"))
    add_deprecated(g, "codesign", "--lr", type=float_in(0, 100, lo_open=True))
    g.add_argument("--finetune-lr", type=float_in(0, 100, lo_open=True), default=0.001,
                   help=say("--finetune-lr", "a centroid moves by the sum of its weights' gradients"))
    g.add_argument("--seed", type=SEED, default=0, help=say("--seed", "the sample, the dense network and every candidate"))
    g = p.add_argument_group("outputs")
    g.add_argument("--reference", default=None, metavar="MODEL.npz",
                   help=say("--reference", "the chosen design must use less energy on the same point"))
    g.add_argument("--save-best", default=None, metavar="PATH.npz", help=say("--save-best", "with master weights"))
    g.add_argument("--figures", default=None, metavar="DIR", help=say("--figures", "default: OUT-figures"))
    g.add_argument("--max-loss", type=float_in(0, 100, hi_open=True), default=0.5,
                   help=say("--max-loss", "for the best-compression report"))
    g.add_argument("--table-out", default=None, metavar="FILE.md", help=say("--table-out", "both Pareto tables"))
    g.add_argument("--energy-table", default="eie45", metavar="eie45|horowitz45|FILE.toml", help=say("--energy-table"))
    g = p.add_argument_group("cluster")
    g.add_argument("--workers", type=int_in(1, 1024), default=None, help=say("--workers", "default: all cores"))
    g.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT", help=say("--scheduler"))
    g.add_argument("--synchronous", action="store_true", help=say("--synchronous"))
    p.add_argument("--json", action="store_true", help=say("--json", "the search's summary"))
    p.add_argument("--quiet", action="store_true", help=say("--quiet"))
    p.set_defaults(func=_cmd_codesign)
