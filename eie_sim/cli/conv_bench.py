"""``bench --suite conv``: the conv benchmark suite (:mod:`eie_sim.cycle.conv_suite`), one row per
conv layer, then each whole network (its conv layers and its EIE Table III FC layers) per
inference: latency, energy and the conv / FC share."""

from __future__ import annotations

import dataclasses

from ..contract.codebook import recluster
from ..contract.conv import geometry
from ..cost.report import energy_report
from ..cycle import conv_suite, suite
from ..errors import ConfigError, EIEError
from . import saturation as sat_report
from .common import simulate_widening, strict_json

__all__ = ["run_conv_suite"]

HEAD = (f"{'layer':<12} {'C_out x K':>11} {'positions':>9} {'wd_%':>5} {'ad_%':>5} {'cycles':>12} {'latency_us':>11} "
        f"{'load_eff_%':>10} {'macs_real':>13} {'fmap_reads':>11} {'energy_uJ':>10} {'dense_uJ':>10}")


def _layer_at(b, weight_bits: int):
    """The benchmark layer at the configuration's weight width (re-clustered when it differs)."""
    lay = b.layer
    if lay.weight_bits == weight_bits:
        return lay
    codes, cb = recluster(lay.codes, lay.codebook, weight_bits)
    return dataclasses.replace(lay, codes=codes, codebook=cb, _cache={})


def _fc_layer(name: str, args, cfg, explicit_ptr):
    b = suite.get(name, seed=args.seed, scale=args.scale, row_cv=args.row_cv, col_cv=args.col_cv)
    pair = (b.codes, b.codebook) if b.codebook.size == 1 << cfg.weight_bits else recluster(b.codes, b.codebook, cfg.weight_bits)
    res, _ = simulate_widening(pair, b.activations, cfg, explicit_ptr, name)
    return dataclasses.replace(res, name=name)


def _row(res, rep, b) -> str:
    g = geometry(b.layer)
    c = res.counters
    dense = rep.baseline.dense_sram_pj / 1e6 if rep.baseline is not None else float("nan")
    return (f"{res.name:<12} {f'{g.c_out}x{g.patch}':>11} {g.positions:>9,} {b.weight_density_pct:>5.1f} "
            f"{b.act_density_pct:>5.1f} {res.cycles:>12,} {res.latency_us:>11,.1f} {100 * res.load_efficiency:>10.1f} "
            f"{c['macs_real']:>13,} {c.get('fmap_reads', 0):>11,} {rep.energy_pj / 1e6:>10.3f} {dense:>10.1f}")


def _network_lines(net: str, runs: dict, args, cfg, explicit_ptr, table) -> list[str]:
    """The whole network per inference: every layer's latency and energy summed (each layer on
    its own stated input density, as EIE's Table III), conv vs FC, by module."""
    convs, fcs = conv_suite.NETWORKS[net]
    fc_runs = []
    for name in fcs:
        res = _fc_layer(name, args, cfg, explicit_ptr)
        fc_runs.append((res, energy_report(res, table)))
    conv_runs = [runs[n] for n in convs]
    e_conv = sum(rep.energy_pj for _, rep in conv_runs)
    e_fc = sum(rep.energy_pj for _, rep in fc_runs)
    t = sum(r.latency_us for r, _ in conv_runs + fc_runs)
    total = e_conv + e_fc
    modules: dict = {}
    for _, rep in conv_runs + fc_runs:
        for k, v in rep.by_module.items():
            modules[k] = modules.get(k, 0.0) + v
    lines = [f"{net} per inference ({', '.join(convs)} + {', '.join(fcs)}): latency {t:,.1f} us, energy "
             f"{total / 1e6:,.2f} uJ: conv {e_conv / 1e6:,.2f} uJ ({100 * e_conv / total:.1f}%), "
             f"FC {e_fc / 1e6:,.2f} uJ ({100 * e_fc / total:.1f}%); conv {100 * sum(r.latency_us for r, _ in conv_runs) / t:.1f}% "
             "of the latency",
             "  by module (uJ): " + ", ".join(f"{k} {v / 1e6:.2f}" for k, v in modules.items() if v)]
    for r, rep in fc_runs:
        lines.append(f"  {r.name:<10} {r.shape[0]}x{r.shape[1]} {r.cycles:>10,} cycles {r.latency_us:>9,.1f} us "
                     f"{rep.energy_pj / 1e6:>8.3f} uJ")
    return lines


def run_conv_suite(args, cfg, explicit_ptr, table) -> int:
    """The ``bench --suite conv`` command (module docstring). Returns the exit status."""
    names = [n.strip() for n in args.layers.split(",")] if args.layers else list(conv_suite.CONV_NAMES)
    for n in names:
        if n not in conv_suite.CONV_LAYERS:
            raise ConfigError(f"--layers: {n!r} is not a conv suite layer; expected names from {', '.join(conv_suite.CONV_NAMES)}")
        if names.count(n) > 1:
            raise ConfigError(f"--layers: {n!r} is given {names.count(n)} times; name each layer once")
    if args.json or args.jsonl:
        docs = []
    from ..progress import progress

    runs, failed, benches = {}, [], {}
    for name in progress(names, desc="bench --suite conv", unit="layer", enabled=not args.quiet):
        b = conv_suite.get_conv(name, seed=args.seed, scale=args.scale, row_cv=args.conv_row_cv, col_cv=args.conv_col_cv)
        benches[name] = b
        try:
            res, _ = simulate_widening(_layer_at(b, cfg.weight_bits), b.activations, cfg, explicit_ptr, name)
        except EIEError as exc:
            failed.append((name, str(exc)))
            continue
        sat_report.warn([(res.name, res.saturation)])
        rep = energy_report(res, table)
        runs[name] = (res, rep)
        if args.json or args.jsonl:
            docs.append({**res.to_dict(), **rep.to_dict(), "act_density_source": conv_suite.ACT_SOURCES[name], "error": None})
            if args.jsonl:
                print(strict_json(docs[-1]), flush=True)
    if args.json:
        print(strict_json(docs))
    if args.json or args.jsonl:
        return 1 if failed else 0
    if args.csv:
        from .csv_rows import bench_record, write_bench_csv

        write_bench_csv([bench_record(*runs[n]) for n in names if n in runs], failed)
        return 1 if failed else 0
    print(f"Conv benchmark suite (AlexNet / VGG-16 conv shapes, Deep Compression weight densities, NIPS 2015 Act% "
          f"input densities; seed {args.seed}, scale {args.scale:g}, row/column density CV: conv {args.conv_row_cv:g}/"
          f"{args.conv_col_cv:g}, FC {args.row_cv:g}/{args.col_cv:g}) "
          f"on {cfg.n_pe} PEs, FIFO {cfg.fifo_depth}, {cfg.sram_width}-bit words, {cfg.clock_mhz:g} MHz, energy table "
          f"{table.name}; dense_uJ: the same layer dense in fp32 from SRAM (EIE section VI baseline)")
    print(HEAD)
    print("-" * len(HEAD))
    for name in names:
        if name in runs:
            print(_row(*runs[name], benches[name]))
    for name, msg in failed:
        print(f"{name:<12} FAILED: {msg}")
    for net, (convs, _) in conv_suite.NETWORKS.items():
        if all(n in runs for n in convs):
            for line in _network_lines(net, runs, args, cfg, explicit_ptr, table):
                print(line)
    for name, (res, _) in runs.items():
        for n in res.notes:
            print(f"! {name}: {n}")
    return 1 if failed else 0
