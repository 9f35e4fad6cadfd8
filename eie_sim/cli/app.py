"""The ``eie-sim`` command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

from .. import __version__
from ..cycle import suite as benchmarks
from ..contract.codebook import check_weights, make_codebook, quantize
from ..config import ArchConfig, check_int
from ..cost.energy import get_table, scale_table
from ..cost.report import EnergyReport, energy_report
from ..errors import EIEError, EncodingError
from ..contract.examples import example_model
from ..contract.golden import reference_forward
from ..contract.model import Model, ModelLayer, load_model, save_model
from ..contract.info import format_info, model_info
from ..cycle.simulator import SimResult, simulate

__all__ = ["main", "build_parser"]


def _load_npy(path: str, what: str) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise EncodingError(f"{what}={path!r}: no such file")
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise EncodingError(f"{what}={path!r}: not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise EncodingError(f"{what}={path!r}: expected a .npy array, got an .npz archive")
    return arr


def _cmd_info(args) -> int:
    model = load_model(args.model)
    if args.pes is not None:
        check_int("--pes", args.pes, 1, 1 << 16)
    info = model_info(model, args.pes)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"{args.model}: {info['n_layers']} layer(s), {model.n_inputs} inputs -> {model.n_outputs} outputs")
        print(format_info(info))
    return 0


def _cmd_encode(args) -> int:
    w = check_weights(_load_npy(args.weights, "WEIGHTS"), name=f"WEIGHTS ({args.weights})")
    check_int("--weight-bits", args.weight_bits, 1, 8)
    check_int("--pes", args.pes, 1, 1 << 16)
    check_int("--index-bits", args.index_bits, 1, 8)
    cb = make_codebook(w, args.weight_bits, method=args.codebook)
    codes = quantize(w, cb)
    dense = ModelLayer(name=args.name, codebook=cb, codes=codes, index_bits=args.index_bits)
    enc = dense.compressed(args.pes, ptr_bits=args.ptr_bits)
    layer = ModelLayer(
        name=args.name, codebook=cb, encoded=enc,
        meta={"source": str(args.weights), "codebook": args.codebook},
    )
    save_model(Model(layers=(layer,), meta={"created_by": f"eie-sim {__version__} encode"}), args.out)
    info = model_info(load_model(args.out))
    lay = info["layers"][0]
    print(
        f"wrote {args.out}: {lay['shape'][0]}x{lay['shape'][1]}, density {100 * lay['density']:.2f}%, "
        f"{lay['n_pe']} PEs, {lay['padding_entries']} padding entries, "
        f"ratio EIE {lay['ratio_eie']:.1f}x, Deep Compression {lay['ratio_deep_compression']:.1f}x"
    )
    return 0


def _cmd_example(args) -> int:
    model = example_model(seed=args.seed)
    save_model(model, args.out)
    print(f"wrote {args.out}: {len(model.layers)} layers {[l.shape for l in model.layers]} (random weights, seed {args.seed})")
    return 0


def _cmd_golden(args) -> int:
    model = load_model(args.model)
    if args.input:
        x = _load_npy(args.input, "--input")
    else:
        rng = np.random.default_rng(args.seed)
        x = np.maximum(rng.normal(size=model.n_inputs), 0.0)
    res = reference_forward(model, x)
    out = {
        "output": res.output.tolist(),
        "output_fixed": res.output_fixed.tolist(),
        "layers": [
            {
                "name": lay.name,
                "act_format": [r.act_format.bits, r.act_format.frac],
                "w_format": [r.w_format.bits, r.w_format.frac],
                "out_format": [r.out_format.bits, r.out_format.frac],
                "acc_saturated": r.acc_saturated,
            }
            for lay, r in zip(model.layers, res.layers)
        ],
    }
    if args.json:
        print(json.dumps(out))
    else:
        for l in out["layers"]:
            print(
                f"{l['name']:<10} in Q{l['act_format'][0]}.{l['act_format'][1]}  weights Q{l['w_format'][0]}.{l['w_format'][1]}"
                f"  out Q{l['out_format'][0]}.{l['out_format'][1]}"
                + ("  (accumulator saturated)" if l["acc_saturated"] else "")
            )
        print("output:", np.array2string(res.output, precision=4, max_line_width=100))
        print("argmax:", int(np.argmax(res.output)))
    return 0


def _config_from_args(args, **overrides) -> ArchConfig:
    kw = {}
    for name in ("pes", "fifo_depth", "sram_width", "clock_mhz", "act_bits"):
        val = getattr(args, name, None)
        if val is not None:
            kw["n_pe" if name == "pes" else name] = val
    kw.update(overrides)
    return ArchConfig(**kw)


def _table_from_args(args):
    table = get_table(args.energy_table)
    if args.node_nm is not None or args.vdd is not None:
        table = scale_table(table, args.node_nm if args.node_nm is not None else table.node_nm, args.vdd)
    return table


def _format_energy(rep: EnergyReport) -> str:
    lines = [
        f"  energy/inference {rep.energy_pj / 1e6:,.3f} uJ ({rep.table})   power {rep.power_mw:,.1f} mW   "
        f"{rep.frames_per_s:,.0f} frames/s   {rep.frames_per_j:,.0f} frames/J   area {rep.area_mm2:,.2f} mm2",
        "  by module (uJ): " + ", ".join(f"{k} {v / 1e6:.3f}" for k, v in rep.by_module.items() if v),
        "  by level (uJ):  " + ", ".join(f"{k} {v / 1e6:.3f}" for k, v in rep.by_level.items()),
    ]
    if rep.baseline is not None:
        b = rep.baseline
        sv = b.savings
        lines.append(
            f"  dense fp32 from DRAM {b.dense_dram_pj / 1e6:,.1f} uJ; savings: SRAM instead of DRAM {sv['sram_instead_of_dram']:.1f}x, "
            f"pruning {sv['pruning']:.1f}x, weight sharing {sv['weight_sharing']:.1f}x, activation skipping "
            f"{sv['activation_skipping']:.1f}x; simulated EIE {sv['total_vs_dense_dram']:,.0f}x below dense DRAM"
        )
    return "\n".join(lines)


def _format_run(res: SimResult) -> str:
    c = res.counters
    cfg = res.config
    pp = res.per_pe
    lines = [
        f"{res.name}: {res.shape[0]}x{res.shape[1]} on {cfg.n_pe} PEs, FIFO depth {cfg.fifo_depth}, "
        f"{cfg.sram_width}-bit spmat words, {cfg.clock_mhz:g} MHz",
        f"  cycles {res.cycles:,}   latency {res.latency_us:,.2f} us   {res.gops:,.1f} GOP/s   "
        f"load efficiency {100 * res.load_efficiency:.1f}%",
        f"  entries stored {res.entries:,} (padding {res.padding_entries:,}); processed: real {c['macs_real']:,}, "
        f"padding {c['macs_padding']:,}; overhead cycles {c['overhead_cycles']:,}",
    ]
    for col, label in (("busy_cycles", "busy"), ("starved_cycles", "starved"), ("blocked_cycles", "blocking"),
                       ("entries_real", "real entries")):
        v = pp[col]
        lines.append(f"  per PE {label:<13} min {int(v.min()):>10,}  mean {v.mean():>12,.1f}  max {int(v.max()):>10,}")
    names = [k for k in c if k not in ("overhead_cycles",)]
    for i in range(0, len(names), 3):
        lines.append("  " + "   ".join(f"{k:<17} {c[k]:>13,}" for k in names[i : i + 3]))
    for n in res.notes:
        lines.append(f"  ! {n}")
    return "\n".join(lines)


def _cmd_run(args) -> int:
    target = args.target
    table = _table_from_args(args)
    if target in benchmarks.NAMES:
        b = benchmarks.get(target, seed=args.seed, scale=args.scale)
        x = _load_npy(args.input, "--input") if args.input else b.activations
        cfg = _config_from_args(args)
        res = simulate((b.codes, b.codebook), x, cfg)
        res = dataclasses.replace(res, name=target)
        results = [res]
        reports = [energy_report(res, table)]
    else:
        if not Path(target).is_file():
            raise EncodingError(f"{target!r}: neither a model file nor a benchmark ({', '.join(benchmarks.NAMES)})")
        model = load_model(target)
        wbits = {l.weight_bits for l in model.layers}
        if len(wbits) > 1:
            raise EncodingError(f"{target}: layers use weight_bits {sorted(wbits)}; the array has one codebook width")
        cfg = _config_from_args(args, weight_bits=wbits.pop(), index_bits=model.layers[0].index_bits)
        if args.input:
            x = _load_npy(args.input, "--input")
        else:
            x = np.maximum(np.random.default_rng(args.seed).normal(size=model.n_inputs), 0.0)
        res = simulate(model, x, cfg)
        results = list(res.layers)
        total_report = energy_report(res, table)
        reports = list(total_report.layers)
    if args.json:
        for r, rep in zip(results, reports):
            print(json.dumps({**r.to_dict(), **rep.to_dict()}))
    else:
        for r, rep in zip(results, reports):
            print(_format_run(r))
            print(_format_energy(rep))
        if len(results) > 1:
            print(f"total: {res.cycles:,} cycles, {res.latency_us:,.2f} us, load efficiency {100 * res.load_efficiency:.1f}%, "
                  f"{total_report.energy_pj / 1e6:,.3f} uJ, {total_report.power_mw:,.1f} mW, "
                  f"{total_report.frames_per_j:,.0f} frames/J")
    return 0


def _cmd_bench(args) -> int:
    names = args.layers.split(",") if args.layers else list(benchmarks.NAMES)
    cfg = _config_from_args(args)
    table = _table_from_args(args)
    rows = []
    for name in names:
        b = benchmarks.get(name, seed=args.seed, scale=args.scale)
        res = dataclasses.replace(simulate((b.codes, b.codebook), b.activations, cfg), name=name)
        rep = energy_report(res, table)
        rows.append((res, rep))
        if args.json:
            print(json.dumps({**res.to_dict(), **rep.to_dict()}), flush=True)
    if not args.json:
        head = (f"{'layer':<8} {'shape':>12} {'wd%':>5} {'ad%':>6} {'cycles':>9} {'latency_us':>10} {'GOP/s':>6} "
                f"{'load_eff':>8} {'pad%':>6} {'spmat_rd':>9} {'dram_B':>8} {'energy_uJ':>9} {'power_mW':>8} {'frames/J':>10}")
        print(f"EIE benchmark suite (Table III shapes and densities, seed {args.seed}) on {cfg.n_pe} PEs, "
              f"FIFO {cfg.fifo_depth}, {cfg.sram_width}-bit words, {cfg.clock_mhz:g} MHz, energy table {table.name}, "
              f"area {rows[0][1].area_mm2:.2f} mm2")
        print(head)
        print("-" * len(head))
        for r, rep in rows:
            n_in, n_out, wd, ad, _ = benchmarks.TABLE_III[r.name]
            c = r.counters
            pad = 100 * c["macs_padding"] / max(1, c["macs_real"] + c["macs_padding"])
            print(f"{r.name:<8} {r.shape[1]:>5}x{r.shape[0]:<6} {wd:>5.1f} {ad:>6.1f} {r.cycles:>9,} {r.latency_us:>10.2f} "
                  f"{r.gops:>6.1f} {r.load_efficiency:>8.3f} {pad:>6.2f} {c['spmat_sram_reads']:>9,} {c['dram_bytes']:>8,} "
                  f"{rep.energy_pj / 1e6:>9.3f} {rep.power_mw:>8.1f} {rep.frames_per_j:>10,.0f}")
        for r, _ in rows:
            for n in r.notes:
                print(f"! {r.name}: {n}")
    return 0


def _cmd_energy_table(args) -> int:
    args.energy_table = args.table
    table = _table_from_args(args)
    if args.toml:
        print(table.to_toml(), end="")
        return 0
    print(f"energy table {table.name} ({table.node_nm:g} nm, {table.vdd:g} V), stated at the EIE configuration")
    for k, c in table.energy_pj.items():
        print(f"  {k:<20} {c.value:>9.4f} pJ   {c.source}")
    for k, c in table.static_mw.items():
        print(f"  {k:<20} {c.value:>9.4f} mW   {c.source}")
    for n in table.notes:
        print(f"  note: {n}")
    return 0


def _cmd_compress(args) -> int:
    import shlex

    from ..train import compress as dc
    from ..train.data import load_dataset
    from ..train.nn import build

    data = load_dataset(args.dataset, args.data_dir)
    if args.limit_train:
        data = dataclasses.replace(data, x_train=data.x_train[: args.limit_train], y_train=data.y_train[: args.limit_train])
    if args.limit_test:
        data = dataclasses.replace(data, x_test=data.x_test[: args.limit_test], y_test=data.y_test[: args.limit_test])
    rng = np.random.default_rng(args.seed)
    net = build(args.arch, rng, data.n_features, data.n_classes, data.side, dropout=args.dropout)
    base = dc.TrainSettings(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, weight_decay=args.weight_decay)
    tenth = dataclasses.replace(base, lr=args.lr / 10)
    show = not args.quiet
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if show else (lambda *a: None)
    log(f"{args.arch} on {data.note}; seed {args.seed}")
    result = {"arch": args.arch, "dataset": args.dataset, "seed": args.seed}
    if args.dsd:
        phases = dc.dsd(net, data, sparsity=args.dsd_sparsity, dense=base, sparse=base, redense=tenth, seed=args.seed,
                        progress=show)
        result["dsd"] = phases
        log(f"DSD: dense {phases['dense']:.4f}, sparse {phases['sparse']:.4f}, re-dense {phases['redense']:.4f}")
        dense_acc = phases["redense"]
    else:
        dc.train(net, data, base, seed=args.seed, label="dense", progress=show)
        dense_acc = net.accuracy(data.x_test, data.y_test)
    log(f"dense test accuracy {dense_acc:.4f}")
    retrain = dataclasses.replace(tenth, epochs=args.retrain_epochs)
    if args.sparsity:
        dc.prune(net, data, sparsity=args.sparsity, rounds=args.prune_rounds, retrain=retrain, seed=args.seed, progress=show)
    else:
        dc.prune(net, data, quality=args.prune_quality, rounds=args.prune_rounds, retrain=retrain, seed=args.seed,
                 progress=show)
    pruned_acc = net.accuracy(data.x_test, data.y_test)
    log(f"pruned test accuracy {pruned_acc:.4f}")
    dc.share_weights(net, args.weight_bits, seed=args.seed)
    finetune = dataclasses.replace(tenth, epochs=args.finetune_epochs, weight_decay=0.0)
    dc.train(net, data, finetune, seed=args.seed + 100, label="codebook fine-tune", progress=show)
    final_acc = net.accuracy(data.x_test, data.y_test)
    report = dc.compression_report(net, args.index_bits, dense_acc, final_acc)
    result.update(dense_accuracy=dense_acc, pruned_accuracy=pruned_acc, compressed_accuracy=final_acc,
                  report=report.total, layers=report.rows.to_dict(orient="records"))
    print(report.to_text())
    if args.out:
        command = "eie-sim " + " ".join(shlex.quote(a) for a in args.argv)
        model = dc.export_model(net, data.x_train[:5000], name=Path(args.out).stem, index_bits=args.index_bits,
                                meta={"command": command, "dataset": args.dataset, "seed": args.seed,
                                      "report": report.total, "dense_accuracy": dense_acc,
                                      "compressed_float_accuracy": final_acc})
        save_model(model, args.out)
        print(f"wrote {args.out}")
    if args.json_report:
        Path(args.json_report).write_text(json.dumps(result, indent=2, default=float))
    return 0


def _cmd_eval(args) -> int:
    from ..train.compress import float_accuracy
    from ..train.data import load_dataset
    from ..contract.golden import reference_forward_batch

    model = load_model(args.model)
    data = load_dataset(args.dataset, args.data_dir)
    x, y = data.x_test, data.y_test
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    if x.shape[1] != model.n_inputs:
        raise EncodingError(f"{args.model} has {model.n_inputs} inputs but {args.dataset} images have {x.shape[1]} pixels")
    out = reference_forward_batch(model, x)
    acc = float((out.argmax(axis=1) == y).mean())
    facc = float_accuracy(model, x, y)
    res = {"accuracy": acc, "n_samples": int(len(y)), "float_accuracy": facc, "dataset": args.dataset,
           "model": str(args.model), "arithmetic": "bit-exact fixed-point golden model"}
    if args.simulate:
        wb = model.layers[0].weight_bits
        cfg = ArchConfig(n_pe=args.pes or 64, weight_bits=wb, index_bits=model.layers[0].index_bits)
        table = get_table(args.energy_table)
        k = min(args.simulate, len(y))
        sims = [simulate(model, x[i], cfg) for i in range(k)]
        reps = [energy_report(r, table) for r in sims]
        res["simulator_matches"] = bool(all(np.array_equal(r.output_fixed, out[i]) for i, r in enumerate(sims)))
        res["simulated_images"] = k
        res["n_pe"] = cfg.n_pe
        res["cycles_mean"] = float(np.mean([r.cycles for r in sims]))
        res["latency_us_mean"] = float(np.mean([r.latency_us for r in sims]))
        res["energy_pj_mean"] = float(np.mean([r.energy_pj for r in reps]))
        res["power_mw_mean"] = float(np.mean([r.power_mw for r in reps]))
        res["energy_table"] = table.name
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{args.model} on {args.dataset} test ({len(y)} images): accuracy {100 * acc:.2f}% (fixed-point golden model), "
              f"{100 * facc:.2f}% float compressed model ({100 * (acc - facc):+.2f} points)")
        if "simulator_matches" in res:
            print(f"cycle model on {res['n_pe']} PEs, first {res['simulated_images']} images: outputs equal the golden "
                  f"model's: {res['simulator_matches']}; per inference {res['cycles_mean']:,.0f} cycles, "
                  f"{res['latency_us_mean']:.2f} us, {res['energy_pj_mean'] / 1e6:.3f} uJ ({res['energy_table']}), "
                  f"{res['power_mw_mean']:.1f} mW")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="eie-sim",
        description="Co-design toolkit for EIE-style sparse neural-network accelerators.",
    )
    ap.add_argument("--version", action="version", version=f"eie-sim {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="summarise a model file: shapes, densities, padding, storage, compression")
    p.add_argument("model", metavar="MODEL_FILE")
    p.add_argument("--pes", type=int, default=None, help="re-encode for N PEs (default: as stored, or 64)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("encode", help="share and encode a float weight matrix (.npy) into a model file")
    p.add_argument("weights", metavar="WEIGHTS.npy", help="2-D float matrix, outputs x inputs")
    p.add_argument("--weight-bits", type=int, default=4)
    p.add_argument("--index-bits", type=int, default=4)
    p.add_argument("--ptr-bits", type=int, default=17)
    p.add_argument("--pes", type=int, default=64)
    p.add_argument("--codebook", choices=["kmeans", "linear"], default="kmeans")
    p.add_argument("--name", default="fc")
    p.add_argument("-o", "--out", required=True, metavar="FILE.npz")
    p.set_defaults(func=_cmd_encode)

    p = sub.add_parser("example", help="write the built-in example model (random LeNet-300-100-shaped MLP)")
    p.add_argument("-o", "--out", required=True, metavar="FILE.npz")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_example)

    def arch_args(p):
        p.add_argument("--pes", type=int, default=None, help="number of PEs (default 64)")
        p.add_argument("--fifo-depth", type=int, default=None, help="activation queue depth (default 8)")
        p.add_argument("--sram-width", type=int, default=None, help="spmat SRAM word width in bits (default 64)")
        p.add_argument("--clock-mhz", type=float, default=None, help="clock in MHz (default 800)")
        p.add_argument("--seed", type=int, default=0, help="seed of the generated benchmark layers and inputs")
        p.add_argument("--scale", type=float, default=1.0, help="shrink benchmark layers by this factor (0, 1]")
        p.add_argument("--json", action="store_true", help="one JSON object per layer")
        p.add_argument("--energy-table", default="eie45", metavar="eie45|horowitz45|FILE.toml",
                       help="energy table (default eie45, calibrated to EIE Table II)")
        p.add_argument("--node-nm", type=float, default=None, help="rescale the energy table to this node (nm)")
        p.add_argument("--vdd", type=float, default=None, help="rescale the energy table to this supply (V)")

    p = sub.add_parser("run", help="simulate a model file or a Table III layer on the PE array")
    p.add_argument("target", metavar="MODEL_FILE|BENCH_NAME", help=f"a model file or one of {', '.join(benchmarks.NAMES)}")
    p.add_argument("--input", metavar="ACTS.npy", help="input activations (default: the benchmark's, or seeded random)")
    arch_args(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("bench", help="simulate the whole EIE benchmark suite (Table III), one row per layer")
    p.add_argument("--layers", default=None, help="comma-separated subset of the suite")
    arch_args(p)
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("energy-table", help="print an energy table with the source of every figure")
    p.add_argument("table", nargs="?", default="eie45", metavar="eie45|horowitz45|FILE.toml")
    p.add_argument("--toml", action="store_true", help="print it as TOML, a starting point for your own")
    p.add_argument("--node-nm", type=float, default=None)
    p.add_argument("--vdd", type=float, default=None)
    p.set_defaults(func=_cmd_energy_table, energy_table=None)

    from ..train.data import DATASETS

    p = sub.add_parser("compress", help="train, prune, share weights and Huffman-code a network (Deep Compression, DSD)")
    p.add_argument("arch", metavar="{lenet300,lenet5,mlp:H1,H2,...}")
    p.add_argument("--dataset", default="fashion-mnist", choices=DATASETS)
    p.add_argument("--data-dir", default=None, help="folder of the Fashion-MNIST IDX files")
    p.add_argument("--dsd", action="store_true", help="train dense-sparse-dense before compressing")
    p.add_argument("--dsd-sparsity", type=float, default=0.3)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--prune-quality", type=float, nargs="+", default=[1.0], metavar="Q",
                   help="threshold = Q x std of a layer's weights (one value or one per layer)")
    g.add_argument("--sparsity", type=float, nargs="+", default=None, metavar="S",
                   help="fraction of weights removed (one value or one per layer)")
    p.add_argument("--prune-rounds", type=int, default=3)
    p.add_argument("--retrain-epochs", type=int, default=3, help="epochs of retraining per pruning round")
    p.add_argument("--finetune-epochs", type=int, default=3, help="epochs of codebook fine-tuning")
    p.add_argument("--weight-bits", type=int, nargs="+", default=[4], metavar="B")
    p.add_argument("--index-bits", type=int, default=4)
    p.add_argument("--epochs", type=int, default=20, help="dense training epochs (each DSD phase too)")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit-train", type=int, default=None, help="use only the first N training images")
    p.add_argument("--limit-test", type=int, default=None, help="use only the first N test images")
    p.add_argument("--out", metavar="models/NAME.npz", default=None)
    p.add_argument("--json-report", metavar="FILE.json", default=None)
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_compress)

    p = sub.add_parser("eval", help="test accuracy of a model file with the bit-exact fixed-point golden model")
    p.add_argument("model", metavar="MODEL_FILE")
    p.add_argument("--dataset", default="fashion-mnist", choices=DATASETS)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--limit", type=int, default=None, help="only the first N test images")
    p.add_argument("--simulate", type=int, default=0, metavar="K",
                   help="also run the first K images on the cycle model: check outputs, report cycles and energy")
    p.add_argument("--pes", type=int, default=None, help="PEs for --simulate (default 64)")
    p.add_argument("--energy-table", default="eie45", metavar="eie45|horowitz45|FILE.toml")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_eval)

    from .rtl import add_rtl_parser
    from .sweep import add_sweep_parsers

    add_rtl_parser(sub)
    add_sweep_parsers(sub)

    p = sub.add_parser("golden", help="run the bit-exact fixed-point golden model on one input")
    p.add_argument("model", metavar="MODEL_FILE")
    p.add_argument("--input", metavar="ACTS.npy", help="input vector (default: seeded random, post-ReLU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_golden)
    return ap


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except EIEError as exc:
        print(f"eie-sim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
