"""The run a sweep's rows belong to: the run-level settings every row carries, the check that a
results file may take this run's rows, and the selection of one run's rows for a figure.

Every row of a sweep carries the settings of the run that computed it (:data:`RUN_COLUMNS`):
the command, the layer list, the Table III seed and dispersion, the model input index, the
energy table (name, a digest of its figures, node and supply), and with a model its file name,
digest, dataset, accuracy sample count and fine-tuning epochs. Each of them that changes a
row's values is also part of its ``point_id`` (:mod:`.space`), so a rerun with another setting
computes new rows instead of reusing stale ones.

A results file holds one run unless told otherwise: :func:`check_run` refuses to add the rows of
a run whose settings differ from every run already in the file (another seed, layer list, energy
table, sample count, ...; a file written by ``eie-sim codesign``), naming the field, its value
in the file and now, unless ``append`` is given. Extending the space of the same run (more PE
counts, say) is a resume, not another run. Files of earlier versions lack some columns; what
they do not record is not compared, and their layer list is taken from their rows (a subset of
this run's layers is accepted: the earlier run may have stopped early).

A file that holds several runs (``append``) is drawn one run at a time: :func:`select_run` keeps
the rows of the run chosen (``seed``, ``accuracy_samples``, any other column by ``where``) and
refuses, naming the column and its values, when the rows left still mix runs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..cycle import suite
from ..errors import ConfigError

if TYPE_CHECKING:  # annotations only: pandas is imported where a value is tested against it
    import pandas as pd

__all__ = ["RUN_COLUMNS", "RunMismatchError", "run_columns", "check_run", "select_run"]

#: the run-level settings every sweep row carries, in the order messages name them
RUN_COLUMNS = ("run_command", "run_layers", "seed", "table3_cv", "input_index", "input_file", "energy_table",
               "energy_table_digest",
               "energy_node_nm", "energy_vdd", "accuracy_model", "model_digest", "accuracy_dataset", "accuracy_samples",
               "retrain_epochs")
_LABEL = {"run_command": "command", "run_layers": "layers"}
#: columns that only mean something on the rows of a run with a model (accuracy_model not null)
_MODEL_COLUMNS = ("model_digest", "accuracy_dataset", "accuracy_samples", "retrain_epochs")
#: the plot options that choose a run by these columns
_OPTION = {"seed": "--seed N (seed= in Python)", "accuracy_samples": "--limit-test N|all (accuracy_samples=)"}
_UNKNOWN = object()  # a setting the file does not record (an earlier version wrote it)


class RunMismatchError(ConfigError):
    """The results file holds the rows of another run (another seed, layer list, energy table, ...)."""


def run_columns(sources, table, table_key: str, seed: int, input_index: int, accuracy, model_digest,
                cv: tuple[float, float] = (suite.DEFAULT_ROW_CV, suite.DEFAULT_COL_CV), input_file: str | None = None) -> dict:
    """{column: value} of the run-level settings, the same on every row this run writes;
    ``cv``: the Table III generator's (row, column) density dispersion; ``input_file``: the name
    and digest of the file the models ran on (then no ``input_index``)."""
    kinds = {s.kind for s in sources}
    cols = {"run_command": "sweep", "run_layers": json.dumps([s.name for s in sources]), "seed": int(seed),
            "table3_cv": f"{cv[0]:g}/{cv[1]:g}" if "table3" in kinds else None,
            "input_index": int(input_index) if "model" in kinds and not input_file else np.nan,  # NaN: none (as CSV reads)
            "input_file": input_file if "model" in kinds else None,
            "energy_table": table.name, "energy_table_digest": table_key,
            "energy_node_nm": float(table.node_nm), "energy_vdd": float(table.vdd)}
    if accuracy is not None:
        cols.update(accuracy_model=accuracy.name, model_digest=model_digest, accuracy_dataset=accuracy.dataset,
                    accuracy_samples=np.nan if accuracy.samples is None else float(accuracy.samples),  # NaN: all
                    retrain_epochs=np.nan if accuracy.retrain_epochs is None else int(accuracy.retrain_epochs))
    return cols


def _norm(v):
    """A value as a comparable Python value: NumPy scalars to Python, NaN and NA to None, 4.0 to 4."""
    import pandas as pd

    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if v.is_integer():
            return int(v)
    return v


def _show(field: str, v) -> str:
    if v is None:
        return "none"
    if field == "run_layers":
        try:
            return ",".join(json.loads(v)) if isinstance(v, str) else ",".join(v)
        except ValueError:
            return str(v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _identity(rec: dict) -> dict:
    """A run's settings, normalised; ``accuracy_samples`` of a run with a model and no count is 'all'."""
    out = {f: (_UNKNOWN if rec.get(f, _UNKNOWN) is _UNKNOWN else _norm(rec[f])) for f in RUN_COLUMNS}
    if out["accuracy_samples"] is None and out["accuracy_model"] not in (None, _UNKNOWN):
        out["accuracy_samples"] = "all"
    if isinstance(out["run_layers"], str):
        try:
            out["run_layers"] = tuple(sorted(json.loads(out["run_layers"])))
        except ValueError:
            pass
    return out


def _file_runs(df: pd.DataFrame) -> list[tuple[dict, set | None]]:
    """(settings, layer names seen) of every run in ``df``, in file order. Columns the file
    lacks are unknown; rows without ``run_layers`` give the names of their layers' sources."""
    cols = [c for c in RUN_COLUMNS if c in df.columns]
    d = df[cols].copy()
    if "run_command" not in d.columns:
        d["run_command"] = None
    missing = d["run_command"].isna()
    if missing.any():  # earlier versions: a codesign file has its designs' columns
        codesign = np.zeros(len(df), dtype=bool)
        for c in ("candidate", "rung"):
            if c in df.columns:
                codesign |= df[c].notna().to_numpy()
        d.loc[missing, "run_command"] = np.where(codesign[missing.to_numpy()], "codesign", "sweep")
    runs = []
    for idx in d.groupby(list(d.columns), dropna=False, sort=False).indices.values():
        rec = d.iloc[idx[0]].to_dict()
        for c in RUN_COLUMNS:
            if c not in d.columns:
                rec[c] = _UNKNOWN
        seen = None
        if rec.get("run_layers") is _UNKNOWN or _norm(rec.get("run_layers")) is None:
            rec["run_layers"] = _UNKNOWN
            if "source_name" in df.columns:
                seen = set(df["source_name"].iloc[idx].dropna())
        runs.append((_identity(rec), seen))
    return runs


def _diffs(run: dict, seen: set | None, now: dict) -> list[tuple[str, object, object]]:
    out = []
    for f in RUN_COLUMNS:
        have, want = run[f], now[f]
        if f == "run_layers" and have is _UNKNOWN and seen is not None:
            if not seen <= set(want):
                out.append((f, tuple(sorted(seen)), want))
        elif have is not _UNKNOWN and have != want:
            out.append((f, have, want))
    return out


def check_run(old: pd.DataFrame | None, now: dict, append: bool, out: Path) -> None:
    """Refuse (RunMismatchError, one line) rows of run ``now`` (:func:`run_columns`) in results file
    ``out`` whose rows ``old`` are of other runs only, unless ``append``."""
    if append or old is None or old.empty:
        return
    want = _identity(now)
    best = None
    for run, seen in _file_runs(old):
        d = _diffs(run, seen, want)
        if not d:
            return
        if best is None or len(d) <= len(best):
            best = d
    if any(f == "energy_table" for f, _, _ in best):  # another table: its digest differs too, say it once
        best = [x for x in best if x[0] != "energy_table_digest"]
    what = "; ".join(f"{_LABEL.get(f, f)} {'are' if f == 'run_layers' else 'is'} {_show(f, a)} in the file, "
                     f"{_show(f, b)} now" for f, a, b in best)
    raise RunMismatchError(f"out={str(out)!r} holds the rows of another run ({what}); give --append (append=True) to "
                           "add this run's rows to it, or choose another --out")


# ----------------------------------------------------------------------------- figures: one run at a time


def _values(df: pd.DataFrame, field: str) -> pd.Series:
    """``field`` normalised, on the rows where it means something (a model's columns: its rows)."""
    import pandas as pd

    s = _objects(df[field])
    if field in _MODEL_COLUMNS and "accuracy_model" in df.columns:
        s = s[df["accuracy_model"].notna()]
        if field == "accuracy_samples":
            s = pd.Series(["all" if v is None else v for v in s], index=s.index, dtype=object)
    elif field in _MODEL_COLUMNS:
        s = s.iloc[0:0]
    return s.dropna()


def _objects(s: pd.Series) -> pd.Series:
    """``s`` normalised (:func:`_norm`) as Python objects: 45.0 reads 45, a missing value None."""
    import pandas as pd

    return pd.Series([_norm(v) for v in s], index=s.index, dtype=object)


def _matches(s: pd.Series, value) -> pd.Series:
    want = _norm(value)
    return s.map(lambda v: v == want or str(v) == str(want))


def _sorted(vals) -> list:
    return sorted(vals, key=lambda v: (isinstance(v, str), v if not isinstance(v, str) else 0, str(v)))


def select_run(df: pd.DataFrame, *, seed=None, accuracy_samples=None, where: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """(the rows of one run, {column: value} chosen). ``seed``, ``accuracy_samples`` (a count or
    'all') and ``where`` ({column: value}) keep the rows that have them (refused when none
    does); then every run column must hold one value, or this refuses naming the column, its
    values and the option that chooses. ``accuracy_samples`` on rows that do not record it
    (files of earlier versions) chooses nothing: it is only the label of the Pareto figure."""
    want = dict(where or {})
    if not isinstance(want, dict):
        raise ConfigError(f"where={where!r}: expected a dict of column -> value")
    if seed is not None:
        want["seed"] = seed
    if accuracy_samples is not None and "accuracy_samples" in df.columns and len(_values(df, "accuracy_samples")):
        want["accuracy_samples"] = accuracy_samples
    chosen = {}
    for f, v in want.items():
        if f not in df.columns:
            raise ConfigError(f"{f}={v}: the sweep has no column {f!r}")
        s = _values(df, f) if f in RUN_COLUMNS else _objects(df[f]).dropna()
        hit = _matches(s, "all" if f == "accuracy_samples" and str(v) == "all" else v)
        if not hit.any():
            have = ", ".join(_show(f, x) for x in _sorted(set(s)))
            raise ConfigError(f"{f}={v}: no row has it (the sweep has {have or 'no value'})")
        keep = set(s[hit].index)
        if f in _MODEL_COLUMNS:  # rows of runs without a model stay
            keep |= set(df.index.difference(s.index))
        df = df[df.index.isin(keep)]
        chosen[f] = _norm(s[hit].iloc[0])
    for f in RUN_COLUMNS:
        if f in ("run_command", "run_layers") or f not in df.columns:
            continue
        cols = [f] + (["accuracy_model"] if f in _MODEL_COLUMNS and "accuracy_model" in df.columns else [])
        vals = set(_values(df[cols].drop_duplicates(), f))  # the distinct values only: cheap on a big file
        if len(vals) > 1:
            opt = _OPTION.get(f, f"--where {f}=V (where={{{f!r}: V}})")
            shown = ", ".join(_show(f, x) for x in _sorted(vals))
            raise ConfigError(f"the rows hold {len(vals)} values of {f} ({shown}): runs of other settings in one "
                              f"file; choose one with {opt}")
    return df, chosen
