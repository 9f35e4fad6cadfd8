"""Commands on model files: ``example``, ``info``, ``encode``, ``golden``."""

from __future__ import annotations


import numpy as np

from .._version import __version__
from ..config import check_int
from ..contract.codebook import check_weights, make_codebook, quantize
from ..contract.examples import example_model
from ..contract.golden import reference_forward
from ..contract.info import format_info, model_info
from ..contract.model import Model, ModelLayer, load_model, save_model
from . import saturation as sat_report
from .inputs import add_input_args, model_input
from ..contract.arrays import load_npy
from .common import PES, SEED, int_in, strict_json
from .vocabulary import say


def _cmd_info(args) -> int:
    model = load_model(args.model)
    if args.pes is not None:
        check_int("--pes", args.pes, 1, 1 << 16)
    info = model_info(model, args.pes)
    if args.json:
        print(strict_json(info, indent=2))
    else:
        print(f"{args.model}: {info['n_layers']} layer(s), {model.n_inputs} inputs -> {model.n_outputs} outputs")
        print(format_info(info))
    return 0


def _cmd_encode(args) -> int:
    w = check_weights(load_npy(args.weights, "WEIGHTS"), name=f"WEIGHTS ({args.weights})")
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


def _golden_sequence(model, res, as_json: bool, source: str) -> int:
    """``golden`` on a sequence model: the LSTM's formats and h per step, then the FC layers."""
    fm = res.lstm.formats
    out = {"input": source, "output": res.output.tolist(), "output_fixed": res.output_fixed.tolist(),
           "lstm": {"name": model.layers[0].name, "steps": int(len(res.lstm.h_fixed)),
                    "formats": {"x_h": [fm.bits, fm.fa], "weights": [fm.bits, fm.fw], "gates_pre": [fm.bits, fm.fg],
                                "cell": [fm.bits, fm.fc], "gates": [fm.bits, fm.fs]},
                    "saturated": res.lstm.saturated, **res.lstm.saturation.to_dict(), "h_fixed": res.lstm.h_fixed.tolist()},
           "layers": [{"name": lay.name, "out_format": [r.out_format.bits, r.out_format.frac],
                       "acc_saturated": r.acc_saturated, **r.saturation.to_dict()}
                      for lay, r in zip(model.layers[1:], res.layers)],
           **res.saturation.to_dict()}
    sat_report.warn([(model.layers[0].name, res.lstm.saturation)]
                    + [(lay.name, r.saturation) for lay, r in zip(model.layers[1:], res.layers)])
    if as_json:
        print(strict_json(out))
        return 0
    print(f"{model.layers[0].name}: {out['lstm']['steps']} steps, x/h Q{fm.bits}.{fm.fa}, weights Q{fm.bits}.{fm.fw}, "
          f"gate pre-activations Q{fm.bits}.{fm.fg}, cell Q{fm.bits}.{fm.fc}, gates Q{fm.bits}.{fm.fs}"
          + ("  (saturated)" if res.lstm.saturated else ""))
    for t, h in enumerate(res.lstm.h):
        print(f"  h[{t}] |h|max {np.abs(h).max():.4f}  mean {h.mean():+.4f}")
    print("output:", np.array2string(res.output, precision=4, max_line_width=100))
    print("argmax:", int(np.argmax(res.output)))
    return 0


def _cmd_golden(args) -> int:
    model = load_model(args.model)
    x, source = model_input(model, args, args.model)
    if not args.json:
        print(f"input: {source}")
    res = reference_forward(model, x)
    if model.is_sequence:
        return _golden_sequence(model, res, args.json, source)
    out = {
        "input": source,
        "output": res.output.tolist(),
        "output_fixed": res.output_fixed.tolist(),
        "layers": [
            {
                "name": lay.name,
                "act_format": [r.act_format.bits, r.act_format.frac],
                "w_format": [r.w_format.bits, r.w_format.frac],
                "out_format": [r.out_format.bits, r.out_format.frac],
                "acc_saturated": r.acc_saturated,
                **r.saturation.to_dict(),
            }
            for lay, r in zip(model.layers, res.layers)
        ],
        **res.saturation.to_dict(),
    }
    sat_report.warn((lay.name, r.saturation) for lay, r in zip(model.layers, res.layers))
    if args.json:
        print(strict_json(out))
    else:
        for l in out["layers"]:
            print(
                f"{l['name']:<10} in Q{l['act_format'][0]}.{l['act_format'][1]}  weights Q{l['w_format'][0]}.{l['w_format'][1]}"
                f"  out Q{l['out_format'][0]}.{l['out_format'][1]}"
                + ("  saturated: " + ", ".join(f"{k.removeprefix('saturated_')} {l[k]:,}" for k in l
                                                if k.startswith("saturated_") and k != "saturated_total" and l[k])
                   if l["saturated_total"] else "")
            )
        print("output:", np.array2string(res.output, precision=4, max_line_width=100))
        print("argmax:", int(np.argmax(res.output)))
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("info", help="summarise a model file: shapes, densities, padding, storage, compression")
    p.add_argument("model", metavar="MODEL_FILE", help="an eie-sim model file (.npz)")
    p.add_argument("--pes", type=PES, default=None, help=say("--pes", "re-encode for N PEs (default: as stored, or 64)"))
    p.add_argument("--json", action="store_true", help=say("--json"))
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("encode", help="share and encode a float weight matrix (.npy) into a model file")
    p.add_argument("weights", metavar="WEIGHTS.npy", help="2-D float matrix, outputs x inputs")
    p.add_argument("--weight-bits", type=int_in(1, 8), default=4, help=say("--weight-bits"))
    p.add_argument("--index-bits", type=int_in(1, 8), default=4, help=say("--index-bits"))
    p.add_argument("--ptr-bits", type=int_in(1, 40), default=17, help=say("--ptr-bits"))
    p.add_argument("--pes", type=PES, default=64, help=say("--pes", "the PEs the layer is encoded for"))
    p.add_argument("--codebook", choices=["kmeans", "linear"], default="kmeans", help=say("--codebook"))
    p.add_argument("--name", default="fc", help=say("--name"))
    p.add_argument("-o", "--out", required=True, metavar="FILE.npz", help=say("--out", "the model file"))
    p.set_defaults(func=_cmd_encode)

    p = sub.add_parser("example", help="write the built-in example model (random LeNet-300-100-shaped MLP)")
    p.add_argument("-o", "--out", required=True, metavar="FILE.npz", help=say("--out", "the model file"))
    p.add_argument("--seed", type=SEED, default=0, help=say("--seed", "the random weights"))
    p.set_defaults(func=_cmd_example)

    p = sub.add_parser("golden", help="run the bit-exact fixed-point golden model on one input")
    p.add_argument("model", metavar="MODEL_FILE", help="an eie-sim model file (.npz)")
    add_input_args(p, seed=True)
    p.add_argument("--json", action="store_true", help=say("--json"))
    p.set_defaults(func=_cmd_golden)
