"""Commands that simulate on the cycle model: ``run``, ``bench``, and ``energy-table``."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..contract.arrays import load_npy
from ..contract.codebook import recluster
from ..contract.model import ModelLayer, load_model, one_code_width
from ..cycle import conv_suite, suite
from ..errors import ConfigError, EIEError, EncodingError
from . import saturation as sat_report
from .inputs import add_input_args, model_input
from .vocabulary import say
from .common import (NODE_NM, VDD, add_arch_args, bench_options, check_writable, config_from_args, simulate_widening,
                     strict_json, table_from_args)

if TYPE_CHECKING:  # annotations only: the commands import the cycle and cost models (Numba) when they run
    from ..cost.report import EnergyReport
    from ..cycle.simulator import SimResult


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
    pp = res.per_pe_arrays  # the columns of res.per_pe, without building its DataFrame (pandas)
    lines = [
        f"{res.name}: {res.shape[0]}x{res.shape[1]} (outputs x inputs) on {cfg.n_pe} PEs, FIFO depth {cfg.fifo_depth}, "
        f"{cfg.sram_width}-bit spmat words, {cfg.clock_mhz:g} MHz",
        f"  cycles {res.cycles:,}   latency {res.latency_us:,.2f} us   {res.gops:,.1f} GOP/s   "
        f"load efficiency {100 * res.load_efficiency:.1f}%",
        f"  entries stored {res.entries:,} (padding {res.padding_entries:,}); processed: real {c['macs_real']:,}, "
        f"padding {c['macs_padding']:,}; overhead cycles {c['overhead_cycles']:,}",
    ]
    for col, label in (("busy_cycles", "busy"), ("starved_cycles", "starved"), ("blocked_cycles", "blocking"),
                       ("entries_real", "real entries")):
        v = np.asarray(pp[col])
        unit = "entries" if col == "entries_real" else "cycles"
        lines.append(f"  per PE {label:<13} min {int(v.min()):>10,}  mean {v.mean():>12,.1f}  max {int(v.max()):>10,}  {unit}")
    names = [k for k in c if k not in ("overhead_cycles",)]
    for i in range(0, len(names), 3):
        lines.append("  " + "   ".join(f"{k:<17} {c[k]:>13,}" for k in names[i : i + 3]))
    for n in res.notes:
        lines.append(f"  ! {n}")
    if res.saturation:
        lines.append("  ! saturated: " + ", ".join(f"{k} {v:,}" for k, v in res.saturation.counts().items() if v)
                     + " (warnings on stderr)")
    return "\n".join(lines)


def _format_sequence(res: SimResult, results, reports, total) -> str:
    """One line per LSTM step and per FC layer, then the total (a sequence model's ``run``)."""
    cfg = res.config
    lines = [f"{res.name}: sequence model on {cfg.n_pe} PEs, FIFO depth {cfg.fifo_depth}, {cfg.clock_mhz:g} MHz",
             f"{'step':<10} {'cycles':>8} {'elem_cyc':>8} {'broadcasts':>10} {'macs':>8} {'energy_nJ':>9} {'ElemUnit_nJ':>11}"]
    for r, rep in zip(results, reports):
        c = r.counters
        lines.append(f"{r.name:<10} {r.cycles:>8,} {c.get('elem_cycles', 0):>8,} {c['broadcasts']:>10,} "
                     f"{c['macs_real']:>8,} {rep.energy_pj / 1e3:>9.2f} {rep.by_module.get('ElemUnit', 0.0) / 1e3:>11.3f}")
    lines.append(f"total: {res.cycles:,} cycles, {res.latency_us:,.2f} us, {total.energy_pj / 1e6:,.4f} uJ "
                 f"({total.by_module.get('ElemUnit', 0.0) / 1e6:,.4f} uJ element-wise), {total.power_mw:,.1f} mW, "
                 f"{total.frames_per_j:,.0f} sequences/J; output argmax {int(np.argmax(res.output))}")
    return "\n".join(lines)


def _shared_at(b, weight_bits: int) -> tuple:
    """A benchmark layer's (codes, codebook) at ``weight_bits``: re-clustered (k-means over the
    values in use, as the sweep does) when the width differs from the generated codebook's."""
    if b.codebook.size == 1 << weight_bits:
        return b.codes, b.codebook
    return recluster(b.codes, b.codebook, weight_bits)


_CODESIGN_HW = ("n_pe", "fifo_depth", "sram_width")


def _codesign_hardware(model, target: str, args) -> dict:
    """The PE array a ``codesign`` model records in ``meta["codesign"]`` (n_pe, fifo_depth,
    sram_width), for the fields the user set no flag for; says on stderr which it used."""
    rec = model.meta.get("codesign") or {}  # checked when the file was loaded (contract.meta_checks)
    hw = {name: rec[name] for name in _CODESIGN_HW if name in rec and getattr(args, f"cfg_{name}", None) is None
          and not any(s.startswith(name + "=") for s in args.cfg_set)}
    if hw:
        print(f"note: {target} records its co-design hardware; running on "
              + ", ".join(f"{k}={v}" for k, v in hw.items()) + " (flags override it)", file=sys.stderr)
    return hw


def _cmd_run(args) -> int:
    from ..cost.report import energy_report

    target = args.target
    table = table_from_args(args)
    if args.out:
        check_writable(args.out, "-o", (".npy",))
    bench_options(args, None if target in suite.NAMES else target)
    source = None
    if target in suite.NAMES:
        if args.input_index is not None:
            raise ConfigError(f"--input-index={args.input_index}: applies to model files; {target} is a generated "
                              "benchmark layer (its own activations, or --input FILE.npy)")
        b = suite.get(target, seed=args.seed, scale=args.scale, row_cv=args.row_cv, col_cv=args.col_cv)
        x = load_npy(args.input, "--input") if args.input else b.activations
        cfg, explicit_ptr = config_from_args(args)
        res, cfg = simulate_widening(_shared_at(b, cfg.weight_bits), x, cfg, explicit_ptr, target)
        res = dataclasses.replace(res, name=target)
        results = [res]
        reports = [energy_report(res, table)]
    else:
        if not Path(target).is_file():
            raise EncodingError(f"{target!r}: neither a model file nor a benchmark ({', '.join(suite.NAMES)})")
        model, widened = one_code_width(load_model(target))
        if widened:
            print(f"note: {target}: layers use weight_bits {widened}; the array has one code width, so it runs at "
                  f"{max(widened)} bits (narrower codebooks padded, no weight changed)", file=sys.stderr)
        wbits = {l.weight_bits for l in model.layers}
        hw = _codesign_hardware(model, target, args)
        cfg, explicit_ptr = config_from_args(args, weight_bits=wbits.pop(), index_bits=model.layers[0].index_bits, **hw)
        x, source = model_input(model, args, target)
        res, cfg = simulate_widening(model, x, cfg, explicit_ptr, target)
        results = list(res.layers)
        total_report = energy_report(res, table)
        reports = list(total_report.layers)
    if args.out:
        np.save(args.out, res.output)
    sat_report.warn((r.name, r.saturation) for r in results)
    docs = [{**r.to_dict(), **rep.to_dict()} for r, rep in zip(results, reports)]
    if source is not None:  # a model: its layers, the network total and the input it ran on
        total = {k: v for k, v in {**res.to_dict(), **total_report.to_dict()}.items() if k != "layers"}
        doc = {"model": target, "input": source, "layers": docs, "total": total}
    else:
        doc = docs[0] if len(docs) == 1 else docs
    if args.json:
        print(strict_json(doc))
    elif args.jsonl:
        for d in docs:
            print(strict_json(d))
        if source is not None:
            print(strict_json({**total, "layer": "total", "input": source}))
    elif target not in suite.NAMES and model.is_sequence:
        print(f"input: {source}")
        print(_format_sequence(res, results, reports, total_report))
    else:
        if source is not None:
            print(f"input: {source}")
        for r, rep in zip(results, reports):
            print(_format_run(r))
            print(_format_energy(rep))
        if len(results) > 1:
            print(f"total: {res.cycles:,} cycles, {res.latency_us:,.2f} us, load efficiency {100 * res.load_efficiency:.1f}%, "
                  f"{total_report.energy_pj / 1e6:,.3f} uJ, {total_report.power_mw:,.1f} mW, "
                  f"{total_report.frames_per_j:,.0f} frames/J")
    if args.out:
        print(f"wrote {args.out}: the output vector ({res.output.size} floats, the golden model's float view)",
              file=sys.stderr)
    return 0


_BENCH_HEAD = (f"{'layer':<11} {'shape (out x in)':>16} {'wd_%':>5} {'ad_%':>6} {'cycles':>9} {'latency_us':>10} "
               f"{'GOP/s':>6} {'load_eff_%':>10} {'pad_%':>6} {'spmat_reads':>11} {'dram_B':>8} {'energy_uJ':>9} "
               f"{'power_mW':>8} {'frames/J':>10}")


def _ntlstm_cell_step(b, cfg):
    """NT-LSTM as a real cell step (EIE Table III's 2400 x 1201 matrix as an LSTM layer: H = 600
    units over [x_t ; h_{t-1} ; 1], X = 600): a two-step sequence whose inputs are the benchmark's
    activations; the row is step 2, where h_1 is dense, with the element-wise cell update
    (:mod:`eie_sim.cycle.lstm`)."""
    from ..cycle.simulator import simulate

    hidden = b.n_out // 4
    x_in = b.n_in - hidden - 1
    codes, cb = _shared_at(b, cfg.weight_bits)
    lay = ModelLayer(name="ntlstm-cell", kind="lstm", params={"hidden": hidden}, codebook=cb, codes=codes)
    seq = np.stack([b.activations[:x_in], b.activations[x_in: 2 * x_in]])
    step = simulate(lay, seq, cfg).layers[1]
    return dataclasses.replace(step, name="ntlstm-cell")


def _bench_line(r, rep) -> str:
    n_in, n_out, wd, ad, _ = suite.TABLE_III[r.name.removesuffix("-cell")]
    c = r.counters
    pad = 100 * r.padding_fraction
    shape = f"{r.shape[0]}x{r.shape[1]}"
    return (f"{r.name:<11} {shape:>16} {wd:>5.1f} {ad:>6.1f} {r.cycles:>9,} {r.latency_us:>10.2f} "
            f"{r.gops:>6.1f} {100 * r.load_efficiency:>10.1f} {pad:>6.2f} {c['spmat_sram_reads']:>11,} {c['dram_bytes']:>8,} "
            f"{rep.energy_pj / 1e6:>9.3f} {rep.power_mw:>8.1f} {rep.frames_per_j:>10,.0f}")


def _cmd_bench(args) -> int:
    from ..cost.report import energy_report
    from .conv_bench import run_conv_suite

    if args.suite == "conv":  # conv layers have their own default dispersion; a given --row-cv/--col-cv applies to all
        args.conv_row_cv = conv_suite.DEFAULT_CONV_ROW_CV if args.row_cv is None else args.row_cv
        args.conv_col_cv = conv_suite.DEFAULT_CONV_COL_CV if args.col_cv is None else args.col_cv
    bench_options(args)
    if args.csv and (args.json or args.jsonl):
        raise ConfigError(f"--csv with --{'json' if args.json else 'jsonl'}: choose one output format")
    if args.suite == "conv":
        cfg, explicit_ptr = config_from_args(args)
        return run_conv_suite(args, cfg, explicit_ptr, table_from_args(args))
    names = [n.strip() for n in args.layers.split(",")] if args.layers else list(suite.NAMES)
    for n in names:
        if n not in suite.TABLE_III:
            raise ConfigError(f"--layers: {n!r} is not a Table III layer; expected names from {', '.join(suite.NAMES)}")
        if names.count(n) > 1:
            raise ConfigError(f"--layers: {n!r} is given {names.count(n)} times; name each layer once")
    cfg, explicit_ptr = config_from_args(args)
    table = table_from_args(args)
    from ..progress import progress

    rows, failed, docs = [], [], []
    for name in progress(names, desc="bench", unit="layer", enabled=not args.quiet):
        b = suite.get(name, seed=args.seed, scale=args.scale, row_cv=args.row_cv, col_cv=args.col_cv)
        try:  # a layer that cannot run on this configuration is marked, and the suite goes on
            res, used = simulate_widening(_shared_at(b, cfg.weight_bits), b.activations, cfg, explicit_ptr, name)
        except EIEError as exc:
            failed.append((name, str(exc)))
            docs.append({"layer": name, "error": str(exc)})
            continue
        runs = [dataclasses.replace(res, name=name)]
        if name == "ntlstm":
            runs.append(_ntlstm_cell_step(b, used))
        sat_report.warn((r.name, r.saturation) for r in runs)
        for res in runs:
            rep = energy_report(res, table)
            rows.append((res, rep))
            docs.append({**res.to_dict(), **rep.to_dict(), "error": None})
            if args.jsonl:
                print(strict_json(docs[-1]), flush=True)
    if args.json:
        print(strict_json(docs))
    elif args.csv:
        from .csv_rows import bench_record, write_bench_csv

        write_bench_csv([bench_record(r, rep) for r, rep in rows], failed)
    elif not args.jsonl:
        print(f"EIE benchmark suite (Table III shapes and densities, seed {args.seed}, row/column density CV "
              f"{args.row_cv:g}/{args.col_cv:g}) on {cfg.n_pe} PEs, "
              f"FIFO {cfg.fifo_depth}, {cfg.sram_width}-bit words, {cfg.clock_mhz:g} MHz, energy table {table.name}"
              + (f", area {rows[0][1].area_mm2:.2f} mm2" if rows else ""))
        print(_BENCH_HEAD)
        print("-" * len(_BENCH_HEAD))
        for r, rep in rows:
            print(_bench_line(r, rep))
        for name, msg in failed:
            print(f"{name:<11} FAILED: {msg}")
        if rows:
            print(_suite_power_line([(r, rep) for r, rep in rows if not r.name.endswith("-cell")]))
        for r, _ in rows:
            for n in r.notes:
                print(f"! {r.name}: {n}")
    return 1 if failed else 0


def _suite_power_line(rows) -> str:
    """Mean over the layers of each layer's power: all of it, and the PE modules' per PE (the
    figure EIE Table II gives: 9.157 mW at 45 nm, 800 MHz)."""
    modules = ("ActQueue", "PtrRead", "SpmatRead", "ArithmUnit", "ActRW")
    total = sum(rep.power_mw for _, rep in rows) / len(rows)
    per_pe = sum(sum(rep.by_module.get(m, 0.0) for m in modules) / rep.latency_us / 1e3 / r.config.n_pe
                 for r, rep in rows) / len(rows)
    return (f"mean over the layers: power {total:,.1f} mW; PE modules {per_pe:.3f} mW per PE "
            f"(EIE Table II: 9.157 mW per PE)")


def _table_doc(table) -> dict:
    """An energy table as JSON: every per-action energy (pJ) and static power (mW) with its source."""
    return {"table": table.name, "node_nm": table.node_nm, "vdd": table.vdd,
            "energy_pj": {k: {"value": c.value, "source": c.source} for k, c in table.energy_pj.items()},
            "static_mw": {k: {"value": c.value, "source": c.source} for k, c in table.static_mw.items()},
            "notes": list(table.notes)}


def _cmd_energy_table(args) -> int:
    args.energy_table = args.table
    table = table_from_args(args)
    if args.toml:
        print(table.to_toml(), end="")
        return 0
    if args.json:
        print(strict_json(_table_doc(table)))
        return 0
    print(f"energy table {table.name} ({table.node_nm:g} nm, {table.vdd:g} V), stated at the EIE configuration")
    for k, c in table.energy_pj.items():
        print(f"  {k:<20} {c.value:>9.4f} pJ   {c.source}")
    for k, c in table.static_mw.items():
        print(f"  {k:<20} {c.value:>9.4f} mW   {c.source}")
    for n in table.notes:
        print(f"  note: {n}")
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("run", help="simulate a model file or a Table III layer on the PE array")
    p.add_argument("target", metavar="MODEL_FILE|BENCH_NAME", help=f"a model file or one of {', '.join(suite.NAMES)}")
    add_input_args(p)
    p.add_argument("-o", "--out", metavar="OUT.npy", default=None, help=say("--out", "the output vector (float view) as .npy"))
    add_arch_args(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("bench", help="simulate the whole EIE benchmark suite (Table III), one row per layer")
    p.add_argument("--suite", choices=("table3", "conv"), default="table3",
                   help=say("--suite", "table3: EIE's FC/LSTM layers (default); conv: AlexNet and VGG-16 conv layers and whole-network energy"))
    p.add_argument("--layers", default=None, help=say("--layers", "a subset of the suite"))
    p.add_argument("--csv", action="store_true",
                   help=say("--csv", "fractions, uJ, mW, us: the JSON's units"))
    add_arch_args(p)
    p.add_argument("--quiet", action="store_true", help=say("--quiet"))
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("energy-table", help="print an energy table with the source of every figure")
    p.add_argument("table", nargs="?", default="eie45", metavar="eie45|eie45-ideal|horowitz45|FILE.toml", help="a preset or your TOML file (default: eie45)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--toml", action="store_true", help=say("--toml", "a starting point for your own table"))
    fmt.add_argument("--json", action="store_true", help=say("--json", "values and sources"))
    p.add_argument("--node-nm", type=NODE_NM, default=None, help=say("--node-nm"))
    p.add_argument("--vdd", type=VDD, default=None, help=say("--vdd"))
    p.set_defaults(func=_cmd_energy_table, energy_table=None)
