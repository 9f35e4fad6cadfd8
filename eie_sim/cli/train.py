"""Commands of the trainer: ``compress`` (Deep Compression, DSD) and ``eval`` (accuracy)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from ..config import ArchConfig
from ..contract.model import load_model, one_code_width, save_model
from ..cost.presets import get_table
from ..errors import ConfigError, EncodingError
from . import saturation as sat_report
from .common import SEED, add_config_args, refuse_given, check_writable, config_from_args, float_in, int_in, simulate_widening, strict_json


def add_balance_args(p) -> None:
    """--balance-pes, --balance-group, --balance-index-aware (compress and import)."""
    p.add_argument("--balance-pes", type=int_in(1, 1 << 16), default=None, metavar="N",
                   help="load-balance-aware pruning for N PEs: in each column group every PE (rows i %% N) keeps "
                        "the same number of weights")
    p.add_argument("--balance-group", type=int_in(1, 1 << 31), default=1, metavar="G",
                   help="columns per balanced group (default 1: every column; G >= inputs: equal totals per PE)")
    p.add_argument("--balance-index-aware", action="store_true",
                   help="count padding entries at --index-bits in the balanced count (index-aware pruning)")


def balance_args(args) -> dict:
    """prune()'s balance keywords from the flags ({} without --balance-pes); ConfigError when
    --balance-group or --balance-index-aware come without --balance-pes."""
    if args.balance_pes is None:
        if args.balance_group != 1 or args.balance_index_aware:
            flag = "--balance-index-aware" if args.balance_index_aware else f"--balance-group={args.balance_group}"
            raise ConfigError(f"{flag}: needs --balance-pes N (the PE count to balance for)")
        return {}
    return {"balance_pes": args.balance_pes, "balance_group": args.balance_group,
            "balance_index_bits": args.index_bits if args.balance_index_aware else None}


def balance_meta(balance: dict) -> dict:
    """The balance settings as recorded in a model's metadata and the JSON report."""
    return {"n_pe": balance["balance_pes"], "group": balance["balance_group"],
            "index_bits": balance["balance_index_bits"]}


def _cmd_compress(args) -> int:
    import shlex

    from ..contract.master import save_with_master
    from ..train import compress as dc
    from ..train.data import load_dataset
    from ..train.nn import build, mlp_hidden
    from ..train.pipeline import Recipe, export, run_recipe

    # everything that can be refused is refused before training
    if args.arch.startswith("mlp:"):
        mlp_hidden(args.arch)
    if args.out:
        check_writable(args.out, "--out", (".npz",))
    if args.json_report:
        check_writable(args.json_report, "--json-report", (".json",))
    balance = balance_args(args)
    if args.dsd_baseline and not args.dsd:
        raise ConfigError("--dsd-baseline: the baseline of DSD needs --dsd; got --dsd-baseline alone")
    if args.keep_master and (args.arch == "lenet5" or args.arch.startswith("lstm:") or not args.out):
        raise ConfigError(f"--keep-master: needs --out and a fully connected network (lenet300, mlp:...); got "
                          f"{args.arch}" + ("" if args.out else " without --out"))
    data = load_dataset(args.dataset, args.data_dir)
    if args.limit_train:
        data = dataclasses.replace(data, x_train=data.x_train[: args.limit_train], y_train=data.y_train[: args.limit_train])
    if args.limit_test:
        data = dataclasses.replace(data, x_test=data.x_test[: args.limit_test], y_test=data.y_test[: args.limit_test])
    if args.limit_train or args.limit_test:
        data = dataclasses.replace(data, note=f"{data.note}; used: {len(data.x_train):,} train / {len(data.x_test):,} test")
    rng = np.random.default_rng(args.seed)
    net = build(args.arch, rng, data.n_features, data.n_classes, data.side, dropout=args.dropout)
    base = dc.TrainSettings(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, weight_decay=args.weight_decay)
    tenth = dataclasses.replace(base, lr=args.lr / 10)
    show = not args.quiet
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if show else (lambda *a: None)
    log(f"{args.arch} on {data.note}; seed {args.seed}")
    result = {"arch": args.arch, "dataset": args.dataset, "seed": args.seed}
    if balance:
        result["balance"] = balance_meta(balance)
    if args.dsd:
        phases = dc.dsd(net, data, sparsity=args.dsd_sparsity, dense=base, sparse=base, redense=tenth, seed=args.seed,
                        progress=show, continued=args.dsd_baseline)
        result["dsd"] = phases
        log(f"DSD: dense {phases['dense']:.4f}, sparse {phases['sparse']:.4f}, re-dense {phases['redense']:.4f}"
            + (f"; continued training without the mask {phases['continued']:.4f} (DSD gain "
               f"{100 * (phases['redense'] - phases['continued']):+.2f} points)" if args.dsd_baseline else ""))
        dense_acc = phases["redense"]
    else:
        dc.train(net, data, base, seed=args.seed, label="dense", progress=show)
        dense_acc = net.accuracy(data.x_test, data.y_test)
    log(f"dense test accuracy {dense_acc:.4f}")
    how = {"sparsity": args.sparsity} if args.sparsity else {"quality": args.prune_quality}
    recipe = Recipe(**how, weight_bits=args.weight_bits, prune_rounds=args.prune_rounds, retrain_epochs=args.retrain_epochs,
                    finetune_epochs=args.finetune_epochs, lr=tenth.lr, finetune_lr=tenth.lr, weight_decay=args.weight_decay,
                    finetune_guard=False, batch_size=args.batch_size, seed=args.seed, **balance)
    res = run_recipe(net, data, recipe, progress=show, on_pruned=lambda acc: log(f"pruned test accuracy {acc:.4f}"))
    pruned_acc, final_acc = res.accuracy["pruned"], res.accuracy["compressed"]
    master = res.master if args.keep_master else None  # float weights and masks before sharing
    report = dc.compression_report(net, args.index_bits, dense_acc, final_acc)
    result.update(dense_accuracy=dense_acc, pruned_accuracy=pruned_acc, compressed_accuracy=final_acc,
                  report=report.total, layers=report.rows.to_dict(orient="records"))
    print(report.to_text())
    if args.out:
        command = "eie-sim " + " ".join(shlex.quote(a) for a in args.argv)
        meta = {"command": command, "dataset": args.dataset, "seed": args.seed, "report": report.total,
                "dense_accuracy": dense_acc, "compressed_float_accuracy": final_acc}
        if balance:
            meta["balance"] = result["balance"]
        model = export(net, data, name=Path(args.out).stem, index_bits=args.index_bits, meta=meta)
        if master is not None:
            save_with_master(model, args.out, master)
        else:
            save_model(model, args.out)
        print(f"wrote {args.out}" + (" (with master weights)" if master is not None else ""))
    if args.json_report:
        Path(args.json_report).write_text(strict_json(result, indent=2, default=float))
    return 0


def _cmd_eval(args) -> int:
    from ..train.compress import float_accuracy
    from ..train.data import load_dataset
    from ..contract.golden import reference_forward_batch
    from ..cost.report import energy_report
    from ..cycle.simulator import simulate

    if not args.simulate:
        refuse_given(args, [f"cfg_{n}" for n in ArchConfig.field_names()] + ["cfg_set"],
                     "architecture options apply to the cycle model only; add --simulate K")
        if args.energy_table is not None:
            raise ConfigError(f"--energy-table={args.energy_table}: the energy table applies to --simulate only; "
                              "add --simulate K")
    args.energy_table = args.energy_table or "eie45"
    model = load_model(args.model)
    recorded = model.meta.get("dataset")
    dataset = args.dataset or recorded or "fashion-mnist"
    if args.dataset and recorded and args.dataset != recorded and not args.force:
        raise EncodingError(f"--dataset={args.dataset}: {args.model} was trained on {recorded}; "
                            f"evaluate it there, or give --force to run it on {args.dataset} anyway")
    args.dataset = dataset
    data = load_dataset(dataset, args.data_dir)
    x, y = data.x_test, data.y_test
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    seq = model.meta.get("sequence") if model.is_sequence else None
    if seq and x.shape[1] != seq.get("steps", 0) * model.n_inputs:
        raise EncodingError(f"{args.model} reads {seq.get('steps')} steps of {model.n_inputs} inputs but {args.dataset} "
                            f"images have {x.shape[1]} pixels")
    if not model.is_sequence and x.shape[1] != model.n_inputs:
        raise EncodingError(f"{args.model} has {model.n_inputs} inputs but {args.dataset} images have {x.shape[1]} pixels")
    out, counts = reference_forward_batch(model, x, saturation=True)
    acc = float((out.argmax(axis=1) == y).mean())
    facc = float_accuracy(model, x, y)
    sat_doc, sat_pairs = sat_report.batch_summary(model, counts, ArchConfig().acc_bits)
    res = {"accuracy": acc, "n_samples": int(len(y)), "float_accuracy": facc,
           "dataset": args.dataset + (" (sequential: rows as steps)" if model.is_sequence else ""),
           "model": str(args.model), "arithmetic": "bit-exact fixed-point golden model", **sat_doc}
    sat_report.warn(sat_pairs, f" (summed over {len(y):,} test inputs)")
    if args.simulate:
        sim_model, widened = one_code_width(model)
        if widened:
            print(f"note: {args.model}: layers use weight_bits {widened}; the array has one code width, so it runs at "
                  f"{max(widened)} bits (narrower codebooks padded, no weight changed)", file=sys.stderr)
            res["simulated_weight_bits"] = max(widened)
        wb = sim_model.layers[0].weight_bits
        cfg, explicit_ptr = config_from_args(args, weight_bits=wb, index_bits=model.layers[0].index_bits)
        table = get_table(args.energy_table)
        k = min(args.simulate, len(y))
        shape = (-1, model.n_inputs) if model.is_sequence else (-1,)  # sequences: T x X per image
        first, cfg = simulate_widening(sim_model, x[0].reshape(shape), cfg, explicit_ptr, str(args.model))
        from ..progress import progress

        sims = [first] + [simulate(sim_model, x[i].reshape(shape), cfg)
                          for i in progress(range(1, k), desc="eval --simulate", unit="image")]
        reps = [energy_report(r, table) for r in sims]
        res["simulator_matches"] = bool(all(np.array_equal(r.output_fixed, out[i]) for i, r in enumerate(sims)))
        res["simulator_saturation_matches"] = bool(all(  # the cycle model's counts, per layer, equal the golden model's
            [s.total for _, s in sat_report.by_layer((l.name, l.saturation) for l in (r.layers or (r,)))]
            == counts[i].sum(axis=1).tolist() for i, r in enumerate(sims)))
        res["simulated_images"] = k
        res["n_pe"] = cfg.n_pe
        res["cycles_mean"] = float(np.mean([r.cycles for r in sims]))
        res["load_efficiency_mean"] = float(np.mean([r.load_efficiency for r in sims]))
        res["layers"] = _layer_means(sims, cfg.n_pe)
        res["latency_us_mean"] = float(np.mean([r.latency_us for r in sims]))
        res["energy_pj_mean"] = float(np.mean([r.energy_pj for r in reps]))
        res["power_mw_mean"] = float(np.mean([r.power_mw for r in reps]))
        res["energy_table"] = table.name
    if args.json:
        print(strict_json(res))
    else:
        print(f"{args.model} on {args.dataset} test ({len(y)} images): accuracy {100 * acc:.2f}% (fixed-point golden model), "
              f"{100 * facc:.2f}% float compressed model ({100 * (acc - facc):+.2f} points)")
        print(f"saturation: {res['saturated_samples']:,} of {len(y):,} test inputs "
              f"({100 * res['saturated_input_fraction']:.2f}%) clip somewhere"
              + ("" if not res["saturated_total"] else " (warnings on stderr)"))
        if "simulator_matches" in res:
            print(f"cycle model on {res['n_pe']} PEs, first {res['simulated_images']} images: outputs equal the golden "
                  f"model's: {res['simulator_matches']}; per inference {res['cycles_mean']:,.0f} cycles, "
                  f"{res['latency_us_mean']:.2f} us, {res['energy_pj_mean'] / 1e6:.3f} uJ ({res['energy_table']}), "
                  f"{res['power_mw_mean']:.1f} mW; load efficiency {res['load_efficiency_mean']:.3f}")
            for lay in res["layers"]:
                print(f"  {lay['layer']:<12} {lay['cycles_mean']:>10,.1f} cycles  load efficiency "
                      f"{lay['load_efficiency_mean']:.3f}  padding MACs {lay['padding_macs_mean']:,.1f}")
    return 0


def _layer_means(sims, n_pe: int) -> list[dict]:
    """Per layer, means over the simulated images: cycles, load efficiency (entries processed /
    n_pe / cycles of that layer) and padding MACs; an LSTM's steps (``name[t]``) count as one layer."""
    names, per = [], {}
    for k, sim in enumerate(sims):
        for r in sim.layers or (sim,):
            name = r.name.split("[")[0]
            if name not in per:
                names.append(name)
                per[name] = np.zeros((len(sims), 3))
            per[name][k] += (r.cycles, r.entries_processed, r.counters["macs_padding"])
    out = []
    for name in names:
        a = per[name]
        eff = np.divide(a[:, 1] / n_pe, a[:, 0], out=np.zeros(len(a)), where=a[:, 0] > 0)
        out.append({"layer": name, "cycles_mean": float(a[:, 0].mean()), "load_efficiency_mean": float(eff.mean()),
                    "padding_macs_mean": float(a[:, 2].mean())})
    return out


def add_parsers(sub) -> None:
    from ..train.data import DATASETS

    p = sub.add_parser("compress", help="train, prune, share weights and Huffman-code a network (Deep Compression, DSD)")
    p.add_argument("arch", metavar="{lenet300,lenet5,mlp:H1,H2,...}", help="network to train")
    p.add_argument("--dataset", default="fashion-mnist", choices=DATASETS, help="training and test data")
    p.add_argument("--data-dir", default=None, help="folder of the Fashion-MNIST IDX files")
    p.add_argument("--dsd", action="store_true",
                   help="train dense-sparse-dense before compressing (Han et al., ICLR 2017): --epochs dense at --lr, "
                        "--epochs with the --dsd-sparsity smallest weights of each layer masked (dropout rescaled), "
                        "--epochs with them restored at zero at a tenth of --lr. Against the same epochs of plain "
                        "training (--dsd-baseline) it gained nothing without dropout (LeNet-300-100 / Fashion-MNIST: "
                        "-0.01 points, 3 seeds; overfitting MLPs, LeNet-5, the LSTM: -0.2 to +0.04) and +0.3 points "
                        "with --dropout 0.5, most of which the lower dropout of its sparse phase gives without any "
                        "mask; models/README.md has the table of every setting tried")
    p.add_argument("--dsd-sparsity", type=float_in(0, 1, hi_open=True), default=0.3, help="fraction removed in the sparse phase of DSD")
    p.add_argument("--dsd-baseline", action="store_true",
                   help="with --dsd: also train a copy of the dense network for the same two later phases without "
                        "the mask (the fair baseline) and report its accuracy and DSD's gain over it")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--prune-quality", type=float_in(0, 100), nargs="+", default=[1.0], metavar="Q",
                   help="threshold = Q x std of a layer's weights (one value or one per layer)")
    g.add_argument("--sparsity", type=float_in(0, 1, hi_open=True), nargs="+", default=None, metavar="S",
                   help="fraction of weights removed (one value or one per layer)")
    p.add_argument("--prune-rounds", type=int_in(1, 100), default=3, help="prune -> retrain rounds")
    p.add_argument("--retrain-epochs", type=int_in(0, 10000), default=3, help="epochs of retraining per pruning round")
    p.add_argument("--finetune-epochs", type=int_in(0, 10000), default=3, help="epochs of codebook fine-tuning")
    p.add_argument("--weight-bits", type=int_in(1, 8), nargs="+", default=[4], metavar="B", help="shared-weight code width (one value or one per layer)")
    p.add_argument("--index-bits", type=int_in(1, 8), default=4, help="relative row index width, bits")
    add_balance_args(p)
    p.add_argument("--epochs", type=int_in(1, 10000), default=20, help="dense training epochs (each DSD phase too)")
    p.add_argument("--lr", type=float_in(0, 100, lo_open=True), default=0.05, help="learning rate (cosine schedule)")
    p.add_argument("--batch-size", type=int_in(1), default=128, help="mini-batch size")
    p.add_argument("--weight-decay", type=float_in(0, 1), default=5e-4, help="L2 weight decay")
    p.add_argument("--dropout", type=float_in(0, 1, hi_open=True), default=0.0, help="dropout rate of hidden layers")
    p.add_argument("--seed", type=SEED, default=0, help="seed of initialisation, shuffling and k-means")
    p.add_argument("--limit-train", type=int_in(1), default=None, help="use only the first N training images")
    p.add_argument("--limit-test", type=int_in(1), default=None, help="use only the first N test images")
    p.add_argument("--out", metavar="models/NAME.npz", default=None, help="write the compressed model here")
    p.add_argument("--json-report", metavar="FILE.json", default=None, help="write the compression report as JSON")
    p.add_argument("--keep-master", action="store_true",
                   help="also store the float weights and pruning masks before weight sharing in --out (re-clustering "
                        "and fine-tuning at other widths, codesign --from it; eie_sim.contract.master)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_compress)

    p = sub.add_parser("eval", help="test accuracy of a model file with the bit-exact fixed-point golden model")
    p.add_argument("model", metavar="MODEL_FILE", help="an eie-sim model file (.npz)")
    p.add_argument("--dataset", default=None, choices=DATASETS,
                   help="test data (default: the data set recorded in the model, else fashion-mnist)")
    p.add_argument("--force", action="store_true", help="evaluate on a data set other than the model's")
    p.add_argument("--data-dir", default=None, help="folder of the Fashion-MNIST IDX files")
    p.add_argument("--limit", type=int_in(1), default=None, help="only the first N test images")
    p.add_argument("--simulate", type=int_in(0), default=0, metavar="K",
                   help="also run the first K images on the cycle model: check outputs, report cycles, load efficiency "
                        "and energy (means over the K images, also per layer)")
    add_config_args(p)
    p.add_argument("--energy-table", default=None, metavar="eie45|horowitz45|FILE.toml",
                   help="energy table for --simulate (default eie45)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_eval)
