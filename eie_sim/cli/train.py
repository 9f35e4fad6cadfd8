"""Commands of the trainer: ``compress`` (Deep Compression, DSD) and ``eval`` (accuracy)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from ..config import ArchConfig
from ..contract.model import load_model, one_code_width, save_model
from ..errors import ConfigError, EncodingError
from . import saturation as sat_report
from .common import (SEED, add_config_args, add_energy_args, check_writable, config_from_args, float_in, int_in, refuse_given,
                     simulate_widening, strict_json, table_from_args)
from .vocabulary import add_deprecated, say


def add_balance_args(p) -> None:
    """--balance-pes, --balance-group, --balance-index-aware (compress and import)."""
    p.add_argument("--balance-pes", type=int_in(1, 1 << 16), default=None, metavar="N",
                   help=say("--balance-pes"))
    p.add_argument("--balance-group", type=int_in(1, 1 << 31), default=1, metavar="G",
                   help=say("--balance-group", "default 1: every column; G >= inputs: equal totals per PE"))
    p.add_argument("--balance-index-aware", action="store_true",
                   help=say("--balance-index-aware"))


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
    base = dc.TrainSettings(epochs=args.dense_epochs, lr=args.dense_lr, batch_size=args.batch_size,
                            weight_decay=args.weight_decay)
    tenth = dataclasses.replace(base, lr=args.dense_lr / 10)
    retrain_lr = args.retrain_lr if args.retrain_lr is not None else tenth.lr
    finetune_lr = args.finetune_lr if args.finetune_lr is not None else tenth.lr
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
                    finetune_epochs=args.finetune_epochs, lr=retrain_lr, finetune_lr=finetune_lr, weight_decay=args.weight_decay,
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
    from ..contract.golden import reference_forward_batch
    from ..train.compress import float_accuracy

    if not args.simulate:
        refuse_given(args, [f"cfg_{n}" for n in ArchConfig.field_names()] + ["cfg_set"],
                     "architecture options apply to the cycle model only; add --simulate K")
        refuse_given(args, ["energy_table", "node_nm", "vdd"], "the energy table applies to --simulate only; add --simulate K")
        refuse_given(args, ["input", "input_index"], "chooses the inputs of --simulate; add --simulate K")
    args.energy_table = args.energy_table or "eie45"
    model = load_model(args.model)
    x, y = _test_data(model, args)
    if args.limit_test:
        x, y = x[: args.limit_test], y[: args.limit_test]
    out, counts = reference_forward_batch(model, x, saturation=True)
    acc = float((out.argmax(axis=1) == y).mean())
    facc = float_accuracy(model, x, y)
    sat_doc, sat_pairs = sat_report.batch_summary(model, counts, ArchConfig().acc_bits)
    res = {"accuracy": acc, "n_samples": int(len(y)), "float_accuracy": facc,
           "dataset": args.dataset + (" (sequential: rows as steps)" if model.is_sequence else ""),
           "model": str(args.model), "arithmetic": "bit-exact fixed-point golden model", **sat_doc}
    sat_report.warn(sat_pairs, f" (summed over {len(y):,} test inputs)")
    if args.simulate:
        res.update(_simulate_images(model, args, x, out, counts))
    if args.json:
        print(strict_json(res))
    else:
        print(f"{args.model} on {args.dataset} test ({len(y)} images): accuracy {100 * acc:.2f}% (fixed-point golden model), "
              f"{100 * facc:.2f}% float compressed model ({100 * (acc - facc):+.2f} points)")
        print(f"saturation: {res['saturated_samples']:,} of {len(y):,} test inputs "
              f"({100 * res['saturated_input_fraction']:.2f}%) clip somewhere"
              + ("" if not res["saturated_total"] else " (warnings on stderr)"))
        if "simulator_matches" in res:
            print(f"cycle model on {res['n_pe']} PEs, {res['simulated_inputs']}: outputs equal the golden "
                  f"model's: {res['simulator_matches']}; per inference {res['cycles_mean']:,.0f} cycles, "
                  f"{res['latency_us_mean']:.2f} us, {res['energy_pj_mean'] / 1e6:.3f} uJ ({res['energy_table']}), "
                  f"{res['power_mw_mean']:.1f} mW; load efficiency {res['load_efficiency_mean']:.3f}")
            for lay in res["layers"]:
                print(f"  {lay['layer']:<12} {lay['cycles_mean']:>10,.1f} cycles  load efficiency "
                      f"{lay['load_efficiency_mean']:.3f}  padding MACs {lay['padding_macs_mean']:,.1f}")
    return 0


def _test_data(model, args) -> tuple[np.ndarray, np.ndarray]:
    """(test inputs, labels) of eval: --data FILE.npz, else --dataset or the model's data set;
    sets ``args.dataset`` to what is named in the output."""
    from ..train.data import load_dataset

    recorded = model.meta.get("dataset")
    n_out = model.layers[-1].n_out
    if args.data:
        from ..io.pipeline import load_data_file

        steps = int(model.meta.get("sequence", {}).get("steps", 1)) if model.is_sequence else 1
        data = load_data_file(args.data, steps * model.n_inputs, n_out)
        args.dataset = f"{args.data} ({data.note.split(': ', 1)[-1]})"
        return data.x_test, data.y_test
    dataset = args.dataset or recorded or "fashion-mnist"
    if args.dataset and recorded and args.dataset != recorded and not args.force:
        raise EncodingError(f"--dataset={args.dataset}: {args.model} was trained on {recorded}; "
                            f"evaluate it there, or give --force to run it on {args.dataset} anyway")
    args.dataset = dataset
    data = load_dataset(dataset, args.data_dir)
    x, y = data.x_test, data.y_test
    seq = model.meta.get("sequence") if model.is_sequence else None
    if seq and x.shape[1] != seq.get("steps", 0) * model.n_inputs:
        raise EncodingError(f"{args.model} reads {seq.get('steps')} steps of {model.n_inputs} inputs but {args.dataset} "
                            f"images have {x.shape[1]} pixels")
    if not model.is_sequence and x.shape[1] != model.n_inputs:
        raise EncodingError(f"{args.model} has {model.n_inputs} inputs but {args.dataset} images have {x.shape[1]} pixels")
    return x, y


def _simulated_inputs(model, args, x, out, counts) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(inputs, their golden outputs, their saturation counts, what they are) for --simulate K:
    K rows of --input FILE.npy, else K test images from --input-index S (default 0)."""
    from ..contract.golden import reference_forward_batch
    from ..contract.arrays import load_npy

    k = args.simulate
    if args.input:
        if args.input_index is not None:
            raise ConfigError(f"--input-index={args.input_index} with --input={args.input}: give one of them")
        xs = load_npy(args.input, "--input").astype(np.float64)
        n = x.shape[1]
        if xs.size == 0 or xs.size % n:
            raise ConfigError(f"--input={args.input}: {xs.size} values; expected rows of {n} ({args.model}'s inputs"
                              + (", steps x inputs per sequence" if model.is_sequence else "") + ")")
        xs = xs.reshape(-1, n)[:k]
        gold, gcounts = reference_forward_batch(model, xs, saturation=True)
        return xs, gold, gcounts, f"{len(xs)} input(s) of {args.input}"
    s = args.input_index or 0
    if s >= len(x):
        raise ConfigError(f"--input-index={s}: expected a test image index in [0, {len(x) - 1}]")
    xs = x[s: s + k]
    what = f"test images {s}..{s + len(xs) - 1}" if s else f"first {len(xs)} images"
    return xs, out[s: s + k], counts[s: s + k], what


def _simulate_images(model, args, x, out, counts) -> dict:
    """eval --simulate: the inputs on the cycle model, outputs and saturation counts checked
    against the golden model's; means of cycles, latency, load efficiency and energy."""
    from ..cost.report import energy_report
    from ..cycle.simulator import simulate
    from ..progress import progress

    res = {}
    sim_model, widened = one_code_width(model)
    if widened:
        print(f"note: {args.model}: layers use weight_bits {widened}; the array has one code width, so it runs at "
              f"{max(widened)} bits (narrower codebooks padded, no weight changed)", file=sys.stderr)
        res["simulated_weight_bits"] = max(widened)
    wb = sim_model.layers[0].weight_bits
    cfg, explicit_ptr = config_from_args(args, weight_bits=wb, index_bits=model.layers[0].index_bits)
    table = table_from_args(args)
    xs, gold, gcounts, what = _simulated_inputs(model, args, x, out, counts)
    shape = (-1, model.n_inputs) if model.is_sequence else (-1,)  # sequences: T x X per image
    first, cfg = simulate_widening(sim_model, xs[0].reshape(shape), cfg, explicit_ptr, str(args.model))
    sims = [first] + [simulate(sim_model, xs[i].reshape(shape), cfg)
                      for i in progress(range(1, len(xs)), desc="eval --simulate", unit="image",
                                       enabled=not args.quiet)]
    reps = [energy_report(r, table) for r in sims]
    res["simulator_matches"] = bool(all(np.array_equal(r.output_fixed, gold[i]) for i, r in enumerate(sims)))
    res["simulator_saturation_matches"] = bool(all(  # the cycle model's counts, per layer, equal the golden model's
        [s.total for _, s in sat_report.by_layer((l.name, l.saturation) for l in (r.layers or (r,)))]
        == gcounts[i].sum(axis=1).tolist() for i, r in enumerate(sims)))
    res["simulated_images"] = len(sims)
    res["simulated_inputs"] = what
    res["n_pe"] = cfg.n_pe
    res["cycles_mean"] = float(np.mean([r.cycles for r in sims]))
    res["load_efficiency_mean"] = float(np.mean([r.load_efficiency for r in sims]))
    res["layers"] = _layer_means(sims, cfg.n_pe)
    res["latency_us_mean"] = float(np.mean([r.latency_us for r in sims]))
    res["energy_pj_mean"] = float(np.mean([r.energy_pj for r in reps]))
    res["power_mw_mean"] = float(np.mean([r.power_mw for r in reps]))
    res["energy_table"] = table.name
    return res


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
    p.add_argument("--dataset", default="fashion-mnist", choices=DATASETS, help=say("--dataset", "training and test data"))
    p.add_argument("--data-dir", default=None, help=say("--data-dir"))
    p.add_argument("--dsd", action="store_true",
                   help=say("--dsd", "--dense-epochs dense at --dense-lr, --dense-epochs with the --dsd-sparsity "
                                     "smallest weights of each layer masked (dropout rescaled), --dense-epochs with them "
                                     "restored at zero at a tenth of --dense-lr. Against the same epochs of plain "
                                     "training (--dsd-baseline) it gained nothing without dropout (LeNet-300-100 / "
                                     "Fashion-MNIST: -0.01 points, 3 seeds; overfitting MLPs, LeNet-5, the LSTM: -0.2 to "
                                     "+0.04) and +0.3 points with --dropout 0.5, most of which the lower dropout of its "
                                     "sparse phase gives without any mask; models/README.md has the table of every "
                                     "setting tried"))
    p.add_argument("--dsd-sparsity", type=float_in(0, 1, hi_open=True), default=0.3, help=say("--dsd-sparsity"))
    p.add_argument("--dsd-baseline", action="store_true",
                   help=say("--dsd-baseline", "the fair baseline; reports its accuracy and DSD's gain over it"))
    g = p.add_mutually_exclusive_group()
    g.add_argument("--prune-quality", type=float_in(0, 100), nargs="+", default=[1.0], metavar="Q",
                   help=say("--prune-quality", "one value or one per layer"))
    g.add_argument("--sparsity", type=float_in(0, 1, hi_open=True), nargs="+", default=None, metavar="S",
                   help=say("--sparsity", "one value or one per layer"))
    p.add_argument("--prune-rounds", type=int_in(1, 100), default=3, help=say("--prune-rounds"))
    p.add_argument("--retrain-epochs", type=int_in(0, 10000), default=3, help=say("--retrain-epochs"))
    p.add_argument("--finetune-epochs", type=int_in(0, 10000), default=3, help=say("--finetune-epochs"))
    p.add_argument("--weight-bits", type=int_in(1, 8), nargs="+", default=[4], metavar="B",
                   help=say("--weight-bits", "one value or one per layer"))
    p.add_argument("--index-bits", type=int_in(1, 8), default=4, help=say("--index-bits"))
    add_balance_args(p)
    p.add_argument("--dense-epochs", type=int_in(1, 10000), default=20, help=say("--dense-epochs", "each DSD phase too"))
    add_deprecated(p, "compress", "--epochs", type=int_in(1, 10000))
    p.add_argument("--dense-lr", type=float_in(0, 100, lo_open=True), default=0.05, help=say("--dense-lr", "cosine schedule"))
    add_deprecated(p, "compress", "--lr", type=float_in(0, 100, lo_open=True))
    p.add_argument("--retrain-lr", type=float_in(0, 100, lo_open=True), default=None,
                   help=say("--retrain-lr", "default: a tenth of --dense-lr"))
    p.add_argument("--finetune-lr", type=float_in(0, 100, lo_open=True), default=None,
                   help=say("--finetune-lr", "default: a tenth of --dense-lr"))
    p.add_argument("--batch-size", type=int_in(1), default=128, help=say("--batch-size"))
    p.add_argument("--weight-decay", type=float_in(0, 1), default=5e-4, help=say("--weight-decay"))
    p.add_argument("--dropout", type=float_in(0, 1, hi_open=True), default=0.0, help=say("--dropout"))
    p.add_argument("--seed", type=SEED, default=0, help=say("--seed", "initialisation, shuffling and k-means"))
    p.add_argument("--limit-train", type=int_in(1), default=None, help=say("--limit-train"))
    p.add_argument("--limit-test", type=int_in(1), default=None, help=say("--limit-test"))
    p.add_argument("--out", metavar="models/NAME.npz", default=None, help=say("--out", "the compressed model"))
    p.add_argument("--json-report", metavar="FILE.json", default=None, help=say("--json-report", "the compression report"))
    p.add_argument("--keep-master", action="store_true",
                   help=say("--keep-master", "re-clustering and fine-tuning at other widths (sweep --model), codesign "
                                             "from it; eie_sim.contract.master"))
    p.add_argument("--quiet", action="store_true", help=say("--quiet"))
    p.set_defaults(func=_cmd_compress)

    p = sub.add_parser("eval", help="test accuracy of a model file with the bit-exact fixed-point golden model")
    p.add_argument("model", metavar="MODEL_FILE", help="an eie-sim model file (.npz)")
    d = p.add_mutually_exclusive_group()
    d.add_argument("--dataset", default=None, choices=DATASETS,
                   help=say("--dataset", "test data (default: the data set recorded in the model, else fashion-mnist)"))
    d.add_argument("--data", metavar="FILE.npz", default=None,
                   help=say("--data", "test data: arrays x_test, y_test (else x, y), one sample per row"))
    p.add_argument("--force", action="store_true", help=say("--force"))
    p.add_argument("--data-dir", default=None, help=say("--data-dir"))
    p.add_argument("--limit-test", type=int_in(1), default=None, help=say("--limit-test"))
    add_deprecated(p, "eval", "--limit", type=int_in(1))
    p.add_argument("--simulate", type=int_in(0), default=0, metavar="K",
                   help=say("--simulate", "K of them (default 0: none), outputs checked against the golden model; "
                                          "reports cycles, load efficiency and energy (means over the K, also per "
                                          "layer)"))
    p.add_argument("--input-index", type=int_in(0), default=None, metavar="K",
                   help=say("--input-index", "with --simulate: the first image simulated (default 0)"))
    p.add_argument("--input", default=None, metavar="ACTS.npy",
                   help=say("--input", "with --simulate: simulate these inputs instead of test images (one per row; "
                                       "their outputs are checked against the golden model)"))
    add_config_args(p)
    add_energy_args(p, default=None, detail="for --simulate (default eie45)")
    p.add_argument("--json", action="store_true", help=say("--json"))
    p.add_argument("--quiet", action="store_true", help=say("--quiet"))
    p.set_defaults(func=_cmd_eval)
