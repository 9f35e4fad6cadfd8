"""Design-space sweeps on Dask: the cartesian product of architecture choices x layers.

:func:`sweep` runs every point of ``space`` (a dict over :class:`ArchConfig` fields) on every
layer and returns one tidy row per (point, layer): the configuration, cycles, latency, load
efficiency, padding, every cycle-model counter, per-PE balance, energy in pJ (total, by module,
level and action; the table is named in ``energy_table``), power, area and, when a trained model
is given, the model's test accuracy after re-clustering its shared weights at the point's
``weight_bits`` (:func:`eie_sim.codebook.recluster`).

Engine: a Dask ``LocalCluster`` over the machine's cores (one single-threaded process per
worker) by default, or an existing cluster when ``scheduler="tcp://HOST:PORT"``. Points are
grouped by what their encoding depends on (layer, n_pe, weight_bits, index_bits, ptr_bits,
act_bits), so each group is encoded once and every FIFO depth, SRAM width, clock and capacity
of the group reuses it; groups are cut into batches of a few points to keep tasks cheap and
workers busy.

Results stream to ``out`` (one Parquet file, rewritten atomically at most every
``flush_s`` seconds (less often when writing takes longer than a tenth of that), on interrupt
and at the end). Every row carries ``point_id``, a digest of
the configuration, the layer source and the energy table, so rerunning the same sweep skips the
points already in ``out``; a sweep stopped by Ctrl-C or a lost worker resumes with nothing lost
and no duplicates. A point whose simulation raises gets a row with the message in ``error``
and empty metrics; the sweep goes on. Rows never depend on the number of workers.
The results file is safe (:mod:`.results`): one sweep at a time writes it (a second one is
refused, naming the holder), a rerun checks every row before it trusts it (bad rows are run
again, a file of the wrong kind is refused before any work), and a failed write saves the rows
computed to a rescue file that the next run merges. Every argument is checked before any work.

Layers: Table III names (``"alex6"``, optionally ``"alex6@0.1"`` for a scaled copy), model files
(every layer of the model, fed by one test image propagated through the golden model), or
:class:`SweepLayer` (dense codes, codebook and activations). Fields not in ``space`` take the
:class:`ArchConfig` default, except weight_bits, index_bits and act_bits, which a model or user
layer keeps from its own when they are not swept, and ptr_bits, which when not swept grows from
17 to what the layer needs on few PEs (a 1-PE AlexNet fc6 needs 23-bit pointers); every row
shows the configuration it ran.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..contract.arrays import load_npy
from ..cost.energy import EnergyTable
from ..cycle import suite
from ..cost.presets import get_table
from ..errors import ConfigError, EIEError, describe
from .tables import FORMATS
from .results import (SweepWriteError, load_finished, ResultsLock, ModelAccuracy, ResultsFile, saved_accuracy,
                      load_sweep)
from .run_key import check_run, run_columns
from .space import (ENCODING_FIELDS, SWEEP_FIELDS, InputFile, SweepLayer, file_digest, plan_points, resolve_layers, energy_table_key,
                    expand_space)
from .worker import model_accuracy, run_batch

__all__ = ["sweep", "SweepLayer", "SweepIncomplete", "SweepWriteError", "load_sweep", "expand_space", "SWEEP_FIELDS",
           "check_out", "check_scheduler", "dask_client"]

#: seconds to wait for an existing scheduler (``scheduler=``) before refusing it
_CONNECT_TIMEOUT_S = 10
_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
_ADDRESS = re.compile(r"(?:(?P<scheme>[^:/]*)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>[0-9]+)/?")
_INPROC = re.compile(r"inproc://[^\s/]+/[0-9]+/[0-9]+")  # an in-process cluster of this process


class SweepIncomplete(EIEError):
    """Some tasks were lost (a worker died); ``results`` holds what finished."""

    def __init__(self, message: str, results: pd.DataFrame):
        super().__init__(message)
        self.results = results


def sweep(space: dict, layers=None, *, model=None, energy_table="eie45", scheduler=None, workers=None, out=None,
          seed: int = 0, input_index: int = 0, dataset: str | None = None, accuracy_samples: int | None = None,
          batch_size: int | None = None, retry_errors: bool = False, flush_s: float = 2.0,
          progress=None, retrain_epochs: int | None = None, append: bool = False, row_cv: float | None = None,
          col_cv: float | None = None, input_file=None) -> pd.DataFrame:
    """Run ``space`` x ``layers`` on Dask; returns the tidy DataFrame (module docstring).

    ``space``: {ArchConfig field: list of values}. ``layers``: Table III names (``"vgg6"``,
    ``"vgg6@0.1"``), model file paths and :class:`SweepLayer` objects. ``model``: a trained model
    file whose test accuracy (``dataset``, default the one in its metadata; the first
    ``accuracy_samples`` test images, default all) is computed once per (weight_bits, act_bits)
    and reported in ``accuracy``; its layers join the sweep. ``energy_table``: preset, TOML
    path or EnergyTable. ``scheduler``: address of an existing Dask scheduler; otherwise a
    LocalCluster of ``workers`` processes (default: all cores). ``out``: Parquet file the rows
    stream to and resume from (``.parquet``, in an existing folder; locked while the sweep runs;
    module docstring of :mod:`.results`). ``retrain_epochs``: for a model carrying master weights
    (:mod:`eie_sim.contract.master`), the accuracy at every width (its own too) comes from
    re-clustering the float master weights and fine-tuning the codebook that many epochs on the
    model's training set (:func:`eie_sim.train.pipeline.refit_at_width`, on the workers, once per
    width and worker), not from re-clustering the shared weights; its rows get other point ids
    and ``accuracy_model`` says so. ``progress(done, total, elapsed_s)`` is called as points
    finish. ``seed``: Table III generator seed and the fallback model input; ``row_cv`` /
    ``col_cv``: the generator's density dispersion (default :data:`eie_sim.cycle.suite.DEFAULT_ROW_CV`
    / ``DEFAULT_COL_CV``; recorded in the ``table3_cv`` column). ``input_file``: a .npy input every
    model layer source runs on instead of test image ``input_index`` (recorded as ``input_file``,
    name and digest). Every row carries
    the run's settings (:data:`.run_key.RUN_COLUMNS`: seed, layers, energy table, accuracy sample
    count, ...); ``out`` holding rows of another run (other settings, another layer list, a
    codesign file) is refused naming what differs, unless ``append``. Rows are sorted by
    layer order, then by the space in the order given. Bad arguments raise ConfigError before
    any work; a failed write of ``out`` raises :class:`SweepWriteError` naming the rescue file.
    """
    # what to run: every (point, layer) with its full configuration and id, in output order
    _check_options(energy_table, scheduler, workers, seed, input_index, dataset, retry_errors, flush_s, progress)
    if not isinstance(append, bool):
        raise ConfigError(f"append={describe(append)}: expected True or False")
    points = expand_space(space)
    table = get_table(energy_table)
    tkey = energy_table_key(table)
    cv = (suite.DEFAULT_ROW_CV if row_cv is None else suite.check_cv("row_cv", row_cv),
          suite.DEFAULT_COL_CV if col_cv is None else suite.check_cv("col_cv", col_cv))
    given = _input_file(input_file)
    sources, arrays, accuracy = _check_inputs(layers, model, seed, input_index, dataset, batch_size, accuracy_samples, cv,
                                              given)
    if retrain_epochs is not None:
        sources, accuracy = _retraining(sources, accuracy, model, retrain_epochs)
    if given is not None:  # the models' input travels as their sources' array, under their final keys
        arrays.update({s.key: given.x for s in sources if s.kind == "model"})
    todo = plan_points(points, sources, tkey)
    auto_ptr = "ptr_bits" not in space
    out_path = check_out(out)
    run = run_columns(sources, table, tkey, seed, input_index, accuracy,
                      file_digest(Path(accuracy.path)) if accuracy is not None else None, cv,
                      given.tag if given is not None else None)

    with ResultsLock(out_path) if out_path is not None else contextlib.nullcontext():
        # what is already done: the checked rows in ``out`` (and the accuracies they hold) are not run again
        finished = load_finished(out_path, todo, auto_ptr, table.name, retry_errors)
        check_run(finished.rows, run, append, out_path)  # before any work
        if accuracy is not None:
            accuracy.known = saved_accuracy(finished, accuracy)
        results = ResultsFile(out_path, finished, flush_s, table.name, accuracy, run)
        pending = [t for t in todo if t[2] not in results.done_ids]
        groups = _group_by_encoding(pending)

        # the rest runs on the cluster, in batches of points that share an encoding
        counter = _Progress(progress, len(todo) - len(pending), len(todo))
        failed: list[str] = []
        if pending:
            failed = _run(scheduler, workers, results, pending, groups, arrays, (table, seed, auto_ptr),
                          batch_size, accuracy, counter)
        results.close()  # rows dropped by the checks or merged from rescue files, when nothing ran
        return _finish(results.frame(), failed, todo, out_path)


# ----------------------------------------------------------------------------- the steps


def _check_options(energy_table, scheduler, workers, seed, input_index, dataset, retry_errors, flush_s, progress) -> None:
    """Refuse arguments of the wrong type or range (naming the argument) before any work."""
    if not isinstance(energy_table, (str, os.PathLike, EnergyTable)):
        raise ConfigError(f"energy_table={describe(energy_table)}: expected a preset name such as 'eie45', "
                          "a .toml file or an EnergyTable")
    if scheduler is not None:
        check_scheduler(scheduler)
        if workers is not None:
            raise ConfigError(f"workers={describe(workers)} with scheduler={scheduler!r}: an existing cluster brings "
                              "its own workers; give one or the other")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1):
        raise ConfigError(f"workers={describe(workers)}: expected an integer >= 1 or None")
    for nm, v in (("seed", seed), ("input_index", input_index)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ConfigError(f"{nm}={describe(v)}: expected an integer >= 0")
    if dataset is not None and (not isinstance(dataset, str) or not dataset):
        raise ConfigError(f"dataset={describe(dataset)}: expected a dataset name or None")
    if not isinstance(retry_errors, bool):
        raise ConfigError(f"retry_errors={describe(retry_errors)}: expected True or False")
    if isinstance(flush_s, bool) or not isinstance(flush_s, (int, float)) or not math.isfinite(flush_s) or flush_s < 0:
        raise ConfigError(f"flush_s={describe(flush_s)}: expected a number of seconds >= 0")
    if progress is not None and not callable(progress):
        raise ConfigError(f"progress={describe(progress)}: expected a function progress(done, total, elapsed_s) or None")


def check_scheduler(scheduler) -> None:
    """Refuse a scheduler address that is not SCHEME://HOST:PORT with a Dask scheme."""
    eg = "expected the address of a running Dask scheduler such as 'tcp://10.0.0.5:8786'"
    if isinstance(scheduler, str) and _INPROC.fullmatch(scheduler):
        return
    m = _ADDRESS.fullmatch(scheduler) if isinstance(scheduler, str) else None
    if m is None:
        raise ConfigError(f"scheduler={describe(scheduler)}: {eg}")
    if m["scheme"] is not None and m["scheme"] not in _SCHEMES:
        raise ConfigError(f"scheduler={scheduler!r}: unknown scheme {m['scheme']!r} (one of {', '.join(_SCHEMES)}); {eg}")
    if not 1 <= int(m["port"]) <= 65535:
        raise ConfigError(f"scheduler={scheduler!r}: port {m['port']} is not in 1..65535; {eg}")


def check_out(out) -> Path | None:
    """``out`` as a Path (None stays None); refuses a non-path, a suffix other than .parquet, a
    missing or read-only folder and a folder in place of the file, before any work."""
    if out is None:
        return None
    if not isinstance(out, (str, os.PathLike)) or not str(out):
        raise ConfigError(f"out={describe(out)}: expected the path of a .parquet results file, or None")
    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        eg = f", e.g. {path.stem + '.parquet'!r}" if path.stem else ""
        raise ConfigError(f"out={str(out)!r}: expected a file ending in .parquet or .csv (the format follows the "
                          f"extension){eg}")
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"out={str(out)!r}: folder {str(folder)!r} does not exist; create it or choose another out")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"out={str(out)!r}: folder {str(folder)!r} is not writable; choose another out")
    if path.exists() and not path.is_file():
        raise ConfigError(f"out={str(out)!r} exists and is not a file; expected a .parquet results file")
    return path


def _input_file(path) -> InputFile | None:
    """The input file of ``input_file`` (None: none), or one EIEError line."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)) or not Path(path).is_file():
        raise ConfigError(f"input_file={describe(path)}: expected the path of a .npy file")
    x = load_npy(path, "input_file")
    if x.dtype.kind not in "biuf" or x.size == 0 or not np.isfinite(x).all():
        raise ConfigError(f"input_file={str(path)!r}: expected a non-empty .npy array of finite numbers")
    return InputFile(str(path), f"{Path(path).name}:{file_digest(Path(path))}", x.astype(np.float64))


def _check_inputs(layers, model, seed: int, input_index: int, dataset: str | None, batch_size, accuracy_samples, cv,
                  given=None):
    """(layer sources, user layers by source key, the model's accuracy columns or None); refuses
    a model that is not a file, bad layers and bad batch_size, accuracy_samples and dataset."""
    if model is not None and not (isinstance(model, (str, Path)) and Path(model).is_file()):
        raise ConfigError(f"model={describe(model)}: expected the path of a model file (.npz)")
    sources, arrays = resolve_layers(layers, model, seed, input_index, dataset, cv, given)
    for nm, v in (("batch_size", batch_size), ("accuracy_samples", accuracy_samples)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ConfigError(f"{nm}={describe(v)}: expected an integer >= 1 or None")
    if model is None:
        if accuracy_samples is not None:
            raise ConfigError(f"accuracy_samples={accuracy_samples}: applies to the accuracy of model=, which is not "
                              "given (give model=, or leave accuracy_samples out)")
        if dataset is not None and not any(s.kind == "model" for s in sources):
            raise ConfigError(f"dataset={dataset!r}: applies to a model (its accuracy and input), and neither model= "
                              "nor a model file in layers is given")
        return sources, arrays, None
    mpath = str(Path(model).resolve())
    acc_ds = next(s.detail[2] for s in sources if s.kind == "model" and s.detail[0] == mpath)
    from ..train.data import DATASETS

    if not acc_ds:
        raise ConfigError(f"model {str(model)!r} names no dataset in its metadata: give dataset=")
    if acc_ds not in DATASETS:
        raise ConfigError(f"dataset={acc_ds!r}: expected one of {', '.join(DATASETS)}")
    if accuracy_samples is not None:  # accuracy over other test images: other point ids, never a stale accuracy
        sources = [replace(s, key=s.key + f":acc{accuracy_samples}") if s.kind == "model" and s.detail[0] == mpath
                   else s for s in sources]
    return sources, arrays, ModelAccuracy(mpath, Path(model).name, acc_ds, accuracy_samples)


def _retraining(sources: list, accuracy: ModelAccuracy | None, model, epochs) -> tuple[list, ModelAccuracy]:
    """The sources and accuracy columns of a sweep whose accuracy is fine-tuned ``epochs`` at
    each width: the model's source gets another key (other point ids), the accuracy a new name."""
    from ..contract.master import has_master

    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or not 1 <= epochs <= 10000:
        raise ConfigError(f"retrain_epochs={describe(epochs)}: expected an integer in 1..10000 or None")
    if accuracy is None or not has_master(model):
        raise ConfigError(f"retrain_epochs={epochs}: needs model= a model file with master weights "
                          "(eie-sim compress --keep-master, or a codesign model); this one has none")
    tag = f":refit{int(epochs)}"
    sources = [replace(s, key=s.key + tag) if s.kind == "model" and s.detail[0] == accuracy.path else s for s in sources]
    return sources, replace(accuracy, name=f"{accuracy.name} (fine-tuned {int(epochs)} epochs at each width)",
                            retrain_epochs=int(epochs))


def _group_by_encoding(pending: list) -> dict:
    """{(layer key, *ENCODING_FIELDS values): (source, [(config, point id)])}: each group is encoded once."""
    groups: dict = {}
    for s, cfg, pid in pending:
        gk = (s.key, *(cfg[f] for f in ENCODING_FIELDS))
        groups.setdefault(gk, (s, []))[1].append((cfg, pid))
    return groups


class _Progress:
    """Points done out of ``total``, reported to the caller's ``progress(done, total, elapsed_s)``."""

    def __init__(self, callback, done: int, total: int):
        self.callback, self.done, self.total = callback, done, total
        self.t0 = time.perf_counter()
        if callback:
            callback(done, total, 0.0)

    def add(self, n: int) -> None:
        self.done += n
        if self.callback:
            self.callback(self.done, self.total, time.perf_counter() - self.t0)


def dask_client(scheduler, workers):
    """(Dask client, its LocalCluster or None): connected to the scheduler at ``scheduler`` (checked
    by :func:`check_scheduler`; refused when it does not answer within ``_CONNECT_TIMEOUT_S``),
    else a LocalCluster of ``workers`` single-threaded processes (default: all cores). The caller
    closes both. Used by the sweep and the co-design search (:mod:`eie_sim.codesign`)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ConfigError(f"sweeps need Dask: pip install 'eie-sim[dist]' ({exc})") from None
    if scheduler is not None:  # its form and the workers were checked up front (_check_options)
        try:
            return Client(scheduler, timeout=f"{_CONNECT_TIMEOUT_S}s"), None
        except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError, ... from Dask's connect
            raise ConfigError(f"scheduler={scheduler!r}: cannot connect within {_CONNECT_TIMEOUT_S} s "
                              f"({type(exc).__name__}: {exc}); expected the address of a running Dask scheduler") from None
    n = (os.cpu_count() or 1) if workers is None else workers
    import logging

    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _run(scheduler, workers, results: ResultsFile, pending: list, groups: dict, arrays: dict, common: tuple,
         batch_size: int | None, accuracy: ModelAccuracy | None, counter: _Progress) -> list[str]:
    """Run ``pending`` on a cluster, rows into ``results``; the tasks that were lost. The results
    file is written at the end also on an interrupt (Ctrl-C), and the cluster closed."""
    client, cluster = dask_client(scheduler, workers)
    results.start_clock()
    try:
        afuts = _submit_accuracy(client, accuracy, pending)
        chunks = _submit_batches(client, groups, arrays, len(pending), batch_size, common)
        for k, f in afuts.items():
            accuracy.known[k] = f.result()[0]
        return _collect(chunks, results, counter)
    finally:
        try:
            results.close()  # a failed write raises SweepWriteError (rows in a rescue file); the cluster still closes
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _submit_accuracy(client, accuracy: ModelAccuracy | None, pending: list) -> dict:
    """Futures of the model's accuracy at each (weight_bits, act_bits) of ``pending`` not yet known."""
    if accuracy is None:
        return {}
    need = {(c["weight_bits"], c["act_bits"]) for _, c, _ in pending} - set(accuracy.known)
    return {k: client.submit(model_accuracy, accuracy.path, k[0], k[1], accuracy.dataset, accuracy.samples,
                             accuracy.retrain_epochs, pure=False)
            for k in sorted(need)}


class _Opaque:
    """A list Dask passes to a task as it is: it does not walk it looking for futures (which for
    the configurations of a batch, dicts of ~20 fields, cost the driver 0.2 ms per point)."""

    __slots__ = ("items",)

    def __init__(self, items: list):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def _work_estimate(src, arrays: dict, n_pe: int, points: int) -> float:
    """Rough cost of a group (arbitrary units, for the order of submission only): encoding its
    weights once, then per point the multiply-adds (weights x activation density) and the
    per-(broadcast column, PE) timing steps. A model's layers are not read here: it counts as
    the most expensive."""
    if src.kind == "table3":
        n_in, n_out, wd, ad, _ = suite.TABLE_III[src.name.partition("@")[0]]
        scale = src.detail[1]
        n_in, n_out, wd, ad = max(1, round(n_in * scale)), max(1, round(n_out * scale)), wd / 100, ad / 100
    elif src.kind == "user":
        lay = arrays[src.key]
        n_out, n_in = np.shape(lay.codes)
        wd = float(np.count_nonzero(lay.codes)) / max(1, n_out * n_in)
        ad = float(np.count_nonzero(lay.activations)) / max(1, n_in)
    else:
        return math.inf
    weights = n_in * n_out * wd
    return weights + points * (weights * ad + n_in * ad * n_pe)


def _submit_batches(client, groups: dict, arrays: dict, n_pending: int, batch_size: int | None, common: tuple) -> dict:
    """Cut every encoding group into batches of ``batch_size`` points (default: about four per
    worker, at most 32) and submit them, the most expensive groups first (so that no large task
    starts last while the other workers idle: longest-processing-time-first scheduling);
    {future: the (config, point id) pairs it runs}. ``common`` is (energy table, seed,
    auto_ptr), the same for every batch."""
    n_workers = max(1, len(client.scheduler_info().get("workers", {})) or 1)
    bs = batch_size or max(1, min(32, math.ceil(n_pending / (4 * n_workers))))
    user_futs = {k: client.scatter(v, broadcast=False) for k, v in arrays.items()}
    chunks = {}
    order = sorted(groups.values(), key=lambda g: -_work_estimate(g[0], arrays, g[1][0][0]["n_pe"], len(g[1])))
    for (s, items) in order:
        for i in range(0, len(items), bs):
            chunk = items[i : i + bs]
            f = client.submit(run_batch, s, user_futs.get(s.key), _Opaque([c for c, _ in chunk]),
                              _Opaque([p for _, p in chunk]), *common, pure=False, priority=-len(chunks))  # in this order
            chunks[f] = chunk
    return chunks


def _collect(chunks: dict, results: ResultsFile, counter: _Progress) -> list[str]:
    """Rows of each batch as it finishes (flushed to the file now and then); the batches lost."""
    from dask.distributed import as_completed

    failed: list[str] = []
    futures = list(chunks)
    # the futures' own client's loop: as_completed defaults to default_client(), which inside a
    # caller's `with Client(...)` is the caller's client, whose loop then binds the futures' events
    # and a later f.result() fails ("bound to a different event loop") once a lost task is reset
    loop = futures[0].client.loop if futures else None
    for f in as_completed(futures, loop=loop):
        chunk = chunks[f]
        try:
            results.add(f.result())
        except Exception as exc:  # noqa: BLE001 - a lost worker: these points stay pending
            failed.append(f"{len(chunk)} point(s): {type(exc).__name__}: {exc}")
            continue
        counter.add(len(chunk))
        results.maybe_flush()
    return failed


def _finish(df: pd.DataFrame, failed: list[str], todo: list, out_path: Path | None) -> pd.DataFrame:
    """This sweep's rows of ``df`` in output order; SweepIncomplete (holding ``df``) when tasks were lost."""
    if failed:
        raise SweepIncomplete(f"{len(failed)} task(s) did not finish ({failed[0]}); the rest is saved"
                              + (f" in {out_path}; rerun to resume" if out_path else ""), df)
    order = {pid: i for i, (_, _, pid) in enumerate(todo)}
    mine = df[df["point_id"].isin(order)].copy()
    mine["_o"] = mine["point_id"].map(order)
    mine = mine.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    return mine
