"""The sweep's results file is safe: one writer at a time (a lock that is always released),
resume checks every row (doctored rows run again, a file of the wrong kind is refused before
any work), a failed write keeps every computed row in a rescue file that the rerun merges, and
every bad argument is a ConfigError naming it. One small Dask cluster serves every sweep here."""

import errno
import os
import re
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.distributed")
pytest.importorskip("pyarrow")

from eie_sim import ConfigError, sweep  # noqa: E402
from eie_sim.explore import results as results_mod  # noqa: E402
from eie_sim.explore import sweep as sweep_mod  # noqa: E402
from eie_sim.explore.results import ResultsLock  # noqa: E402
from eie_sim.explore.sweep import SweepWriteError, load_sweep  # noqa: E402

SPACE = {"n_pe": [2, 8], "fifo_depth": [1, 4], "sram_width": [32, 64]}
LAYERS = ["alex8@0.05", "ntwd@0.04"]
N = 16  # points (one row each)


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def clean(cluster):
    """The sweep with no results file: what every safe rerun must equal."""
    return sweep(SPACE, LAYERS, scheduler=cluster)


def _run(cluster, out, **kw):
    return sweep(SPACE, LAYERS, scheduler=cluster, out=out, **kw)


def _same(got, clean):
    assert len(got) == N and not got.duplicated(["point_id", "layer"]).any()
    pd.testing.assert_frame_equal(got.drop(columns=["notes"]), clean.drop(columns=["notes"]), check_dtype=False)


def _lock_is_free(out):
    assert not Path(f"{out}.lock").exists()
    with ResultsLock(Path(out)):  # takes it at once
        pass


# ----------------------------------------------------------------------------- one writer


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(cluster, clean, tmp_path):
    out = tmp_path / "s.parquet"
    refused, calls = [], []

    def second_writer(done, total, elapsed):  # runs inside the first sweep, which holds the lock
        if not refused:
            with pytest.raises(ConfigError) as info:
                _run(cluster, out, progress=lambda *a: calls.append(a))
            refused.append(str(info.value))

    got = _run(cluster, out, progress=second_writer)
    host = os.uname().nodename
    assert refused and refused[0].startswith(f"out={str(out)!r} is being written by pid {os.getpid()} on host {host} since ")
    assert refused[0].endswith("; wait for it to finish or choose another out (--out)")
    assert calls == []  # refused before any work
    _same(got, clean)
    _lock_is_free(out)


def test_another_process_holding_the_lock_is_named_and_its_death_frees_it(cluster, clean, tmp_path):
    out = tmp_path / "s.parquet"
    code = ("import sys; from pathlib import Path; from eie_sim.explore.results import ResultsLock\n"
            f"lock = ResultsLock(Path({str(out)!r})); lock.acquire(); print('locked', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ConfigError, match=rf"is being written by pid {holder.pid} on host .* since \d{{4}}-"):
            _run(cluster, out)
        assert not out.exists()
    finally:
        holder.kill()  # SIGKILL: no clean-up; the lock file stays, the kernel drops the lock
        holder.wait(timeout=30)
    assert Path(f"{out}.lock").exists()
    _same(_run(cluster, out), clean)
    _lock_is_free(out)


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_the_lock_is_released_after_an_exception_or_ctrl_c(cluster, clean, tmp_path, exc):
    out = tmp_path / "s.parquet"

    def stop(done, total, elapsed):
        if done >= 4:
            raise exc("stop")

    with pytest.raises(exc):
        _run(cluster, out, batch_size=2, progress=stop)
    _lock_is_free(out)
    assert 4 <= len(load_sweep(out)) < N  # what finished is saved
    _same(_run(cluster, out), clean)
    _lock_is_free(out)


# ----------------------------------------------------------------------------- resume checks


def test_doctored_rows_are_dropped_and_run_again(cluster, clean, tmp_path):
    out = tmp_path / "s.parquet"
    df = clean.copy()
    df.loc[0, "cycles"] = -5
    df.loc[1, "layer"] = None
    df.loc[2, "point_id"] = "not-an-id"
    df.loc[3, "n_pe"] = 8 if df.loc[3, "n_pe"] == 2 else 2  # claims another configuration under its own id
    df.loc[4, "point_id"], df.loc[5, "point_id"] = df.loc[5, "point_id"], df.loc[4, "point_id"]  # ids swapped
    df.loc[6, "energy_pj"] = np.nan
    df.loc[7, "source"] = "nowhere"
    foreign = df.iloc[[8]].assign(point_id="0123456789abcdef")  # a well-formed id of no point here: carried along
    pd.concat([df, foreign], ignore_index=True).to_parquet(out)
    starts = []
    with pytest.warns(UserWarning, match=r"8 row\(s\) failed the resume checks and are dropped \(1 where point_id is not"):
        got = _run(cluster, out, progress=lambda d, t, e: starts.append(d))
    assert starts[0] == N - 8  # the 8 doctored points were not trusted
    _same(got, clean)
    saved = load_sweep(out)
    assert len(saved) == N + 1 and (saved["cycles"] >= 1).all() and saved["layer"].notna().all()
    again = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left to drop
        _same(_run(cluster, out, progress=lambda d, t, e: again.append((d, t))), clean)
    assert again == [(N, N)]


def test_a_model_point_missing_one_of_its_layers_runs_again(cluster, tmp_path):
    model = Path(__file__).resolve().parents[2] / "models" / "lenet300-fashion.npz"
    out = tmp_path / "m.parquet"
    full = sweep({"n_pe": [4, 16]}, [str(model)], scheduler=cluster, out=out)
    assert len(full) == 6 and full.groupby("point_id")["layer"].apply(list).map(len).eq(3).all()
    saved = load_sweep(out)
    saved[~((saved["n_pe"] == 16) & (saved["layer"] == "fc2"))].to_parquet(out)
    starts = []
    with pytest.warns(UserWarning, match=r"2 row\(s\) failed .*\(2 where its point lacks some of its layers' rows\)"):
        got = sweep({"n_pe": [4, 16]}, [str(model)], scheduler=cluster, out=out, progress=lambda d, t, e: starts.append(d))
    assert starts[0] == 1
    pd.testing.assert_frame_equal(got.drop(columns=["notes"]), full.drop(columns=["notes"]), check_dtype=False)


@pytest.mark.parametrize("corrupt, words", [
    (lambda df: df.assign(cycles=df["cycles"].astype(str)), r"column 'cycles' holds \w+ values \(e.g. '\d+'\); expected integers"),
    (lambda df: df.assign(point_id=np.arange(len(df))), r"column 'point_id' holds int64 values \(e.g. 0\); expected text"),
    (lambda df: df.assign(n_pe=df["n_pe"] > 2), r"column 'n_pe' holds bool values .*expected integers"),
    (lambda df: df.drop(columns=["layer"]), r"has no column 'layer'"),
    (None, r"cannot be read \(sweep file .* is not a readable Parquet file"),
])
def test_a_file_of_the_wrong_kind_is_refused_before_any_work(cluster, clean, tmp_path, corrupt, words):
    out = tmp_path / "s.parquet"
    if corrupt is None:
        out.write_bytes(b"PAR1 this is not a parquet file")
    else:
        corrupt(clean.copy()).to_parquet(out)
    before = out.read_bytes()
    calls = []
    with pytest.raises(ConfigError, match=rf"^out={re.escape(repr(str(out)))}:? .*{words}"):
        _run(cluster, out, progress=lambda *a: calls.append(a))
    assert calls == []  # no point ran: the first progress call comes before any work
    assert out.read_bytes() == before
    _lock_is_free(out)


# ----------------------------------------------------------------------------- write failures


def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, "No space left on device")


def _interrupt_at(n):
    """A progress callback that presses Ctrl-C once ``n`` points are done."""
    def progress(done, total, elapsed):
        if done >= n:
            raise KeyboardInterrupt
    return progress


def test_a_write_failure_keeps_every_row_and_the_rerun_resumes(cluster, clean, tmp_path, monkeypatch):
    out = tmp_path / "s.parquet"
    real, writes = results_mod.write_results, []

    def full_after_first(df, path):  # the first flush works, then the disk is full
        writes.append(len(df))
        if len(writes) > 1:
            _enospc()
        real(df, path)

    with monkeypatch.context() as m:
        m.setattr(results_mod, "write_results", full_after_first)
        with pytest.raises(SweepWriteError) as info:
            _run(cluster, out, batch_size=2, flush_s=0)
    side = info.value.rescue_path
    assert isinstance(info.value, ConfigError)
    assert side is not None and side.parent == tmp_path and side.name.startswith("s.parquet.rescue-")
    assert str(info.value) == (f"out={str(out)!r}: writing failed (OSError: [Errno 28] No space left on device); the "
                               f"{len(pd.read_parquet(side))} row(s) computed in this run are saved in {str(side)!r}; "
                               "fix the cause (free space, permissions) and rerun with the same out: the rerun "
                               "merges that file and resumes")
    with pytest.warns(UserWarning, match=r"1 rescue file\(s\) of it .* rerun the sweep with the same out to merge"):
        first = load_sweep(out)
    rescued = pd.read_parquet(side)
    assert 0 < len(first) < len(rescued)  # out kept its first write; the rescue file holds every computed row
    starts = []
    got = _run(cluster, out, progress=lambda d, t, e: starts.append(d))
    assert starts[0] == rescued["point_id"].nunique()  # nothing computed was run again
    _same(got, clean)
    assert not side.exists() and len(load_sweep(out)) == N  # merged, then removed


def test_rescue_falls_back_to_json_lines_and_to_the_temp_folder(cluster, clean, tmp_path, monkeypatch):
    out = tmp_path / "s.parquet"
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    # no Parquet can be written anywhere: the rows go to JSON Lines next to out
    with monkeypatch.context() as m:
        m.setattr(pd.DataFrame, "to_parquet", _enospc)
        with pytest.raises(SweepWriteError, match=r"saved in '.*s\.parquet\.rescue-[0-9T-]+\.jsonl'") as info:
            _run(cluster, out, progress=_interrupt_at(6), batch_size=2)  # Ctrl-C, then the write fails
    assert info.value.rescue_path.suffix == ".jsonl" and not out.exists()
    # now out's folder refuses every file too: the rows go to the temp folder
    orig = results_mod._rescue_target

    def no_room_next_to_out(o, folder, ext):
        return orig(o, folder, ext) if folder != o.parent else o.parent / "gone" / f"x.{ext}"

    with monkeypatch.context() as m:
        m.setattr(results_mod, "write_results", _enospc)
        m.setattr(results_mod, "_rescue_target", no_room_next_to_out)
        with pytest.raises(SweepWriteError, match=r"in the temp folder: rerun on this machine") as info2:
            _run(cluster, out, progress=_interrupt_at(10), batch_size=2)
    side2 = info2.value.rescue_path
    assert side2.parent == tmp_path / "tmp" and side2.suffix == ".parquet" and not out.exists()
    starts = []
    got = _run(cluster, out, progress=lambda d, t, e: starts.append(d))  # merges both rescue files
    assert starts[0] >= 10
    _same(got, clean)
    assert not info.value.rescue_path.exists() and not side2.exists()


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("call, words", [
    (lambda o: sweep(SPACE, 42, out=o), "layers=42: expected a Table III name"),
    (lambda o: sweep(42, LAYERS, out=o), "space=42: expected a dict"),
    (lambda o: sweep({"n_pe": {2, 4}}, LAYERS, out=o), r"space\['n_pe'\]=\{2, 4\}: expected a list"),
    (lambda o: sweep(SPACE, LAYERS, scheduler="http://127.0.0.1:8786", out=o), "scheduler='http://127.0.0.1:8786': unknown scheme 'http'"),
    (lambda o: sweep(SPACE, LAYERS, scheduler="tcp://", out=o), "scheduler='tcp://': expected the address"),
    (lambda o: sweep(SPACE, LAYERS, scheduler=8786, out=o), "scheduler=8786: expected the address"),
    (lambda o: sweep(SPACE, LAYERS, scheduler="tcp://10.0.0.5:99999", out=o), "port 99999 is not in 1..65535"),
    (lambda o: sweep(SPACE, LAYERS, out=o.with_suffix(".txt")), r"out='.*s\.txt': expected a file ending in \.parquet or \.csv"),
    (lambda o: sweep(SPACE, LAYERS, out=o.parent / "missing" / "s.parquet"), r"out=.*: folder '.*missing' does not exist"),
    (lambda o: sweep(SPACE, LAYERS, out=o.parent), r"out=.*: expected a file ending in \.parquet"),
    (lambda o: sweep(SPACE, LAYERS, out=42), "out=42: expected the path"),
    (lambda o: sweep(SPACE, LAYERS, out=o, flush_s="2"), "flush_s='2': expected a number"),
    (lambda o: sweep(SPACE, LAYERS, out=o, seed=-1), "seed=-1: expected an integer >= 0"),
    (lambda o: sweep(SPACE, LAYERS, out=o, input_index=1.5), "input_index=1.5: expected an integer"),
    (lambda o: sweep(SPACE, LAYERS, out=o, workers=0), "workers=0: expected an integer >= 1"),
    (lambda o: sweep(SPACE, LAYERS, out=o, progress=5), "progress=5: expected a function"),
    (lambda o: sweep(SPACE, LAYERS, out=o, retry_errors="yes"), "retry_errors='yes': expected True or False"),
    (lambda o: sweep(SPACE, LAYERS, out=o, energy_table=42), "energy_table=42: expected a preset"),
    (lambda o: load_sweep(42), "path=42: expected the path"),
    (lambda o: load_sweep(o.parent), "is not a file"),
])
def test_bad_arguments_are_config_errors_naming_them(tmp_path, call, words):
    with pytest.raises(ConfigError, match=words):
        call(tmp_path / "s.parquet")
    assert list(tmp_path.iterdir()) == []  # refused before any file was touched


def test_a_folder_named_like_a_results_file_is_refused(tmp_path):
    (tmp_path / "s.parquet").mkdir()
    with pytest.raises(ConfigError, match=r"out='.*s\.parquet' exists and is not a file"):
        sweep(SPACE, LAYERS, out=tmp_path / "s.parquet")


def test_an_unreachable_scheduler_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep_mod, "_CONNECT_TIMEOUT_S", 1)
    out = tmp_path / "s.parquet"
    with pytest.raises(ConfigError, match=r"^scheduler='tcp://127.0.0.1:1': cannot connect within 1 s \(OSError: "):
        sweep(SPACE, LAYERS, scheduler="tcp://127.0.0.1:1", out=out)
    assert not out.exists()
    _lock_is_free(out)


def test_error_is_null_for_points_that_ran_and_old_files_read_the_same(cluster, clean, tmp_path):
    assert clean["error"].isna().all() and clean["error"].notna().sum() == 0
    out = tmp_path / "old.parquet"
    clean.assign(error="").to_parquet(out)  # the "" of earlier versions
    assert load_sweep(out)["error"].isna().all()
    _same(_run(cluster, out), clean)  # trusted as before: nothing runs again, nothing is dropped


def test_results_file_format_follows_the_extension(cluster, clean, tmp_path):
    """.csv is written as CSV (text ids stay text, nulls stay null) and resumes like .parquet."""
    out = tmp_path / "s.csv"
    got = _run(cluster, out)
    _same(got, clean)
    head = out.read_text().splitlines()[0].split(",")
    assert "point_id" in head and "cycles" in head  # a CSV file, not Parquet bytes
    again = []
    _same(_run(cluster, out, progress=lambda d, t, e: again.append((d, t))), clean)
    assert again == [(N, N)]  # every row trusted: nothing ran again
    assert load_sweep(out)["error"].isna().all()
