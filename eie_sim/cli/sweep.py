"""``eie-sim sweep`` and ``eie-sim plot``: design-space sweeps on Dask and their figures."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..cycle import suite
from ..config import ArchConfig
from ..errors import ConfigError
from .common import SEED, add_energy_args, check_writable, comma_list, float_in, int_in, strict_json, table_from_args
from .vocabulary import add_deprecated, say

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
    for opt, ok, what in (("limit_test", args.model, "the accuracy of --model, which is not given"),
                          ("finetune_epochs", args.model, "the accuracy of --model, which is not given"),
                          ("input_index", args.model or model_files, "the input of a model, and neither --model nor a "
                           "model file in --layers is given"),
                          ("input", args.model or model_files, "the input of a model, and neither --model nor a "
                           "model file in --layers is given"),
                          ("row_cv", len(model_files) < len(layers), "the Table III layers, and --layers names none"),
                          ("col_cv", len(model_files) < len(layers), "the Table III layers, and --layers names none"),
                          ("dataset", args.model or model_files,
                           "a model (its accuracy and input), and neither --model nor a model file in --layers is given")):
        if getattr(args, opt) is not None and not ok:
            raise ConfigError(f"--{opt.replace('_', '-')}={getattr(args, opt)}: applies to {what}")
    if args.input and args.input_index is not None:
        raise ConfigError(f"--input-index={args.input_index} with --input={args.input}: give one input")
    prog = _Progress(bar=not args.quiet)
    t0 = time.perf_counter()
    try:
        df = sweep(space, layers, model=args.model, energy_table=table_from_args(args), scheduler=args.scheduler,
                   workers=args.workers, out=args.out, seed=args.seed, dataset=args.dataset,
                   input_index=args.input_index or 0, accuracy_samples=args.limit_test,
                   batch_size=args.points_per_task, retry_errors=args.retry_errors, flush_s=args.flush_seconds,
                   progress=prog, retrain_epochs=args.finetune_epochs, append=args.append, input_file=args.input,
                   **_generator(args))
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
        sources = len(df[["source", "source_name"]].drop_duplicates()) if "source_name" in df.columns else 0
        per = (f" (a point is one configuration on one layer source: {summary['points'] // sources} x {sources}; a model "
               "file is one source with a row per layer)" if sources and summary["points"] % sources == 0 else "")
        print(f"{summary['points']} points{done}, {summary['rows']} rows ({errors} with errors) in {args.out}; "
              f"{wall:.1f} s{per}")
        if errors:
            first = df.loc[df["error"].notna(), ["layer", "error"]].iloc[0]
            print(f"first error: {first['layer']}: {first['error']}")
    if len(df) and errors == len(df):
        print(f"eie-sim: error: every point failed ({errors} rows with errors in {args.out})", file=sys.stderr)
        return 1
    return 0


def _generator(args) -> dict:
    """The Table III generator's dispersion options given (sweep's defaults otherwise)."""
    return {k: getattr(args, k) for k in ("row_cv", "col_cv") if getattr(args, k) is not None}


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
            fig = plot(df, k, path, accuracy_samples=args.limit_test, seed=args.seed, where=where)
        except ConfigError as exc:
            if args.kind != "all":
                raise
            print(f"skipped {k}: {exc}", file=sys.stderr)
            continue
        fixed = ", ".join(f"{f}={v:g}" if isinstance(v, float) else f"{f}={v}" for f, v in fig.eie_fixed.items())
        print(f"wrote {path}" + (f" (held fixed: {fixed})" if fixed else ""))
    return 0


def _samples(text: str):
    """--limit-test of plot: a count >= 1 or 'all'."""
    return "all" if text == "all" else int_in(1)(text)


def add_parsers(sub) -> None:
    from ..explore.plots import KINDS

    p = sub.add_parser("sweep", help="design-space sweep on Dask: PEs x bit widths x FIFO x SRAM width x layers -> Parquet or CSV")
    g = p.add_argument_group("axes (values to sweep, comma-separated)")
    for opt, (field, typ) in _AXES.items():
        flag = f"--{opt.replace('_', '-')}"
        g.add_argument(flag, default=None, metavar="V1,V2,...", help=say(flag, "values to sweep, comma-separated"))
    g.add_argument("--set", action="append", metavar="FIELD=V1,V2", help=say("--set", "its values to sweep, comma-separated"))
    g = p.add_argument_group("layers and inputs")
    g.add_argument("--layers", default=None, metavar="NAMES",
                   help=say("--layers", f"Table III layers ({', '.join(suite.NAMES)}; 'all' for the suite), NAME@SCALE for a "
                                        "scaled copy, or model files"))
    g.add_argument("--scale", type=float_in(0, 1, lo_open=True), default=1.0, help=say("--scale", "every Table III layer"))
    g.add_argument("--row-cv", type=float_in(0, 4), default=None,
                   help=say("--row-cv", f"Table III layers (default {suite.DEFAULT_ROW_CV:g})"))
    g.add_argument("--col-cv", type=float_in(0, 4), default=None,
                   help=say("--col-cv", f"Table III layers (default {suite.DEFAULT_COL_CV:g})"))
    g.add_argument("--model", default=None, metavar="FILE.npz",
                   help=say("--model", "a trained model: its layers join the sweep and every row gets its test accuracy "
                                       "re-clustered at the row's weight_bits"))
    g.add_argument("--input-index", type=int_in(0), default=None, metavar="K",
                   help=say("--input-index", "the input the model's layers are simulated on (default 0)"))
    g.add_argument("--input", default=None, metavar="ACTS.npy",
                   help=say("--input", "the models' layers run on it instead of a test image"))
    g.add_argument("--dataset", default=None, help=say("--dataset", "of the model's accuracy and input (default: the model's)"))
    g.add_argument("--limit-test", type=int_in(1), default=None, help=say("--limit-test", "of the accuracy (default: all)"))
    add_deprecated(g, "sweep", "--accuracy-samples", type=int_in(1))
    g.add_argument("--finetune-epochs", type=int_in(1, 10000), default=None, metavar="E",
                   help=say("--finetune-epochs", "--model with master weights (compress --keep-master): accuracy at each "
                                                 "width from re-clustering the float weights and fine-tuning E epochs, not "
                                                 "from re-clustering the shared weights"))
    add_deprecated(g, "sweep", "--retrain-epochs", type=int_in(1, 10000), metavar="E")
    g = p.add_argument_group("results and energy")
    g.add_argument("--out", required=True, metavar="SWEEP.parquet|SWEEP.csv",
                   help=say("--out", "the results file, its format from the extension; rerunning resumes from it"))
    g.add_argument("--append", action="store_true",
                   help=say("--append", "(other seed, layers, energy table, --limit-test, ...); without it such a file is "
                                        "refused"))
    add_energy_args(g)
    g.add_argument("--seed", type=SEED, default=0, help=say("--seed", "the Table III layers and a fallback model input"))
    g.add_argument("--json", action="store_true", help=say("--json", "the run's summary"))
    g = p.add_argument_group("cluster")
    g.add_argument("--workers", type=int_in(1, 1024), default=None, help=say("--workers", "default: all cores"))
    g.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT", help=say("--scheduler"))
    g.add_argument("--points-per-task", type=int_in(1), default=None, metavar="N", help=say("--points-per-task", "default: automatic"))
    add_deprecated(g, "sweep", "--batch-size", type=int_in(1))
    g.add_argument("--flush-seconds", type=float_in(0, 1e6), default=2.0, help=say("--flush-seconds", "default 2"))
    g.add_argument("--retry-errors", action="store_true", help=say("--retry-errors"))
    g.add_argument("--quiet", action="store_true", help=say("--quiet"))
    add_deprecated(g, "sweep", "--no-progress", flag=True)
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("plot", help="figures from a sweep: " + ", ".join(KINDS),
                       description="Each figure varies one field and holds every other swept field at a reference "
                                   "value (the ArchConfig default when swept, else the middle value); the title and "
                                   "the printed line say which. The speedup figure's caption says whether the "
                                   "activation registers were fixed (super-linear) or sized to the layer (sweep with "
                                   "--set act_regs_per_pe=R, R x PEs >= rows: near-linear, as the paper's Fig. 11). "
                                   "A file holding several runs (sweep --append: other seeds, --limit-test counts, energy "
                                   "tables) is drawn for the one chosen by --seed, --limit-test or --where, and "
                                   "refused, naming the column that varies, when none is chosen.")
    p.add_argument("sweep", metavar="SWEEP.parquet")
    p.add_argument("--kind", default="all", choices=[*KINDS, "all"],
                   help=say("--kind", "default all: one PNG per kind into the -o folder"))
    p.add_argument("-o", "--out", required=True, metavar="FOLDER|FIG.png",
                   help=say("--out", "a folder (--kind all, the default) or a figure file (one --kind)"))
    p.add_argument("--layers", default=None, metavar="NAMES",
                   help=say("--layers", "to plot, as in the sweep's layer column (alex7 matches alex7@0.25)"))
    p.add_argument("--limit-test", type=_samples, default=None, metavar="N|all",
                   help=say("--limit-test", "here: draw the rows of the sweep run with --limit-test N (or all), when the "
                                            "file holds several; for files that do not record it, the count named in "
                                            "the Pareto label"))
    add_deprecated(p, "plot", "--accuracy-samples", type=_samples, metavar="N|all")
    p.add_argument("--seed", type=SEED, default=None,
                   help=say("--seed", "here: draw the rows of the sweep run with --seed S, when the file holds several"))
    p.add_argument("--where", action="append", metavar="COLUMN=VALUE",
                   help=say("--where", "e.g. to choose one energy_table of several"))
    p.set_defaults(func=_cmd_plot)
