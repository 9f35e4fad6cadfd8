"""Helpers shared by the command groups: reading arrays, building configs and energy tables."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..config import ArchConfig
from ..cost.energy import scale_table
from ..cycle import suite
from ..cost.presets import get_table
from ..errors import EncodingError


def load_npy(path: str, what: str) -> np.ndarray:
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


def add_arch_args(p) -> None:
    """The architecture, benchmark and energy-table options of the commands that simulate."""
    p.add_argument("--pes", type=int, default=None, help="number of PEs (default 64)")
    p.add_argument("--fifo-depth", type=int, default=None, help="activation queue depth (default 8)")
    p.add_argument("--sram-width", type=int, default=None, help="spmat SRAM word width in bits (default 64)")
    p.add_argument("--clock-mhz", type=float, default=None, help="clock in MHz (default 800)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated benchmark layers and inputs")
    p.add_argument("--scale", type=float, default=1.0, help="shrink benchmark layers by this factor (0, 1]")
    p.add_argument("--row-cv", type=float, default=suite.DEFAULT_ROW_CV,
                   help=f"benchmark layers: coefficient of variation of per-row density (default {suite.DEFAULT_ROW_CV:g}; "
                        "0 with --col-cv 0 is the uniform generator)")
    p.add_argument("--col-cv", type=float, default=suite.DEFAULT_COL_CV,
                   help=f"benchmark layers: coefficient of variation of per-column density (default {suite.DEFAULT_COL_CV:g})")
    p.add_argument("--json", action="store_true", help="one JSON object per layer")
    p.add_argument("--energy-table", default="eie45", metavar="eie45|horowitz45|FILE.toml",
                   help="energy table (default eie45, calibrated to EIE Table II)")
    p.add_argument("--node-nm", type=float, default=None, help="rescale the energy table to this node (nm)")
    p.add_argument("--vdd", type=float, default=None, help="rescale the energy table to this supply (V)")
