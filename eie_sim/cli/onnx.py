"""Commands that bring networks in and out through ONNX: ``import`` and ``export``."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import numpy as np

from ..contract.model import load_model, save_model
from ..errors import ConfigError
from .common import SEED, check_writable, float_in, int_in
from .train import add_balance_args
from .vocabulary import add_deprecated, say


def _io():
    """:mod:`eie_sim.io`, or a one-line error naming the extra to install."""
    try:
        from .. import io
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("onnx", "onnxruntime", "google"):
            raise ConfigError(f"ONNX import and export need the PyPI package {exc.name.split('.')[0]}: "
                              "pip install 'eie-sim[onnx]'") from None
        raise
    return io


def _training_data(io, args, net):
    """The data set of --dataset or --data (first --limit-train samples), or None."""
    if args.dataset:
        data = io.pipeline.load_named_dataset(args.dataset, net, args.data_dir)
    elif args.data:
        data = io.load_data_file(args.data, net.n_inputs, net.n_outputs)
    else:
        return None
    return io.pipeline.limit_train(data, args.limit_train)


def _summary(io, net, res, args) -> str:
    lines = [f"{args.onnx_file}: {io.onnx_import.describe_network(net)}",
             f"{'layer':<14} {'shape':>13} {'kept%':>7} {'w_bits':>6} {'ratio P+Q':>10} {'ratio Huffman':>14}"]
    for _, r in res.report.rows.iterrows():
        shape = res.model.layer(r["layer"]).shape
        lines.append(f"{r['layer']:<14} {shape[0]:>6}x{shape[1]:<6} {r['kept_pct']:>7.2f} {r['weight_bits']:>6} "
                     f"{r['bits_dense'] / r['bits_pruned_quantized']:>9.1f}x {r['bits_dense'] / r['bits_huffman']:>13.1f}x")
    t = res.report.total
    lines.append(f"{'total':<14} {'':>13} {t['kept_pct']:>7.2f} {'':>6} {t['ratio_pruned_quantized']:>9.1f}x "
                 f"{t['ratio_huffman']:>13.1f}x")
    if res.accuracy:
        accs = ", ".join(f"{k} {100 * v:.2f}%" for k, v in res.accuracy.items())
        lines.append(f"float accuracy on {res.model.meta['dataset']} (test): {accs}")
    lines.append(f"fixed-point formats calibrated on {res.calibration}")
    lines.append(f"wrote {args.out}")
    return "\n".join(lines)


_TRAINING_ONLY = {"retrain_epochs": 3, "finetune_epochs": 3, "retrain_lr": 0.005, "finetune_lr": 0.005, "prune_rounds": 3,
                  "batch_size": 128, "limit_train": None, "data_dir": None}


def _calibration_args(args, net) -> tuple:
    """(input range, calibration inputs, the note to print on success) of import: refuses the training options without data
    and the calibration options with it, and says on stderr which range it assumes without any."""
    has_data = bool(args.dataset or args.data)
    for name, default in _TRAINING_ONLY.items():
        val = getattr(args, name)
        if val is not None and not has_data:
            raise ConfigError(f"--{name.replace('_', '-')}={val}: applies to retraining, which needs data "
                              "(--dataset DATASET or --data FILE.npz); without data import only calibrates")
        if val is None:
            setattr(args, name, default)
    if has_data and (args.input_range or args.calibrate):
        opt = "--input-range" if args.input_range else "--calibrate"
        raise ConfigError(f"{opt}: the formats are calibrated on the training data given; drop {opt} or the data")
    samples = None
    if args.calibrate:
        path = Path(args.calibrate)
        if not path.is_file():
            raise ConfigError(f"--calibrate={args.calibrate}: no such file")
        try:
            with np.load(path, allow_pickle=False) as z:
                if "x" not in z.files:
                    raise ConfigError(f"--calibrate={args.calibrate}: no array 'x' (sample inputs, one per row); "
                                      f"the file holds {', '.join(z.files) or 'nothing'}")
                samples = np.asarray(z["x"], dtype=np.float64)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--calibrate={args.calibrate}: not a readable .npz of numbers ({exc})") from None
    note = None
    if not (has_data or args.input_range or args.calibrate):
        lo, hi = io_default_range()
        note = (f"note: no data, --input-range or --calibrate: fixed-point formats calibrated for inputs in "
                f"[{lo:g}, {hi:g}]; inputs outside it saturate (give --input-range LO HI, e.g. 0 255 for raw pixels)")
    if args.input_range:
        from ..io.pipeline import check_input_range

        try:
            check_input_range(args.input_range)
        except ConfigError:
            raise ConfigError(f"--input-range={args.input_range[0]:g} {args.input_range[1]:g}: expected finite LO < HI") from None
    return (tuple(args.input_range) if args.input_range else None), samples, note


def io_default_range() -> tuple[float, float]:
    from ..io.pipeline import DEFAULT_INPUT_RANGE

    return DEFAULT_INPUT_RANGE


def _cmd_import(args) -> int:
    io = _io()
    check_writable(args.out, "--out", (".npz",))
    t0 = time.perf_counter()
    net = io.import_onnx(args.onnx_file, name=Path(args.out).stem)
    input_range, samples, note = _calibration_args(args, net)
    settings = io.ImportSettings(
        weight_bits=args.weight_bits, sparsity=args.sparsity, quality=args.prune_quality, prune_rounds=args.prune_rounds,
        epochs=args.retrain_epochs, lr=args.retrain_lr, finetune_epochs=args.finetune_epochs, finetune_lr=args.finetune_lr,
        batch_size=args.batch_size, index_bits=args.index_bits, seed=args.seed,
        balance_pes=args.balance_pes, balance_group=args.balance_group, balance_index_aware=args.balance_index_aware,
    )
    data = _training_data(io, args, net)
    command = "eie-sim " + " ".join(shlex.quote(a) for a in getattr(args, "argv", []))
    res = io.compress_imported(net, settings, data, meta={"command": command}, progress=not args.quiet,
                               input_range=input_range, calibration=samples)
    save_model(res.model, args.out)
    print(_summary(io, net, res, args))
    if note:
        print(note, file=sys.stderr)
    chance = 1.0 / max(net.n_outputs, 1)
    imported = (res.accuracy or {}).get("imported")
    if imported is not None and net.n_outputs > 1 and imported <= 1.5 * chance:
        print(f"warning: the imported network scores {100 * imported:.2f}% on the test data before any fine-tuning, "
              f"chance level for {net.n_outputs} classes ({100 * chance:.1f}%): its inputs are probably scaled "
              "differently from what it was trained on (e.g. 0..255 pixels against 0..1)", file=sys.stderr)
    print(f"import, compression and calibration took {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


_ONNX_OP = {"fc": "Gemm", "conv": "Conv"}  # the ONNX op each layer kind is written as


def _cmd_export(args) -> int:
    io = _io()
    check_writable(args.out, "--out", (".onnx",))
    model = load_model(args.model)
    io.save_onnx(io.model_to_onnx(model), args.out)
    if model.is_sequence:
        lstm = model.layers[0]
        fcs = " -> ".join(str(s) for s in [lstm.hidden] + [l.shape[0] for l in model.layers[1:]])
        what = f"1 LSTM layer ({lstm.n_in} inputs per step, {lstm.hidden} units)" + (
            f" and {len(model.layers) - 1} Gemm layer(s) {fcs}" if len(model.layers) > 1 else "")
    else:
        sizes = " -> ".join(str(s) for s in [model.n_inputs] + [l.n_out for l in model.layers])
        ops = sorted({_ONNX_OP.get(l.kind, l.kind) for l in model.layers})
        what = f"{len(model.layers)} {' / '.join(ops)} layer(s) {sizes}"
    print(f"wrote {args.out}: {what}, float32 shared weights, "
          f"output function {model.meta.get('output_function') or 'none'}, opset {io.onnx_export.OPSET}")
    if args.check:
        try:
            x = np.random.default_rng(args.seed).random((args.check, model.n_inputs))
            err = io.onnx_export.onnxruntime_agreement(args.out, model, x)
        except ImportError:
            print("onnxruntime is not installed: not checked (pip install 'eie-sim[onnx]')", file=sys.stderr)
            return 0
        print(f"onnxruntime vs eie-sim's float view on {args.check} uniform [0, 1) inputs: "
              f"max relative difference {err:.2e}")
    return 0


def add_parsers(sub) -> None:
    from ..train.data import DATASETS

    p = sub.add_parser("import", help="read an ONNX network and compress it into a model file")
    p.add_argument("onnx_file", metavar="MODEL.onnx", help="Gemm / MatMul+Add / Relu MLP, LSTM or conv chain (see README)")
    p.add_argument("-o", "--out", required=True, metavar="OUT.npz", help=say("--out", "the eie-sim model file"))
    p.add_argument("--weight-bits", type=int_in(1, 8), nargs="+", default=[4], metavar="B",
                   help=say("--weight-bits", "one value or one per layer"))
    g = p.add_mutually_exclusive_group()
    g.add_argument("--sparsity", type=float_in(0, 1, hi_open=True), nargs="+", default=None, metavar="S",
                   help=say("--sparsity", "one value or one per layer (default: no pruning)"))
    g.add_argument("--prune-quality", type=float_in(0, 100), nargs="+", default=None, metavar="Q",
                   help=say("--prune-quality", "one value or one per layer"))
    d = p.add_mutually_exclusive_group()
    d.add_argument("--dataset", choices=DATASETS, default=None, metavar="DATASET",
                   help=say("--dataset", f"retrain after pruning and fine-tune the codebooks on it ({', '.join(DATASETS)})"))
    add_deprecated(d, "import", "--finetune", choices=DATASETS, metavar="DATASET")
    d.add_argument("--data", metavar="FILE.npz", default=None,
                   help=say("--data", "retrain and fine-tune on arrays x, y (optionally x_test, y_test)"))
    c = p.add_mutually_exclusive_group()
    c.add_argument("--input-range", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help=say("--input-range", "without data (default 0 1)"))
    c.add_argument("--calibrate", metavar="FILE.npz", default=None, help=say("--calibrate", "without data; one input per row"))
    g = p.add_argument_group("training (with --dataset or --data)")
    g.add_argument("--retrain-epochs", type=int_in(0, 10000), default=None, metavar="E",
                   help=say("--retrain-epochs", "0 with --finetune-epochs 0: only calibrate (default 3)"))
    g.add_argument("--finetune-epochs", type=int_in(0, 10000), default=None, metavar="E", help=say("--finetune-epochs", "default 3"))
    add_deprecated(g, "import", "--epochs", type=int_in(0, 10000), metavar="E")
    g.add_argument("--prune-rounds", type=int_in(1, 100), default=None, metavar="R", help=say("--prune-rounds", "default 3"))
    g.add_argument("--retrain-lr", type=float_in(0, 100, lo_open=True), default=None, metavar="LR",
                   help=say("--retrain-lr", "default 0.005"))
    g.add_argument("--finetune-lr", type=float_in(0, 100, lo_open=True), default=None, metavar="LR",
                   help=say("--finetune-lr", "default 0.005"))
    add_deprecated(g, "import", "--lr", type=float_in(0, 100, lo_open=True), metavar="LR")
    g.add_argument("--batch-size", type=int_in(1), default=None, metavar="N", help=say("--batch-size", "default 128"))
    g.add_argument("--limit-train", type=int_in(1), default=None, metavar="N", help=say("--limit-train"))
    g.add_argument("--data-dir", default=None, metavar="DIR", help=say("--data-dir"))
    p.add_argument("--index-bits", type=int_in(1, 8), default=4, metavar="I", help=say("--index-bits"))
    add_balance_args(p)
    p.add_argument("--seed", type=SEED, default=0, metavar="S", help=say("--seed", "k-means, training order and calibration"))
    p.add_argument("--quiet", action="store_true", help=say("--quiet"))
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("export", help="write a model file as a float ONNX model of its shared weights")
    p.add_argument("model", metavar="MODEL.npz", help="any eie-sim model file (built-in, imported, compressed)")
    p.add_argument("-o", "--out", required=True, metavar="OUT.onnx", help=say("--out", "the ONNX file"))
    p.add_argument("--check", type=int_in(0, 100000), default=64, metavar="K", help=say("--check", "0: skip"))
    p.add_argument("--seed", type=SEED, default=0, metavar="S", help=say("--seed", "the check's inputs"))
    p.set_defaults(func=_cmd_export)
