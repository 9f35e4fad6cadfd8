"""The results file of a sweep: reading it back (:func:`load_sweep`), the finished rows a rerun
resumes from and the model accuracies they already hold, and :class:`_ResultsFile`, which
collects the rows workers return, turns them into tidy frames (integer and text columns, the
accuracy and energy-table columns) and rewrites the Parquet file atomically, at most every
``flush_s`` seconds while the sweep runs and once more at the end or on an interrupt.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..cycle.simulator import COUNTERS
from ..errors import ConfigError


def load_sweep(path) -> pd.DataFrame:
    """A sweep's results from its Parquet file (needs pyarrow)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file {str(path)!r} does not exist")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise ConfigError(f"sweep file {str(path)!r} is not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    if "point_id" not in df.columns:
        raise ConfigError(f"sweep file {str(path)!r} has no point_id column: not an eie-sim sweep")
    return df


_INT_COLS = ("rows", "cols", "cycles", "entries", "padding_entries", "pe_work_max", *COUNTERS)


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    for c in _INT_COLS:
        if c in df.columns:
            df[c] = df[c].astype("Int64")
    for c in ("error", "notes"):
        if c in df.columns:
            df[c] = df[c].fillna("").astype(str)
    return df


def _write_atomic(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@dataclass
class _ModelAccuracy:
    """The accuracy columns of a sweep given a trained model: its file (``path``, the file ``name``
    goes in ``accuracy_model``), ``dataset``, the first ``samples`` test images (None: all) and
    ``known`` {(weight_bits, act_bits): accuracy}, from the results file and then the workers."""

    path: str
    name: str
    dataset: str
    samples: int | None
    known: dict = field(default_factory=dict)


def _load_finished(path: Path | None, retry_errors: bool) -> pd.DataFrame | None:
    """The rows already in the results file at ``path`` (None when there is none); with
    ``retry_errors`` without the points that failed, so they run again."""
    if path is None or not path.exists():
        return None
    old = load_sweep(path)
    if retry_errors:
        bad = set(old.loc[old["error"].astype(str) != "", "point_id"])
        old = old[~old["point_id"].isin(bad)]
    return old


def _saved_accuracy(finished: pd.DataFrame | None) -> dict:
    """{(weight_bits, act_bits): accuracy} from the finished rows, so it is not computed again."""
    acc = {}
    if finished is not None and "accuracy" in finished:
        old = finished.dropna(subset=["accuracy"])
        for (wb, ab), v in old.groupby(["weight_bits", "act_bits"])["accuracy"].first().items():
            acc[(int(wb), int(ab))] = float(v)
    return acc


class _ResultsFile:
    """Every row of one sweep: the finished ones it resumes from and the new ones, written to
    ``path`` (when not None) atomically. New rows get the ``energy_table`` name and, when
    ``accuracy`` is given, its columns (as known when they are first turned into a frame)."""

    def __init__(self, path: Path | None, finished: pd.DataFrame | None, flush_s: float, energy_table: str,
                 accuracy: _ModelAccuracy | None = None):
        self.path = path
        self.rows: list[dict] = []  # new rows, in the order they arrived
        self._finished = [] if finished is None else [finished]
        #: point ids of the finished rows loaded from the file
        self.done_ids = set(finished["point_id"]) if finished is not None else set()
        self._converted: list[pd.DataFrame] = []  # new rows already turned into frames, in order
        self._n_converted = 0
        self._energy_table = energy_table
        self._accuracy = accuracy
        self._flush_s = flush_s
        self._interval = flush_s
        self._last_flush = time.perf_counter()

    def add(self, rows: list[dict]) -> None:
        self.rows.extend(rows)

    def frame(self) -> pd.DataFrame:
        """Every row so far; only the rows since the last call are converted."""
        if len(self.rows) > self._n_converted:
            fresh = self.rows[self._n_converted :]
            df = pd.DataFrame(fresh)
            a = self._accuracy
            if a is not None:
                df["accuracy"] = [a.known.get((r["weight_bits"], r["act_bits"]), np.nan) for r in fresh]
                df["accuracy_model"] = a.name
                df["accuracy_dataset"] = a.dataset
            df["energy_table"] = self._energy_table
            self._converted.append(_tidy(df))
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

    def maybe_flush(self) -> None:
        """Rewrite the file when the flush interval has passed since the last write."""
        if self.path is not None and time.perf_counter() - self._last_flush >= self._interval:
            t_w = time.perf_counter()
            _write_atomic(self.frame(), self.path)
            self._last_flush = time.perf_counter()
            # a big file is rewritten less often: writing stays under ~10% of the driver's time
            self._interval = max(self._flush_s, 10 * (self._last_flush - t_w))

    def close(self) -> None:
        """The final write (also on an interrupt), when there are new rows."""
        if self.path is not None and self.rows:
            _write_atomic(self.frame(), self.path)
