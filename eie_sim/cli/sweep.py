"""``eie-sim sweep`` and ``eie-sim plot``: design-space sweeps on Dask and their figures."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..cycle import suite
from ..config import ArchConfig
from ..errors import ConfigError
from .common import NODE_NM, SEED, VDD, check_writable, comma_list, float_in, int_in, strict_json, table_from_args

__all__ = ["add_parsers"]

# CLI option -> ArchConfig field, with the type of its values
_AXES = {
    "pes": ("n_pe", int),
    "fifo_depth": ("fifo_depth", int),
    "sram_width": ("sram_width", int),
    "weight_bits": ("weight_bits", int),
    "index_bits": ("index_bits", int),
    "act_bits": ("act_bits", int),
    "ptr_bits": ("ptr_bits", int),
    "clock_mhz": ("clock_mhz", float),
    "spmat_sram_kb": ("spmat_sram_kb", int),
    "ptr_sram_kb": ("ptr_sram_kb", int),
}

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def _space_from_args(args) -> dict:
    space = {}
    for opt, (field, typ) in _AXES.items():
        v = getattr(args, opt)
        if v is not None:
            space[field] = comma_list(opt, v, typ)
    for item in args.set or []:
        field, eq, vals = item.partition("=")
        if not eq:
            raise ConfigError(f"--set {item!r}: expected FIELD=V1,V2,...")
        if field not in ArchConfig.field_names():
            raise ConfigError(f"--set {item!r}: {field!r} is not an ArchConfig field ({', '.join(ArchConfig.field_names())})")
        typ = type(getattr(ArchConfig(), field))
        space[field] = comma_list(field, vals, typ)
    if not space:
        raise ConfigError("give at least one axis to sweep, e.g. --pes 1,2,4,8")
    return space


class _Progress:
    """What a resume skips ("resuming: K of N points already done", "nothing to do: ..."), then,
    unless ``bar`` is False, points done / total: a tqdm bar with rate and ETA on a terminal
    (:mod:`eie_sim.progress`), a line every 10 s otherwise (logs of batch jobs)."""

    def __init__(self, stream=sys.stderr, bar: bool = True):
        self.stream, self.start_done, self.last, self.bar = stream, None, 0.0, bar
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self._tqdm = None

    def __call__(self, done: int, total: int, elapsed_s: float) -> None:
        if self.start_done is None:
            self.start_done = done
            if done and done >= total:
                self.stream.write(f"nothing to do: all {total} points are already in the results file\n")
                return
            if done:
                self.stream.write(f"resuming: {done} of {total} points already done\n")
            self.stream.flush()
        elif done >= total and self.start_done >= total:
            return
        if not self.bar:
            return
        if self.tty:
            self._bar_to(done, total)
            return
        now = time.perf_counter()
        if done < total and now - self.last < 10.0:
            return
        self.last = now
        ran = done - self.start_done
        rate = ran / elapsed_s if elapsed_s > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("nan")
        eta_s = f"{eta:.0f} s" if eta == eta else "? s"
        self.stream.write(f"{done}/{total} points, {rate:.1f} points/s, ETA {eta_s}\n")
        self.stream.flush()

    def _bar_to(self, done: int, total: int) -> None:
        if self._tqdm is None:
            from ..progress import progress

            self._tqdm = progress(total=total, initial=self.start_done, desc="sweep", unit="point", leave=True,
                                  stream=self.stream)
        self._tqdm.update(done - self._tqdm.n)
        if done >= total:
            self._tqdm.close()


def _cmd_sweep(args) -> int:
    from ..explore.sweep import SweepIncomplete, sweep

    space = _space_from_args(args)
    layers = []
    for tok in (args.layers or "").split(","):
        tok = tok.strip()
        for name in suite.NAMES if tok == "all" else [tok] if tok else []:
            layers.append(name + (f"@{args.scale:g}" if args.scale != 1.0 and name in suite.TABLE_III else ""))
    if not layers and not args.model:
        raise ConfigError("give --layers (Table III names, 'all', or model files) and/or --model FILE")
    model_files = [x for x in layers if x.endswith(".npz") or Path(x).is_file()]
    for opt, ok, what in (("accuracy_samples", args.model, "the accuracy of --model, which is not given"),
                          ("retrain_epochs", args.model, "the accuracy of --model, which is not given"),
                          ("dataset", args.model or model_files,
                           "a model (its accuracy and input), and neither --model nor a model file in --layers is given")):
        if getattr(args, opt) is not None and not ok:
            raise ConfigError(f"--{opt.replace('_', '-')}={getattr(args, opt)}: applies to {what}")
    prog = _Progress(bar=not args.no_progress)
    t0 = time.perf_counter()
    try:
        df = sweep(space, layers, model=args.model, energy_table=table_from_args(args), scheduler=args.scheduler,
                   workers=args.workers, out=args.out, seed=args.seed, dataset=args.dataset,
                   accuracy_samples=args.accuracy_samples, batch_size=args.batch_size, retry_errors=args.retry_errors,
                   flush_s=args.flush_seconds, progress=prog, retrain_epochs=args.retrain_epochs, append=args.append)
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished points are saved in {args.out}; rerun the same command to resume", file=sys.stderr)
        return 130
    except SweepIncomplete as exc:
        print(f"\neie-sim: error: {exc}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - t0
    errors = int(df["error"].notna().sum()) if "error" in df.columns else 0
    summary = {"out": str(args.out), "rows": int(len(df)), "points": int(df["point_id"].nunique()),
               "already_done": int(prog.start_done or 0), "errors": errors, "wall_s": round(wall, 2)}
    if args.json:
        print(strict_json(summary))
    else:
        done = f" ({summary['already_done']} already done)" if summary["already_done"] else ""
        print(f"{summary['points']} points{done}, {summary['rows']} rows ({errors} with errors) in {args.out}; "
              f"{wall:.1f} s")
        if errors:
            first = df.loc[df["error"].notna(), ["layer", "error"]].iloc[0]
            print(f"first error: {first['layer']}: {first['error']}")
    if len(df) and errors == len(df):
        print(f"eie-sim: error: every point failed ({errors} rows with errors in {args.out})", file=sys.stderr)
        return 1
    return 0


def _cmd_plot(args) -> int:
    from ..explore.plots import KINDS, plot, select_layers
    from ..explore.sweep import load_sweep

    out = Path(args.out)
    if args.kind == "all":
        if out.exists() and not out.is_dir():
            raise ConfigError(f"-o {args.out!r}: --kind all writes one figure per kind into a folder; this is a file")
        if out.suffix.lower() in FIGURE_SUFFIXES:
            raise ConfigError(f"-o {args.out!r}: --kind all (the default) writes one figure per kind into a folder; "
                              "give a folder, or --kind K for one figure")
    else:
        check_writable(out, "-o", FIGURE_SUFFIXES)
    where = {}
    for item in args.where or []:
        field, eq, value = item.partition("=")
        if not eq or not field:
            raise ConfigError(f"--where {item!r}: expected COLUMN=VALUE, e.g. --where energy_table=eie45")
        where[field] = value
    df = load_sweep(args.sweep)
    if args.layers:
        df = select_layers(df, args.layers)
    kinds = list(KINDS) if args.kind == "all" else [args.kind]
    if args.kind == "all":
        out.mkdir(parents=True, exist_ok=True)
    for k in kinds:
        path = out / f"{k}.png" if args.kind == "all" else out
        try:
            fig = plot(df, k, path, accuracy_samples=args.accuracy_samples, seed=args.seed, where=where)
        except ConfigError as exc:
            if args.kind != "all":
                raise
            print(f"skipped {k}: {exc}", file=sys.stderr)
            continue
        fixed = ", ".join(f"{f}={v:g}" if isinstance(v, float) else f"{f}={v}" for f, v in fig.eie_fixed.items())
        print(f"wrote {path}" + (f" (held fixed: {fixed})" if fixed else ""))
    return 0


def _samples(text: str):
    """--accuracy-samples of plot: a count >= 1 or 'all'."""
    return "all" if text == "all" else int_in(1)(text)


def add_parsers(sub) -> None:
    from ..explore.plots import KINDS

    p = sub.add_parser("sweep", help="design-space sweep on Dask: PEs x bit widths x FIFO x SRAM width x layers -> Parquet or CSV")
    for opt, (field, typ) in _AXES.items():
        p.add_argument(f"--{opt.replace('_', '-')}", default=None, metavar="V1,V2,...",
                       help=f"values of {field}")
    p.add_argument("--set", action="append", metavar="FIELD=V1,V2", help="any other ArchConfig field (repeatable)")
    p.add_argument("--layers", default=None, metavar="NAMES",
                   help=f"comma-separated Table III layers ({', '.join(suite.NAMES)}; 'all' for the suite), "
                        "NAME@SCALE for a scaled copy, or model files")
    p.add_argument("--scale", type=float_in(0, 1, lo_open=True), default=1.0, help="scale every Table III layer by this factor (0, 1]")
    p.add_argument("--model", default=None, metavar="FILE.npz",
                   help="trained model: its layers join the sweep and every row gets its test accuracy re-clustered at the row's weight_bits")
    p.add_argument("--dataset", default=None, help="dataset of the accuracy (default: the model's)")
    p.add_argument("--accuracy-samples", type=int_in(1), default=None, help="first N test images only (default: all)")
    p.add_argument("--retrain-epochs", type=int_in(1, 10000), default=None, metavar="E",
                   help="--model with master weights (compress --keep-master): accuracy at each width from re-clustering "
                        "the float weights and fine-tuning E epochs, not from re-clustering the shared weights")
    p.add_argument("--out", required=True, metavar="SWEEP.parquet|SWEEP.csv",
                   help="results file, its format from the extension; rerunning resumes from it")
    p.add_argument("--workers", type=int_in(1, 1024), default=None, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT", help="use an existing Dask cluster")
    p.add_argument("--energy-table", default="eie45", metavar="eie45|horowitz45|FILE.toml",
                   help="energy table every point is priced with; eie45 is calibrated to EIE Table II (default)")
    p.add_argument("--node-nm", type=NODE_NM, default=None, help="rescale the energy table to this node (nm)")
    p.add_argument("--vdd", type=VDD, default=None, help="rescale the energy table to this supply (V)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the Table III layers and of a fallback model input")
    p.add_argument("--append", action="store_true",
                   help="add this run's rows to a results file that holds another run (other seed, layers, energy "
                        "table, accuracy samples, ...); without it such a file is refused")
    p.add_argument("--batch-size", type=int_in(1), default=None, help="points per Dask task (default: automatic)")
    p.add_argument("--flush-seconds", type=float_in(0, 1e6), default=2.0, help="rewrite --out at most this often (default 2)")
    p.add_argument("--retry-errors", action="store_true", help="rerun points whose earlier run recorded an error")
    p.add_argument("--quiet", "--no-progress", dest="no_progress", action="store_true",
                   help="no progress bar or progress lines on stderr (--quiet, as in compress, import and codesign)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("plot", help="figures from a sweep: " + ", ".join(KINDS),
                       description="Each figure varies one field and holds every other swept field at a reference "
                                   "value (the ArchConfig default when swept, else the middle value); the title and "
                                   "the printed line say which. The speedup figure's caption says whether the "
                                   "activation registers were fixed (super-linear) or sized to the layer (sweep with "
                                   "--set act_regs_per_pe=R, R x PEs >= rows: near-linear, as the paper's Fig. 11). "
                                   "A file holding several runs (sweep --append: other seeds, sample counts, energy "
                                   "tables) is drawn for the one chosen by --seed, --accuracy-samples or --where, and "
                                   "refused, naming the column that varies, when none is chosen.")
    p.add_argument("sweep", metavar="SWEEP.parquet")
    p.add_argument("--kind", default="all", choices=[*KINDS, "all"],
                   help="figure to draw (default all: one PNG per kind into the -o folder)")
    p.add_argument("-o", "--out", required=True, metavar="FOLDER|FIG.png",
                   help="output folder (--kind all, the default) or file (one --kind)")
    p.add_argument("--layers", default=None, metavar="NAMES",
                   help="comma-separated layers to plot (as in the sweep's layer column; alex7 matches alex7@0.25)")
    p.add_argument("--accuracy-samples", type=_samples, default=None, metavar="N|all",
                   help="the rows whose accuracy is over N test images (or all), when the file holds several counts; "
                        "for files that do not record it, the count named in the Pareto label")
    p.add_argument("--seed", type=SEED, default=None, help="the rows of this sweep seed, when the file holds several")
    p.add_argument("--where", action="append", metavar="COLUMN=VALUE",
                   help="only rows with this value (repeatable), e.g. to choose one energy_table of several")
    p.set_defaults(func=_cmd_plot)
