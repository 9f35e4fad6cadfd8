"""The results file of a sweep: reading it back (:func:`load_sweep`), the finished rows a rerun
resumes from and the model accuracies they already hold, and :class:`ResultsFile`, which
collects the rows workers return, turns them into tidy frames (integer and text columns, the
accuracy and energy-table columns) and rewrites the Parquet file atomically, at most every
``flush_s`` seconds while the sweep runs and once more at the end or on an interrupt.

Safety (nothing computed is lost, nothing doctored is trusted):

* **One writer.** A sweep with ``out`` holds an exclusive lock on ``<out>.lock`` for its whole
  run (``fcntl.flock(LOCK_EX | LOCK_NB)``; the file names the holder's pid, host and start
  time). A second sweep on the same file is *refused at once* with a ConfigError naming the
  holder, rather than made to wait: both would compute the same points, and a sweep silently
  queued behind one that may run for hours looks like a hang. The kernel drops the lock when
  the holder dies (even on SIGKILL), so a stale lock file never blocks; the file is removed at
  the end, also on an error or Ctrl-C. flock is advisory and per machine: on a network file
  system it excludes writers on other hosts only when the server supports it (NFSv4 does).
* **Resume trusts nothing blindly** (:func:`load_finished`). The file must have the columns
  of a sweep with the right kinds (text, integers, numbers); otherwise it is refused before
  any work, naming the file and the column. Then every row is checked (16-digit hex
  point_id, non-empty layer and source, a configuration ArchConfig accepts, cycles >= 1,
  finite non-negative latency, energy, power, counters; metrics may be null only with an
  ``error``), and every row of this sweep against its plan: the configuration, source, layer
  and energy table must be those its point_id was computed from, and a point must have a row
  for each of its layers (a model: every layer). Rows that fail are dropped (a warning says
  how many and why) and their points run again. Rows of other sweeps sharing the file are checked
  row by row and carried along; their ids can only be checked by the sweep they belong to.
  A row whose id *and* configuration were both rewritten to another point's cannot be told
  from a real one: ids are digests, not signatures.
* **A failed write keeps every row** (:meth:`ResultsFile._write`). When writing ``out``
  fails (disk full, permissions, ...), the rows computed in this run go to a side file,
  ``<out>.rescue-<time>-<pid>.parquet`` next to it, else in the system temp folder
  (``eie-sim-rescue-<stem>-<digest of out>-<time>-<pid>.parquet``), as JSON Lines when
  Parquet fails too; the raised :class:`SweepWriteError` names it. A rerun with the same
  ``out`` merges every rescue file of that ``out`` (validated like the file) and deletes them
  once ``out`` holds their rows; :func:`load_sweep` warns while rescue files of a file exist.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import hashlib
import json
import os
import re
import socket
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype, is_bool_dtype, is_integer_dtype, is_numeric_dtype

from ..config import ArchConfig
from ..cycle.conv import CONV_COUNTERS
from ..cycle.simulator import COUNTERS
from ..errors import ConfigError, describe
from .tables import TEXT_COLUMNS, null_errors, read_results, write_results
from .space import SWEEP_FIELDS, plan_mismatches

__all__ = ["load_sweep", "SweepWriteError", "ResultsLock", "ResultsFile", "FinishedRows", "ModelAccuracy", "load_finished",
           "load_rows", "saved_accuracy"]


class SweepWriteError(ConfigError):
    """Writing the results file failed. ``rescue_path``: the side file holding the rows computed
    in this run (None when no side file could be written); ``results``: every row in memory."""

    def __init__(self, message: str, results: pd.DataFrame, rescue_path: Path | None):
        super().__init__(message)
        self.results = results
        self.rescue_path = rescue_path


def load_sweep(path) -> pd.DataFrame:
    """A sweep's results from its Parquet file (needs pyarrow); warns when rescue files of it hold
    rows a rerun of the sweep has not merged yet."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ConfigError(f"path={describe(path)}: expected the path of a sweep results file (.parquet)")
    df = read_results(Path(path))
    if rescue := _rescue_files(Path(path)):
        warnings.warn(f"sweep file {str(path)!r}: {len(rescue)} rescue file(s) of it ({str(rescue[0])!r}, ...) hold rows "
                      "of a run whose write failed; rerun the sweep with the same out to merge them", UserWarning,
                      stacklevel=2)
    return df


_INT_COLS = ("rows", "cols", "cycles", "entries", "padding_entries", "pe_work_max", *COUNTERS, *CONV_COUNTERS)


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    for c in _INT_COLS:
        if c in df.columns:
            df[c] = df[c].astype("Int64")
    if "notes" in df.columns:
        df["notes"] = df["notes"].fillna("").astype(str)
    return null_errors(df)


# ----------------------------------------------------------------------------- the output file and its lock


class ResultsLock:
    """The exclusive lock of results file ``out`` (``<out>.lock``, see the module docstring)."""

    def __init__(self, out: Path):
        self.out, self.path, self._fd = out, out.with_name(out.name + ".lock"), None

    def __enter__(self) -> "ResultsLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise ConfigError(f"out={str(self.out)!r}: cannot create its lock file {str(self.path)!r} "
                                  f"({exc.strerror}); choose another out") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = self._holder(fd)
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise ConfigError(f"out={str(self.out)!r} is being written by {holder}; wait for it to finish "
                                      "or choose another out (--out)") from None
                raise ConfigError(f"out={str(self.out)!r}: cannot lock {str(self.path)!r} ({exc.strerror}); "
                                  "choose an out on a local file system") from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if same:
                self._fd = fd
                info = {"pid": os.getpid(), "host": socket.gethostname(),
                        "since": datetime.now().strftime("%Y-%m-%d %H:%M:%S")}
                with contextlib.suppress(OSError):  # a full disk: the lock holds, only the holder's name is missing
                    os.ftruncate(fd, 0)
                    os.write(fd, (json.dumps(info) + "\n").encode())
                return
            os.close(fd)  # the holder removed the file between our open and lock: lock the new one
        raise ConfigError(f"out={str(self.out)!r}: cannot lock {str(self.path)!r}: other sweeps keep replacing it")

    def _holder(self, fd: int) -> str:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            info = json.loads(os.read(fd, 4096).decode())
            return f"pid {info['pid']} on host {info['host']} since {info['since']}"
        except Exception:  # noqa: BLE001 - the holder has not written its name yet
            return f"another sweep (lock file {str(self.path)!r})"

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)  # still ours: whoever opened it since re-checks after locking (acquire)
            os.close(fd)


# ----------------------------------------------------------------------------- rescue files


def _out_digest(out: Path) -> str:
    return hashlib.blake2b(str(out.resolve()).encode(), digest_size=6).hexdigest()


def _rescue_target(out: Path, folder: Path, ext: str) -> Path:
    stamp = f"{datetime.now().strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    if folder == out.parent:
        return folder / f"{out.name}.rescue-{stamp}.{ext}"
    return folder / f"eie-sim-rescue-{out.stem}-{_out_digest(out)}-{stamp}.{ext}"


def _rescue_files(out: Path) -> list[Path]:
    """Every rescue file of ``out``, oldest first (next to it, then in the temp folder)."""
    found = []
    for folder, pattern in ((out.parent, glob.escape(out.name) + ".rescue-*"),
                            (Path(tempfile.gettempdir()), f"eie-sim-rescue-*-{_out_digest(out)}-*")):
        found += sorted(p for p in folder.glob(pattern) if p.suffix in (".parquet", ".jsonl") and p.is_file())
    return found


def _plain(v):
    """A JSON-ready value: NumPy scalars to Python, pandas NA to None (NaN stays NaN)."""
    if v is None or v is pd.NA:
        return None
    return v.item() if isinstance(v, np.generic) else v


def _write_jsonl(records: list[dict], path: Path) -> None:
    with open(path, "w") as fh:
        for r in records:
            fh.write(json.dumps({k: _plain(v) for k, v in r.items()}) + "\n")


def _read_jsonl(path: Path) -> pd.DataFrame:
    with open(path) as fh:
        df = pd.DataFrame.from_records([json.loads(line) for line in fh if line.strip()])
    for c in (*_INT_COLS, *_INT_FIELDS):
        if c in df.columns and not is_integer_dtype(df[c]):
            try:
                df[c] = df[c].astype("Int64")
            except (TypeError, ValueError):
                pass  # left as it is: the checks refuse or drop it
    return df


def _write_rescue(out: Path, make_frame, records) -> tuple[Path | None, list[str]]:
    """Write the rows to the first rescue file that works: Parquet next to ``out``, JSON Lines
    there, Parquet in the temp folder, JSON Lines there. (path or None, the failures)."""
    errs = []
    for folder in (out.parent, Path(tempfile.gettempdir())):
        for ext in ("parquet", "jsonl"):
            target = _rescue_target(out, folder, ext)
            tmp = target.with_name(f".{target.name}.tmp")
            try:
                if ext == "parquet":
                    make_frame().to_parquet(tmp, index=False)
                else:
                    _write_jsonl(records(), tmp)
                os.replace(tmp, target)
                return target, errs
            except Exception as exc:  # noqa: BLE001 - try the next place
                errs.append(f"{target}: {type(exc).__name__}: {exc}")
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
    return None, errs


# ----------------------------------------------------------------------------- checking what a rerun resumes from

_INT_FIELDS = tuple(f for f in SWEEP_FIELDS if isinstance(getattr(ArchConfig(), f), int))
_TEXT_COLS = TEXT_COLUMNS
_REQUIRED = ("point_id", "layer", "source", "source_name", "error", *SWEEP_FIELDS)
_POS_INT = ("cycles", "rows", "cols")
_NONNEG = ("latency_us", "energy_pj", "power_mw", "area_mm2", "load_efficiency", "gops", "padding_pct",
           "pe_work_mean", "pe_imbalance", "pe_starved_frac_mean", "pe_blocked_frac_mean")
_ID = re.compile(r"[0-9a-f]{16}")


def _kind(col: str) -> str | None:
    if col in _TEXT_COLS:
        return "text"
    if col in _INT_COLS or col in _INT_FIELDS:
        return "integers"
    if col in _NONNEG or col in SWEEP_FIELDS or col in ("accuracy", "frames_per_j") or (
            col.startswith("energy_") and col.endswith("_pj")):
        return "numbers"
    return None  # a column this version does not know: carried along unchecked


def _check_columns(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Refuse ``df`` (file ``name``) when a column is missing or holds the wrong kind of values;
    numbers stored as text-free objects are converted."""
    for c in _REQUIRED:
        if c not in df.columns:
            raise ConfigError(f"{name} has no column {c!r}: not the results of an eie-sim sweep (or of another "
                              "version); move it away or choose another out")
    for c in df.columns:
        kind, s = _kind(c), df[c]
        if kind is None:
            continue
        inferred = infer_dtype(s, skipna=True)
        if inferred == "empty":
            ok = True
        elif kind == "text":
            ok = inferred == "string"
        else:
            # numbers where integers belong (2.0, or 2.5) are a problem of the rows that hold them, below
            ok = is_numeric_dtype(s) and not is_bool_dtype(s)
            if not ok and s.dtype == object and inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
                df[c] = pd.to_numeric(s)
                ok = True
        if not ok:
            bad = s.dropna()
            eg = f" (e.g. {describe(bad.iloc[0])})" if len(bad) else ""
            raise ConfigError(f"{name}: column {c!r} holds {s.dtype} values{eg}; expected {kind}: not the results of "
                              "an eie-sim sweep, or edited; fix it, move it away or choose another out")
    return df


def _num(df: pd.DataFrame, c: str) -> np.ndarray:
    if c not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[c], errors="coerce").astype("float64").to_numpy(na_value=np.nan)


def _row_problems(df: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """(what is wrong, the rows it is wrong in) for every check of a single row."""
    found = []

    def add(reason, bad):
        bad = np.asarray(bad, dtype=bool)
        if bad.any():
            found.append((reason, bad))

    def text(c):
        return df[c].map(lambda v: isinstance(v, str) and v != "").to_numpy(dtype=bool)

    add("point_id is not a 16-digit hex id", ~df["point_id"].map(lambda v: isinstance(v, str) and bool(_ID.fullmatch(v))))
    for c in ("layer", "source_name"):
        add(f"{c} is empty or null", ~text(c))
    add("source is not table3, model or user", ~df["source"].isin(["table3", "model", "user"]).to_numpy(dtype=bool))
    err = text("error")  # null (or "" in older files): the point ran; a message: it failed
    cfg = df[list(SWEEP_FIELDS)]
    null_cfg = cfg.isna().any(axis=1).to_numpy()
    add("a configuration field is null", null_cfg)
    uniq = cfg[~null_cfg].drop_duplicates()
    ok = []
    for rec in uniq.to_dict("records"):
        rec = {k: _plain(v) for k, v in rec.items()}
        rec = {k: int(v) if k in _INT_FIELDS and isinstance(v, float) and v.is_integer() else v for k, v in rec.items()}
        try:
            ArchConfig(**rec)
            ok.append(True)
        except Exception:  # noqa: BLE001 - any refusal makes the row untrusted
            ok.append(False)
    good_cfg = cfg.merge(uniq.assign(_ok=ok), on=list(SWEEP_FIELDS), how="left")["_ok"].eq(True).to_numpy(dtype=bool)
    add("its configuration is not a valid ArchConfig", ~good_cfg & ~null_cfg)
    for c in (*_POS_INT, *(x for x in _INT_COLS if x not in _POS_INT)):
        if c not in df.columns and c != "cycles":  # a missing cycles column fails every row without error
            continue
        v, lo = _num(df, c), 1 if c in _POS_INT else 0
        valid = np.isfinite(v) & (v >= lo) & (v == np.floor(v))
        add(f"{c} is not an integer >= {lo}", np.where(err, ~np.isnan(v) & ~valid, ~valid))
    for c in _NONNEG:
        if c not in df.columns and c not in ("latency_us", "energy_pj"):
            continue
        v = _num(df, c)
        valid = np.isfinite(v) & (v >= 0)
        add(f"{c} is not a finite number >= 0", np.where(err, ~np.isnan(v) & ~valid, ~valid))
    for c in df.columns:
        if (c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj") or c == "frames_per_j":
            v = _num(df, c)
            add(f"{c} is negative or not finite", ~np.isnan(v) & ~((v >= 0) & (np.isfinite(v) | (c == "frames_per_j"))))
    if "accuracy" in df.columns:
        v = _num(df, "accuracy")
        add("accuracy is not in [0, 1]", ~np.isnan(v) & ~((v >= 0) & (v <= 1)))
    return found


@dataclass
class FinishedRows:
    """What a rerun resumes from: the kept rows (None: nothing), the trusted ids of this sweep's
    points, the rescue files merged in, and how many rows were dropped."""

    rows: pd.DataFrame | None = None
    trusted: set = field(default_factory=set)
    rescued: list = field(default_factory=list)
    dropped: int = 0


def load_finished(path: Path | None, todo: list, auto_ptr: bool, table_name: str, retry_errors: bool) -> FinishedRows:
    """The checked rows of ``path`` and its rescue files (module docstring): a file that cannot be
    read or has wrong column kinds is refused; rows that fail a check are dropped (with a
    warning); with ``retry_errors`` this sweep's points that failed are left out, so they run again."""
    if path is None:
        return FinishedRows()
    frames, rescued = [], _rescue_files(path)
    for p in ([path] if path.exists() else []) + rescued:
        name = f"out={str(path)!r}" if p == path else f"rescue file {str(p)!r} of out={str(path)!r}"
        try:
            df = _read_jsonl(p) if p.suffix == ".jsonl" else read_results(p)  # the results file: by its extension
        except Exception as exc:  # noqa: BLE001 - a file we cannot read is refused, not skipped
            detail = str(exc) if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
            raise ConfigError(f"{name} cannot be read ({detail}); move it away or choose another out") from None
        frames.append(_check_columns(df, name))
    if not frames:
        return FinishedRows()
    old = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    old = old.drop_duplicates(subset=["point_id", "layer"], keep="last").reset_index(drop=True)
    problems = _row_problems(old)
    row_bad = np.zeros(len(old), dtype=bool)
    for _, b in problems:
        row_bad |= b
    problems += [(r, b & ~row_bad) for r, b in plan_mismatches(old, todo, auto_ptr, table_name) if (b & ~row_bad).any()]
    for _, b in problems:
        row_bad |= b
    # a point of this sweep is trusted when all its rows pass and it has each of its layers once
    plan = {pid: s for s, _, pid in todo}
    pids = old["point_id"].to_numpy(dtype=object)
    mine = old["point_id"].isin(plan).to_numpy(dtype=bool)
    untrusted = set(old.loc[mine & row_bad, "point_id"])
    for pid, layers in old.loc[mine & ~row_bad].groupby("point_id")["layer"]:
        want = plan[pid].layer_names()
        if sorted(layers) != sorted(want) and list(layers) != [plan[pid].name]:
            untrusted.add(pid)
    incomplete = mine & ~row_bad & pd.Series(pids).isin(untrusted).to_numpy(dtype=bool)
    if incomplete.any():
        problems.append(("its point lacks some of its layers' rows", incomplete))
    drop = row_bad | (mine & pd.Series(pids).isin(untrusted).to_numpy(dtype=bool))
    if drop.any():
        why = "; ".join(f"{int((b & drop).sum())} where {r}" for r, b in problems)
        warnings.warn(f"out={str(path)!r}: {int(drop.sum())} row(s) failed the resume checks and are dropped ({why}); "
                      "this sweep runs its points among them again", UserWarning, stacklevel=3)
    kept = old[~drop]
    if retry_errors:
        failed = set(kept.loc[kept["point_id"].isin(plan) & kept["error"].notna() & (kept["error"] != ""), "point_id"])
        kept = kept[~kept["point_id"].isin(failed)]
    kept = kept.reset_index(drop=True)
    for c in _INT_FIELDS:
        if not is_integer_dtype(kept[c]):
            kept[c] = kept[c].astype("int64")
    for c in _INT_COLS:
        if c in kept.columns and not is_integer_dtype(kept[c]):
            kept[c] = kept[c].astype("Int64")
    trusted = set(kept.loc[kept["point_id"].isin(plan), "point_id"])
    return FinishedRows(kept, trusted, rescued, int(drop.sum()))


def load_rows(path: Path) -> FinishedRows:
    """The rows of ``path`` and its rescue files that pass the row checks (:func:`_row_problems`;
    others dropped with a warning), without a plan to check them against (the co-design's resume)."""
    frames, rescued = [], _rescue_files(path)
    for p in ([path] if path.exists() else []) + rescued:
        try:
            df = _read_jsonl(p) if p.suffix == ".jsonl" else read_results(p)
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(f"out={str(path)!r}: {p} cannot be read ({exc}); move it away or choose another out") from None
        frames.append(_check_columns(df, f"out={str(path)!r}"))
    if not frames:
        return FinishedRows()
    old = pd.concat(frames, ignore_index=True).drop_duplicates(subset=["point_id", "layer"], keep="last")
    bad = np.zeros(len(old), bool)
    for _, b in _row_problems(old.reset_index(drop=True)):
        bad |= b
    if bad.any():
        warnings.warn(f"out={str(path)!r}: {int(bad.sum())} row(s) failed the checks and are dropped; their designs "
                      "run again", UserWarning, stacklevel=3)
    kept = old[~bad].reset_index(drop=True)
    return FinishedRows(kept, set(kept["point_id"]), rescued, int(bad.sum()))


def saved_accuracy(finished: FinishedRows, accuracy: "ModelAccuracy") -> dict:
    """{(weight_bits, act_bits): accuracy} from this sweep's trusted rows of the same model and
    dataset, so it is not computed again."""
    acc, df = {}, finished.rows
    if df is not None and "accuracy" in df:
        keep = df["point_id"].isin(finished.trusted) & df["accuracy"].notna()
        for c, want in (("accuracy_model", accuracy.name), ("accuracy_dataset", accuracy.dataset)):
            keep &= df[c] == want if c in df else False
        want_n = np.nan if accuracy.samples is None else float(accuracy.samples)  # the same test images only
        got_n = df["accuracy_samples"] if "accuracy_samples" in df else pd.Series(np.nan, index=df.index)
        keep &= (got_n == want_n) | (got_n.isna() & (want_n != want_n))
        for (wb, ab), v in df[keep].groupby(["weight_bits", "act_bits"])["accuracy"].first().items():
            acc[(int(wb), int(ab))] = float(v)
    return acc


@dataclass
class ModelAccuracy:
    """The accuracy columns of a sweep given a trained model: its file (``path``, the file ``name``
    goes in ``accuracy_model``), ``dataset``, the first ``samples`` test images (None: all) and
    ``known`` {(weight_bits, act_bits): accuracy}, from the results file and then the workers;
    ``retrain_epochs``: fine-tune from the master weights at each width (None: re-cluster only)."""

    path: str
    name: str
    dataset: str
    samples: int | None
    known: dict = field(default_factory=dict)
    retrain_epochs: int | None = None


# ----------------------------------------------------------------------------- writing


class ResultsFile:
    """Every row of one sweep: the finished ones it resumes from and the new ones, written to
    ``path`` (when not None) atomically. New rows get the ``energy_table`` name, the ``run``
    columns (:func:`.run_key.run_columns`) and, when ``accuracy`` is given, its columns (as known when they are first turned into a frame).
    A failed write saves this run's rows to a rescue file and raises :class:`SweepWriteError`;
    rescue files merged into ``finished`` are deleted once ``path`` holds their rows."""

    def __init__(self, path: Path | None, finished: FinishedRows, flush_s: float, energy_table: str,
                 accuracy: ModelAccuracy | None = None, run: dict | None = None):
        self.path = path
        self.rows: list[dict] = []  # new rows, in the order they arrived
        self._finished = [] if finished.rows is None else [finished.rows]
        #: point ids of the finished rows loaded from the file
        self.done_ids = set(finished.rows["point_id"]) if finished.rows is not None else set()
        self._rescued = list(finished.rescued)
        self._dirty = bool(finished.rescued or finished.dropped)  # the file must be rewritten even with no new rows
        self._n_written = 0
        self._failed: SweepWriteError | None = None
        self._converted: list[pd.DataFrame] = []  # new rows already turned into frames, in order
        self._n_converted = 0
        self._energy_table = energy_table
        self._accuracy = accuracy
        self._run = dict(run or {})  # the run's settings, on every new row (explore.run_key)
        self._flush_s = flush_s
        self._interval = flush_s
        self._last_flush = time.perf_counter()

    def add(self, rows: list[dict]) -> None:
        self.rows.extend(rows)

    def _to_frame(self, rows: list[dict]) -> pd.DataFrame:
        df = pd.DataFrame(rows)
        a = self._accuracy
        if a is not None:
            df["accuracy"] = [a.known.get((r["weight_bits"], r["act_bits"]), np.nan) for r in rows]
            df["accuracy_model"] = a.name
            df["accuracy_dataset"] = a.dataset
            df["accuracy_samples"] = np.nan if a.samples is None else float(a.samples)  # NaN: every test image
        df["energy_table"] = self._energy_table
        for c, v in self._run.items():
            df[c] = v
        return _tidy(df)

    def frame(self) -> pd.DataFrame:
        """Every row so far; only the rows since the last call are converted."""
        if len(self.rows) > self._n_converted:
            self._converted.append(self._to_frame(self.rows[self._n_converted :]))
            self._n_converted = len(self.rows)
        frames = self._finished + self._converted
        if not frames:
            return pd.DataFrame(columns=["point_id"])
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return df.drop_duplicates(subset=["point_id", "layer"], keep="last").reset_index(drop=True)

    def start_clock(self) -> None:
        """The first periodic write comes ``flush_s`` seconds from now."""
        self._interval = self._flush_s
        self._last_flush = time.perf_counter()

    def _unwritten(self) -> bool:
        return self.path is not None and self._failed is None and (len(self.rows) > self._n_written or self._dirty)

    def maybe_flush(self) -> None:
        """Rewrite the file when the flush interval has passed since the last write."""
        if self._unwritten() and time.perf_counter() - self._last_flush >= self._interval:
            t_w = time.perf_counter()
            self._write()
            self._last_flush = time.perf_counter()
            # a big file is rewritten less often: writing stays under ~10% of the driver's time
            self._interval = max(self._flush_s, 10 * (self._last_flush - t_w))

    def close(self) -> None:
        """The final write (also on an interrupt), when there is anything new; again a no-op."""
        if self._unwritten():
            self._write()

    def _write(self) -> None:
        n = len(self.rows)
        try:
            write_results(self.frame(), self.path)
        except Exception as exc:  # noqa: BLE001 - disk full, permissions, a column pyarrow refuses, ...
            self._failed = self._rescue(exc)
            raise self._failed from None
        self._n_written, self._dirty = n, False
        for p in self._rescued:  # their rows are in the file now
            with contextlib.suppress(OSError):
                p.unlink()
        self._rescued = []

    def _rescue(self, exc: Exception) -> SweepWriteError:
        """Save this run's rows to a rescue file; the error to raise, naming it."""
        out, rows = self.path, list(self.rows)
        what = f"{type(exc).__name__}: {exc}"
        try:
            everything = self.frame()
        except Exception:  # noqa: BLE001
            everything = pd.DataFrame(rows)
        if not rows:
            return SweepWriteError(f"out={str(out)!r}: writing failed ({what}); nothing new was computed and the file "
                                   "and its rescue files are unchanged; fix the cause and rerun", everything, None)

        def records():
            try:
                return self._to_frame(rows).to_dict("records")
            except Exception:  # noqa: BLE001 - the raw rows, with what the frame would add
                return [{**r, "energy_table": self._energy_table} for r in rows]

        side, errs = _write_rescue(out, lambda: self._to_frame(rows), records)
        if side is None:
            return SweepWriteError(f"out={str(out)!r}: writing failed ({what}) and so did every rescue file "
                                   f"({errs[-1]}); the {len(rows)} row(s) computed in this run are only in this "
                                   "error's .results", everything, None)
        where = "" if side.parent == out.parent else " (in the temp folder: rerun on this machine with the same TMPDIR)"
        return SweepWriteError(f"out={str(out)!r}: writing failed ({what}); the {len(rows)} row(s) computed in this run "
                               f"are saved in {str(side)!r}{where}; fix the cause (free space, permissions) and rerun "
                               "with the same out: the rerun merges that file and resumes", everything, side)
