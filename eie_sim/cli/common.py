"""Helpers shared by the command groups: reading arrays, building configs and energy tables."""

from __future__ import annotations

import argparse
import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from ..config import ArchConfig
from ..cost.energy import scale_table
from ..cycle import suite
from ..cost.presets import get_table
from ..budget import check_budget
from ..errors import ConfigError, EncodingError


def load_npy(path: str, what: str) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise EncodingError(f"{what}={path!r}: no such file")
    try:
        # mapped first: the header's declared size is checked before anything is read or allocated
        arr = np.load(p, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise EncodingError(f"{what}={path!r}: not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise EncodingError(f"{what}={path!r}: expected a .npy array, got an .npz archive")
    check_budget(f"{what}={path!r} (shape {arr.shape}, {arr.dtype})", arr.nbytes)
    return np.array(arr)


def config_from_args(args, **overrides) -> ArchConfig:
    kw = {}
    for name in ("pes", "fifo_depth", "sram_width", "clock_mhz", "act_bits"):
        val = getattr(args, name, None)
        if val is not None:
            kw["n_pe" if name == "pes" else name] = val
    kw.update(overrides)
    return ArchConfig(**kw)


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


def add_arch_args(p) -> None:
    """The architecture, benchmark and energy-table options of the commands that simulate."""
    p.add_argument("--pes", type=PES, default=None, help="number of PEs (default 64)")
    p.add_argument("--fifo-depth", type=int_in(1, 1024), default=None, help="activation queue depth (default 8)")
    p.add_argument("--sram-width", type=int_in(1, 4096), default=None, help="spmat SRAM word width in bits (default 64)")
    p.add_argument("--clock-mhz", type=float_in(0, 1e5, lo_open=True), default=None, help="clock in MHz (default 800)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the generated benchmark layers and inputs")
    p.add_argument("--scale", type=float_in(0, 1, lo_open=True), default=1.0, help="shrink benchmark layers by this factor (0, 1]")
    p.add_argument("--row-cv", type=float_in(0, 4), default=suite.DEFAULT_ROW_CV,
                   help=f"benchmark layers: coefficient of variation of per-row density (default {suite.DEFAULT_ROW_CV:g}; "
                        "0 with --col-cv 0 is the uniform generator)")
    p.add_argument("--col-cv", type=float_in(0, 4), default=suite.DEFAULT_COL_CV,
                   help=f"benchmark layers: coefficient of variation of per-column density (default {suite.DEFAULT_COL_CV:g})")
    p.add_argument("--json", action="store_true", help="one JSON object per layer")
    p.add_argument("--energy-table", default="eie45", metavar="eie45|horowitz45|FILE.toml",
                   help="energy table (default eie45, calibrated to EIE Table II)")
    p.add_argument("--node-nm", type=NODE_NM, default=None, help="rescale the energy table to this node (nm)")
    p.add_argument("--vdd", type=VDD, default=None, help="rescale the energy table to this supply (V)")
