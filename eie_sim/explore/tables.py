"""A sweep's results file on disk, its format taken from the extension: ``.parquet`` (pyarrow;
types kept) or ``.csv`` (text; text columns read back as text, numbers as numbers). Writes
are atomic (a temporary file in the same folder, then a rename). ``error`` is null for a point
that ran and the message for one that failed; files of earlier versions wrote "" for no error
and read the same."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..errors import ConfigError

__all__ = ["FORMATS", "read_results", "write_results", "null_errors"]

FORMATS = (".parquet", ".csv")
#: columns that hold text, read from CSV as text (a point id of digits only stays a string)
TEXT_COLUMNS = ("point_id", "layer", "source", "source_name", "error", "notes", "energy_table", "accuracy_model",
                "accuracy_dataset", "run_command", "run_layers", "table3_cv", "energy_table_digest", "model_digest", "input_file")


def null_errors(df: pd.DataFrame) -> pd.DataFrame:
    if "error" in df.columns:
        s = df["error"].astype(object)
        df["error"] = s.where(s.notna() & (s != ""), None)
    return df


def read_results(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise ConfigError(f"sweep file {str(path)!r} does not exist")
    if not path.is_file():
        raise ConfigError(f"sweep file {str(path)!r} is not a file; expected a sweep results file (.parquet or .csv)")
    csv = path.suffix.lower() == ".csv"
    try:
        if csv:
            head = pd.read_csv(path, nrows=0).columns
            df = pd.read_csv(path, dtype={c: "string" for c in TEXT_COLUMNS if c in head}, keep_default_na=True)
            for c in TEXT_COLUMNS:
                if c in df.columns:
                    df[c] = df[c].astype(object).where(df[c].notna(), None)
        else:
            df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        kind = "CSV" if csv else "Parquet"
        raise ConfigError(f"sweep file {str(path)!r} is not a readable {kind} file ({type(exc).__name__}: {exc})") from None
    if "point_id" not in df.columns:
        raise ConfigError(f"sweep file {str(path)!r} has no point_id column: not an eie-sim sweep")
    return null_errors(df)


def write_results(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if path.suffix.lower() == ".csv":
            null_errors(df).to_csv(tmp, index=False)
        else:
            null_errors(df).to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
