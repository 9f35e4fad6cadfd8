"""Helpers shared by the command groups: reading arrays, building configs and energy tables."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

from ..config import FIELD_RANGES, ArchConfig
from ..cost.energy import scale_table
from ..cycle import conv_suite, suite
from ..cost.presets import get_table
from ..errors import ConfigError
from .vocabulary import arch_flag, say


def comma_list(option: str, text: str, typ=int) -> list:
    """The comma-separated values of ``--option`` as ``typ`` (int or float), or one ConfigError
    line naming the option, the text and the token that is not one."""
    out = []
    for tok in text.split(","):
        tok = tok.strip()
        try:
            out.append(typ(tok))
        except ValueError:
            raise ConfigError(f"--{option.replace('_', '-')}={text!r}: {tok!r} is not a{'n integer' if typ is int else ' number'}; "
                              f"expected a comma-separated list such as {'1,2,4' if typ is int else '0.9,0.95'}") from None
    return out


def add_config_args(p) -> None:
    """Every ArchConfig field as a flag (``--pes`` for n_pe) and ``--set FIELD=V`` for any of them."""
    g = p.add_argument_group("architecture (every ArchConfig field; defaults are the EIE chip's)")
    for f in dataclasses.fields(ArchConfig):
        typ = float_in(0, 1e6, lo_open=True) if f.type in ("float", float) else int_in(*FIELD_RANGES[f.name])  # refused by name before anything runs
        g.add_argument(arch_flag(f.name), dest=f"cfg_{f.name}", type=typ, default=None, metavar="N",
                       help=f"{say(arch_flag(f.name))} (default: {f.default:g})")
    g.add_argument("--set", dest="cfg_set", action="append", default=[], metavar="FIELD=V",
                   help=say("--set", "e.g. --set act_regs_per_pe=256"))


def config_from_args(args, **overrides) -> tuple[ArchConfig, bool]:
    """(the configuration, whether ptr_bits was given) from the flags of :func:`add_config_args`;
    ``overrides`` (a model's own weight_bits, ...) apply where the user gave no value."""
    kw = dict(overrides)
    names = ArchConfig.field_names()
    for item in getattr(args, "cfg_set", []):
        name, sep, text = item.partition("=")
        if not sep or name not in names:
            raise ConfigError(f"--set {item!r}: expected FIELD=VALUE with FIELD one of {', '.join(names)}")
        try:
            kw[name] = float(text) if name == "clock_mhz" else int(text)
        except ValueError:
            raise ConfigError(f"--set {item!r}: expected a number") from None
    for name in names:
        val = getattr(args, f"cfg_{name}", None)
        if val is not None:
            kw[name] = val
    explicit_ptr = "ptr_bits" in kw and "ptr_bits" not in overrides
    return ArchConfig(**kw), explicit_ptr


def simulate_widening(layer, activations, config: ArchConfig, explicit_ptr: bool, what: str):
    """:func:`simulate`, widening ``ptr_bits`` to what the layer needs when the user did not set
    it (the sweep's rule, :func:`eie_sim.explore.worker.widen_ptr_bits`: a layer on few PEs needs
    longer pointers), with a note on stderr. (result, the configuration used)."""
    from ..cycle.simulator import simulate  # here, not at the top: building the parser needs no Numba
    from ..explore.worker import widen_ptr_bits

    def at(bits):
        return config if bits == config.ptr_bits else dataclasses.replace(config, ptr_bits=bits)

    def note(old, new):
        print(f"note: {what}: ptr_bits widened from {old} to {new} bits for {config.n_pe} PEs (give --ptr-bits "
              "to fix it)", file=sys.stderr)

    res, bits = widen_ptr_bits(lambda b: simulate(layer, activations, at(b)), config.ptr_bits, fixed=explicit_ptr,
                               on_widen=note)
    return res, at(bits)


def table_from_args(args):
    table = get_table(args.energy_table)
    if args.node_nm is not None or args.vdd is not None:
        table = scale_table(table, args.node_nm if args.node_nm is not None else table.node_nm, args.vdd)
    return table


def int_in(lo: int, hi: int | None = None):
    """An argparse type: an integer in lo..hi (no upper bound when hi is None)."""
    want = f"an integer >= {lo}" if hi is None else f"an integer in {lo}..{hi}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}")
        return value

    return parse


def float_in(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False):
    """An argparse type: a finite number in [lo, hi] (or open at either end)."""
    want = f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}") from None
        ok = math.isfinite(value) and (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
        if not ok:
            raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}")
        return value

    return parse


def check_writable(path, what: str, suffixes: tuple[str, ...] = (), overwrite: bool = True) -> Path:
    """Refuse, before any work, an output that cannot be written: a missing or read-only folder,
    a directory in its place, an unknown suffix, or (``overwrite=False``) an existing file."""
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise ConfigError(f"{what}={str(path)!r}: expected a file name ending in {' or '.join(suffixes)}")
    if p.is_dir():
        raise ConfigError(f"{what}={str(path)!r} is a directory; expected a file name")
    if p.exists() and not overwrite:
        raise ConfigError(f"{what}={str(path)!r} exists; remove it or choose another name")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"{what}={str(path)!r}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise ConfigError(f"{what}={str(path)!r}: not writable (permission denied)")
    return p


def strict_json(obj, **kwargs) -> str:
    """JSON that strict parsers accept: NaN and infinities become null, and a top-level object
    lists where they were in ``"non_finite"`` (so a null is never mistaken for a missing value)."""
    where: list[str] = []

    def clean(o, path):
        if isinstance(o, dict):
            return {k: clean(v, f"{path}.{k}" if path else str(k)) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v, f"{path}[{i}]") for i, v in enumerate(o)]
        if isinstance(o, np.generic):
            o = o.item()
        if isinstance(o, float) and not math.isfinite(o):
            where.append(path)
            return None
        return o

    out = clean(obj, "")
    if where and isinstance(out, dict):
        out["non_finite"] = where
    return json.dumps(out, allow_nan=False, **kwargs)


SEED = int_in(0)
PES = int_in(1, 1 << 16)
NODE_NM = float_in(1, 1000)
VDD = float_in(0, 10, lo_open=True)


BENCH_ONLY = {"scale": 1.0, "row_cv": suite.DEFAULT_ROW_CV, "col_cv": suite.DEFAULT_COL_CV}


def bench_options(args, target: str | None = None) -> None:
    """Fill the benchmark-only options' defaults; with ``target`` (a model file) refuse any of
    them the user gave, since they shape generated benchmark layers only."""
    for name, default in BENCH_ONLY.items():
        if getattr(args, name, None) is None:
            setattr(args, name, default)
        elif target is not None:
            raise ConfigError(f"--{name.replace('_', '-')}={getattr(args, name):g}: applies to the generated Table III "
                              f"layers only, not to the model file {target}")


def refuse_given(args, names, why: str) -> None:
    """One ConfigError line for the first of the ``cfg_*``-style or plain options in ``names``
    that the user set (not None, not False, not an empty list)."""
    for name in names:
        val = getattr(args, name, None)
        if val is not None and val is not False and val != []:
            flag = arch_flag(name[4:]) if name.startswith("cfg_") and name != "cfg_set" else (
                "--set" if name == "cfg_set" else "--" + name.replace("_", "-"))
            shown = val if not isinstance(val, list) else ",".join(val)
            raise ConfigError(f"{flag}={shown}: {why}")


def add_arch_args(p) -> None:
    """The architecture, benchmark and energy-table options of the commands that simulate."""
    add_config_args(p)
    p.add_argument("--seed", type=SEED, default=0, help=say("--seed", "the generated benchmark layers and inputs"))
    p.add_argument("--scale", type=float_in(0, 1, lo_open=True), default=None, help=say("--scale", "default 1"))
    p.add_argument("--row-cv", type=float_in(0, 4), default=None,
                   help=say("--row-cv", f"default {suite.DEFAULT_ROW_CV:g}, the released AlexNet fc8; conv suite layers "
                                        f"{conv_suite.DEFAULT_CONV_ROW_CV:g}, SqueezeNet's pruned 3x3 layers; 0 with "
                                        "--col-cv 0 is the uniform generator, 0.6 the earlier default"))
    p.add_argument("--col-cv", type=float_in(0, 4), default=None,
                   help=say("--col-cv", f"default {suite.DEFAULT_COL_CV:g}; conv suite layers "
                                        f"{conv_suite.DEFAULT_CONV_COL_CV:g}"))
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help=say("--json", "an object, or a list for several layers"))
    out.add_argument("--jsonl", action="store_true", help=say("--jsonl"))
    add_energy_args(p)


def add_energy_args(p, default: str | None = "eie45", detail: str = "") -> None:
    """--energy-table, --node-nm and --vdd."""
    p.add_argument("--energy-table", default=default, metavar="eie45|horowitz45|FILE.toml", help=say("--energy-table", detail))
    p.add_argument("--node-nm", type=NODE_NM, default=None, help=say("--node-nm"))
    p.add_argument("--vdd", type=VDD, default=None, help=say("--vdd"))
