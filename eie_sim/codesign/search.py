"""Co-design search: compression (software) and PE array (hardware) chosen together.

:func:`codesign` searches, for one network and data set, over

* **software** (each point is a *candidate*, trained): per-layer sparsity, weight bits, and
  load-balance-aware pruning on or off (on: balanced for ``balance_pes`` PEs, by default the
  largest PE count searched, which also balances every PE count dividing it;
  :mod:`eie_sim.train.balance`);
* **hardware** (cheap, every candidate on every point): n_pe, fifo_depth, sram_width and
  index_bits (the relative-index width changes the encoding and padding, not the accuracy).

Start: a network name (``lenet300``, ``mlp:H1,H2,...``) is trained dense once (cached in the
work folder); a model file starts from its master weights (:mod:`eie_sim.contract.master`),
or, without them, from its shared weights and masks (its sparsity cannot then go down).

Search: **successive halving** over the candidates. Rung 0 runs ``candidates`` software points
drawn from the grid (all of it when it is smaller; a seeded sample otherwise); each is pruned
from the dense weights in ``prune_rounds`` rounds of ``epochs[0]`` retraining epochs, weight-
shared (k-means) and fine-tuned ``epochs[0]`` epochs. Every later rung r keeps the best
1/``eta`` of the previous rung's candidates and trains each further from its own checkpoint
(its master weights): ``epochs[r]`` retraining epochs under its masks, fresh weight sharing and
``epochs[r]`` fine-tuning epochs. "Best" is by non-dominated sorting of (ranking accuracy,
lowest energy per inference over the hardware points): the first Pareto layer, then the
second, ..., ties by accuracy. Every trained model is evaluated (bit-exact accuracy on the
test set, and on every hardware point the first ``simulate_images`` test images on the cycle
model with energy, latency and area; :mod:`.tasks`), so each rung adds designs.

Budget: ``budget_minutes`` of wall time for the whole run. A rung starts only with as many
candidates as its estimated time fits in what is left (the previous rung's mean task time
scaled by the epochs trained, over the workers); when the budget runs out mid-rung the
unfinished tasks are cancelled. Everything is deterministic given ``seed`` (each candidate's
training seed is derived from its software point), whatever the number of workers.

Results: one row per design (candidate x rung x hardware point, plus the reference model on
every hardware point) in the sweep's results file machinery (:mod:`eie_sim.explore.results`: Parquet or CSV,
locked while running, written atomically every ``flush_s``, rescue files on a failed write).
Rerunning the same call resumes: a (candidate, rung) whose rows are all in ``out`` and whose
model file is in the work folder is not trained again, and promotions are recomputed from the
rows, so they are the same. Model files (with master weights) are in ``workdir/models``.
Outputs: the Pareto fronts, the chosen design and the best compression within ``max_loss``
points of the dense accuracy (:mod:`.report`), figures and ``save_best``.

Progress: ``progress(text)`` gets a line per event (for logs); on a terminal (and unless
``bar=False``) a tqdm bar per rung counts the candidates trained and the hardware points
simulated, and a spinner shows the time spent on the dense network and the reference
(:mod:`eie_sim.progress`); the lines are printed between the bars, not through them.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import ArchConfig, check_int
from ..contract.master import load_master, master_from_codes, save_with_master
from ..contract.model import Model, load_model
from ..cost.presets import get_table
from ..errors import ConfigError, EIEError, describe
from ..progress import between_bars, progress as progress_bar, spinner
from ..train.data import DATASETS
from ..explore.results import ResultsFile, ResultsLock, load_rows
from ..explore.space import energy_table_key, file_digest
from ..explore.sweep import check_out, check_scheduler, dask_client
from ..explore.worker import with_index_bits
from . import report
from . import tasks as task
from .space import CodesignSpace, SearchSettings, key_digest, network_layers, sample_candidates

__all__ = ["codesign", "CodesignSpace", "SearchSettings", "CodesignResult"]

@dataclass
class CodesignResult:
    """What :func:`codesign` found. ``results``: every row of this search (candidates and the
    reference); ``front_energy`` / ``front_latency``: the Pareto fronts; ``best``: the chosen
    design's row (``reference_row``: the reference on its hardware point), ``best_rule`` the rule
    applied, ``best_path`` where it was saved; ``best_compression``: the most compressed design
    within ``max_loss`` points of ``dense_accuracy``; ``rungs``: per rung the candidates run,
    resumed and promoted, its seconds and (``budget_cut``) why the budget cut the next rung;
    ``stopped``: why the search ended before its last rung (None: it did not); ``wall_s``; ``figures``."""

    results: pd.DataFrame
    front_energy: pd.DataFrame
    front_latency: pd.DataFrame
    best: dict | None
    reference_row: dict | None
    best_rule: str
    best_path: Path | None
    best_compression: dict | None
    dense_accuracy: float
    max_loss: float
    rungs: list = field(default_factory=list)
    stopped: str | None = None
    wall_s: float = 0.0
    figures: list = field(default_factory=list)
    workdir: Path | None = None


def _check(network, dataset, out, workdir, reference, save_best, figures, max_loss, scheduler, workers):
    """Refuse bad arguments before any work; (out path, workdir, model of network or None)."""
    if not isinstance(network, (str, os.PathLike)) or not str(network):
        raise ConfigError(f"network={describe(network)}: expected lenet300, mlp:H1,H2,... or a model file (.npz)")
    base_model = None
    if str(network).endswith(".npz") or Path(network).is_file():
        if not Path(network).is_file():
            raise ConfigError(f"network={str(network)!r}: no such model file")
        base_model = load_model(network)
        if base_model.is_sequence:
            raise ConfigError(f"network={str(network)!r}: an LSTM model; codesign retrains fully connected models only")
    else:
        network_layers(str(network))
    if dataset not in DATASETS:
        raise ConfigError(f"dataset={describe(dataset)}: expected one of {', '.join(DATASETS)}")
    if out is None:
        raise ConfigError("out=None: expected the path of a .parquet (or .csv) results file")
    out = check_out(out)
    workdir = Path(workdir) if workdir is not None else out.with_name(out.stem + ".work")
    if workdir.exists() and not workdir.is_dir():
        raise ConfigError(f"workdir={str(workdir)!r} exists and is not a folder")
    if reference is not None and not Path(reference).is_file():
        raise ConfigError(f"reference={str(reference)!r}: no such file; expected the path of a model file (.npz)")
    if save_best is not None and (Path(save_best).suffix != ".npz" or not Path(save_best).parent.is_dir()):
        raise ConfigError(f"save_best={str(save_best)!r}: expected a .npz path in an existing folder")
    if figures is not None and Path(figures).exists() and not Path(figures).is_dir():
        raise ConfigError(f"figures={str(figures)!r} exists and is not a folder")
    if isinstance(max_loss, bool) or not isinstance(max_loss, (int, float)) or not 0 <= max_loss < 100:
        raise ConfigError(f"max_loss={describe(max_loss)}: expected accuracy points in [0, 100)")
    if scheduler is not None and scheduler != "synchronous":
        check_scheduler(scheduler)
    if workers is not None:
        check_int("workers", workers, 1, 1024)
        if scheduler is not None:
            raise ConfigError(f"workers={workers} with scheduler={scheduler!r}: give one or the other")
    return out, workdir, base_model


class _Call:
    """A task of the synchronous runner: run when collected."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args


class _Runner:
    """Tasks on Dask (a LocalCluster of ``workers`` single-threaded processes, BLAS limited to
    one thread each, or the cluster at ``scheduler``) or, with scheduler="synchronous", one
    after the other in this process (when they are collected)."""

    def __init__(self, scheduler, workers):
        self.sync = scheduler == "synchronous"
        self.client = self.cluster = None
        self.parallel = 1
        if not self.sync:
            keys = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
            saved = {k: os.environ.get(k) for k in keys}
            os.environ.update({k: "1" for k in keys})  # the worker processes inherit it at start
            try:
                self.client, self.cluster = dask_client(scheduler, workers)
            finally:
                for k, v in saved.items():
                    os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
            self.parallel = max(1, sum(self.client.nthreads().values()))

    def scatter(self, obj):
        return obj if self.sync else self.client.scatter([obj])[0]

    def submit(self, fn, *args):
        return _Call(fn, args) if self.sync else self.client.submit(fn, *args, pure=False)

    def results(self, handles: list, deadline: float):
        """(handle, result, exception) as tasks finish; stops (cancelling the rest) past ``deadline``."""
        if self.sync:
            for h in handles:
                if time.monotonic() > deadline:
                    return
                try:
                    yield h, h.fn(*h.args), None
                except Exception as exc:  # noqa: BLE001 - recorded in the rows
                    yield h, None, exc
            return
        from dask.distributed import as_completed

        ac = as_completed(handles, loop=self.client.loop)  # its own client's loop (see explore.sweep._collect)
        for f in ac:
            try:
                yield f, f.result(), None
            except Exception as exc:  # noqa: BLE001
                yield f, None, exc
            if time.monotonic() > deadline:
                rest = [g for g in handles if not g.done()]
                self.client.cancel(rest)
                return

    def close(self):
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def codesign(network, dataset: str = "fashion-mnist", *, out, space: CodesignSpace | None = None,
             search: SearchSettings | None = None, workdir=None, reference=None, save_best=None, figures=None,
             max_loss: float = 0.5, energy_table="eie45", scheduler=None, workers=None, data_dir=None,
             flush_s: float = 2.0, progress=None, bar: bool = True) -> CodesignResult:
    """Search compression x hardware for ``network`` on ``dataset`` (module docstring); returns a
    :class:`CodesignResult`. ``reference``: a model file evaluated on every hardware point (not
    trained) for :func:`.report.choose_best`; ``save_best``: write the chosen design
    there (model file with master weights; its index bits and hardware in ``meta["codesign"]``);
    ``figures``: a folder for the two figures; ``progress(text)``: called with a line per event;
    ``bar``: progress bars on a terminal (module docstring; False: none, as for ``--quiet``).
    Bad arguments raise ConfigError before any work."""
    t_start = time.monotonic()
    space = CodesignSpace() if space is None else space
    search = SearchSettings() if search is None else search
    if not isinstance(space, CodesignSpace) or not isinstance(search, SearchSettings):
        raise ConfigError(f"space={describe(space)}, search={describe(search)}: expected a CodesignSpace and SearchSettings")
    out, workdir, base_model = _check(network, dataset, out, workdir, reference, save_best, figures, max_loss,
                                      scheduler, workers)
    table = get_table(energy_table)
    n_layers = len(base_model.layers) if base_model is not None else network_layers(str(network))
    cands = sample_candidates(space, n_layers, search)
    hw = space.hardware()
    deadline = t_start + 60.0 * search.budget_minutes
    say = _say(progress, bar)
    common = {"dataset": dataset, "validation": search.validation, "images": search.simulate_images,
              "table": energy_table_key(table)}
    data_key = [dataset, search.validation]  # what the base and every candidate are trained on
    if base_model is not None:
        base_key = key_digest(["file", file_digest(Path(network)), data_key])
    else:
        base_key = key_digest([str(network), search.dense_epochs, search.dense_lr, search.seed, data_key])
    (workdir / "models").mkdir(parents=True, exist_ok=True)

    with ResultsLock(out):
        results = ResultsFile(out, load_rows(out), flush_s, table.name)
        runner = _Runner(scheduler, workers)
        try:
            state = _Search(search, space, cands, hw, table, common, base_key, workdir, results, runner, deadline, say,
                            dataset, data_dir, bar)
            base, dense_acc = state.base(network, base_model)
            if reference is not None:
                state.reference(reference)
            state.run(base)
        finally:
            results.close()
            runner.close()
        df = results.frame()
        df = df[df["point_id"].isin(state.plan_ids)].reset_index(drop=True)
    fe, fl = report.fronts(df) if not df.empty and "kind" in df.columns else (df.iloc[0:0], df.iloc[0:0])
    best, ref_row, rule = report.choose_best(df) if not fe.empty else (None, None, "no candidate design ran")
    best_path = _save_best(best, save_best, workdir) if best is not None and save_best is not None else None
    bc = report.best_compression(df, dense_acc, max_loss) if not fe.empty else None
    figs = report.figures(df, figures, best, str(network if base_model is None else Path(network).stem)) \
        if figures is not None and not fe.empty else []
    return CodesignResult(df, fe, fl, best, ref_row, rule, best_path, bc, dense_acc, float(max_loss), state.rungs,
                          state.stopped, time.monotonic() - t_start, figs, workdir)


def _say(progress, bar: bool):
    """The line callback: ``progress`` (a no-op when it is not callable), its lines printed
    between the bars when bars may be showing."""
    if not callable(progress):
        return lambda text: None
    if not bar:
        return progress

    def say(text: str) -> None:
        with between_bars():
            progress(text)

    return say


def _save_best(best: dict, path, workdir: Path) -> Path:
    src = workdir / "models" / best["model_file"]
    model = load_model(src)
    master = load_master(src, model)
    m = with_index_bits(model, int(best["index_bits"]))
    keep = ("n_pe", "fifo_depth", "sram_width", "index_bits", "weight_bits", "accuracy", "accuracy_float", "energy_pj",
            "latency_us", "area_mm2", "compression", "sparsity", "balance_pes", "rung", "candidate")
    meta = dict(m.meta, name=Path(path).stem,
                codesign={k: (v.item() if isinstance(v, np.generic) else v) for k, v in best.items() if k in keep})
    return save_with_master(Model(layers=m.layers, meta=meta), path, master)


class _Search:
    """The successive-halving driver's state (see the module docstring)."""

    def __init__(self, search, space, cands, hw, table, common, base_key, workdir, results, runner, deadline, say,
                 dataset, data_dir, bar: bool = True):
        self.s, self.space, self.cands, self.hw, self.table = search, space, cands, hw, table
        self.common, self.base_key, self.workdir, self.results = common, base_key, workdir, results
        self.runner, self.deadline, self.say, self.dataset, self.data_dir = runner, deadline, say, dataset, data_dir
        self.show_bars = bar
        self.rungs: list = []
        self.stopped: str | None = None
        self.plan_ids: set = set()
        self.t0 = time.monotonic()

    def _args(self):
        return self.dataset, self.data_dir, self.s.validation

    def _hw_points(self, key: str, wb: int) -> list:
        pts = []
        for h in self.hw:
            pid = key_digest([key, h, wb, self.common])
            self.plan_ids.add(pid)
            pts.append((pid, h))
        return pts

    def _done(self, pts: list, model_file: Path | None) -> bool:
        have = self.results.done_ids
        if not all(pid in have for pid, _ in pts):
            return False
        df = self.results.frame()
        rows = df[df["point_id"].isin([p for p, _ in pts])]
        return bool(rows["error"].isna().all()) and (model_file is None or model_file.is_file())

    def base(self, network, base_model):
        """(base (model, master), dense accuracy): the model file's, or the dense network trained once (cached)."""
        if base_model is not None:
            master = load_master(network, base_model) or master_from_codes(base_model)
            acc = base_model.meta.get("dense_accuracy", base_model.meta.get("compressed_float_accuracy", float("nan")))
            self.say(f"base: {network} (master weights: {master.stage}; kept {[round(k, 4) for k in master.kept]})")
            return (base_model, master), float(acc)
        path = self.workdir / f"dense-{self.base_key}.npz"
        if path.is_file():
            model = load_model(path)
            self.say(f"base: {path} (cached dense network, float test accuracy {model.meta['dense_accuracy']:.4f})")
            return (model, load_master(path, model)), float(model.meta["dense_accuracy"])
        self.say(f"training {network} dense for {self.s.dense_epochs} epochs")
        h = self.runner.submit(task.dense_task, str(network), *self._args(), self.s.dense_epochs, self.s.dense_lr,
                               self.s.seed, {"dataset": self.dataset, "seed": self.s.seed})
        with spinner("codesign: dense network", f"{self.s.dense_epochs} epochs", enabled=self.show_bars):
            for _, res, exc in self.runner.results([h], math.inf):
                if exc is not None:
                    raise exc if isinstance(exc, EIEError) else \
                        ConfigError(f"dense training failed: {type(exc).__name__}: {exc}")
                model, master, acc, secs = res
        save_with_master(model, path, master)
        self.say(f"dense network: float test accuracy {acc:.4f} ({secs:.0f} s); cached in {path}")
        return (model, master), float(acc)

    def reference(self, ref):
        model = load_model(ref)
        key = key_digest(["reference", file_digest(Path(ref)), self.common])
        pts = self._hw_points(key, model.layers[0].weight_bits)
        if self._done(pts, None):
            self.say(f"reference {ref}: resumed from the results")
            return
        h = self.runner.submit(task.reference_task, model, *self._args(), pts, self.s.simulate_images, self.table)
        with spinner("codesign: reference", f"{len(pts)} hardware point(s)", enabled=self.show_bars):
            done = list(self.runner.results([h], math.inf))
        for _, res, exc in done:
            extra = {"candidate": "reference", "rung": -1, "kind": "reference", "sparsity": "/".join(
                f"{1 - np.count_nonzero(l.dense_codes()) / l.dense_codes().size:.3f}" for l in model.layers),
                "balance_pes": 0, "epochs": 0, "model_file": str(ref)}
            self._add(pts, res, exc, Path(ref).name, extra, model.layers[0].weight_bits)
            self.say(f"reference {ref}: accuracy {res['accuracy']['accuracy']:.4f}" if exc is None else
                     f"reference failed: {exc}")

    def _add(self, pts, res, exc, name: str, extra: dict, wb: int) -> None:
        base = {"layer": "total", "source": "model", "source_name": name, "accuracy_model": name,
                "accuracy_dataset": self.dataset, **extra}
        rows = []
        if exc is None:
            for r in res["rows"]:
                rows.append({**base, **r, **res["accuracy"], "wall_s": res["seconds"], "error": None})
        else:
            for pid, h in pts:
                cfg = asdict(ArchConfig(**h, weight_bits=wb))
                rows.append({**base, "point_id": pid, **cfg, "error": f"{type(exc).__name__}: {exc}"[:500]})
        self.results.add(rows)
        self.results.maybe_flush()

    def run(self, base):
        s = self.s
        active = list(self.cands)
        parents = {c.name: base for c in active}
        base_handle = None
        for r, epochs in enumerate(s.epochs):
            t_rung = time.monotonic()
            jobs, resumed, handles = [], 0, {}
            for c in active:
                key = key_digest([self.base_key, c.name, c.sparsity, c.weight_bits, c.balance_pes, self.space.balance_group,
                               s.epochs[: r + 1], s.prune_rounds, s.lr, s.finetune_lr, s.seed])
                mfile = self.workdir / "models" / f"{c.name}-r{r}-{key[:8]}.npz"
                pts = self._hw_points(key, c.weight_bits)
                jobs.append((c, mfile, pts))
                if self._done(pts, mfile):
                    resumed += 1
                    continue
                if r == 0:
                    parent = base_handle = base_handle or self.runner.scatter(base)
                else:
                    parent = self.runner.scatter(parents[c.name])
                meta = {"dataset": self.dataset, "dense_accuracy": float(base[0].meta.get("dense_accuracy", float("nan"))),
                        "codesign": {"candidate": c.name, "rung": r, "sparsity": list(c.sparsity),
                                     "weight_bits": c.weight_bits, "balance_pes": c.balance_pes, "epochs": list(s.epochs[: r + 1])}}
                h = self.runner.submit(task.candidate_task, c.recipe(s, r, self.space.balance_group),
                                       "prune" if r == 0 else "continue", parent, f"{c.name}-r{r}", meta, *self._args(),
                                       pts, s.simulate_images, self.table)
                handles[h] = (c, mfile, pts)
            self.say(f"rung {r}: {len(active)} candidates, {epochs} epoch(s) per phase; {resumed} resumed, "
                     f"{len(handles)} to train on {self.runner.parallel} worker(s)")
            n_done = 0
            with self._rung_bar(r, len(handles)) as bar:
                for h, res, exc in self.runner.results(list(handles), self.deadline):
                    self._candidate_done(r, *handles[h], res, exc)
                    n_done += 1
                    self._bar_step(bar, n_done, len(handles))
            secs = time.monotonic() - t_rung
            info = {"rung": r, "epochs": epochs, "candidates": len(active), "resumed": resumed, "trained": n_done,
                    "seconds": round(secs, 1)}
            self.rungs.append(info)
            if n_done < len(handles):
                self.stopped = f"budget of {s.budget_minutes:g} min ran out in rung {r} ({n_done}/{len(handles)} trained)"
                self.say(self.stopped)
                return
            if r + 1 == len(s.epochs):
                return
            keep, why = self._promote(jobs, r)
            info["promoted"] = [c.name for c in keep]
            if why:
                info["budget_cut"] = why
                self.say(why)
            if not keep:
                self.stopped = why or f"no candidate of rung {r} finished"
                return
            for c in keep:
                mfile = next(m for cc, m, _ in jobs if cc.name == c.name)
                model = load_model(mfile)
                parents[c.name] = (model, load_master(mfile, model))
            active = keep

    def _candidate_done(self, r: int, c, mfile: Path, pts: list, res, exc) -> None:
        """A candidate's task of rung ``r`` finished: its model file written, its rows added, its line said."""
        s = self.s
        if exc is None:
            save_with_master(res["model"], mfile, res["master"])
        extra = {"candidate": c.name, "rung": r, "kind": "candidate", "sparsity": "/".join(f"{x:g}" for x in c.sparsity),
                 "balance_pes": c.balance_pes or 0, "balance_group": self.space.balance_group,
                 "epochs": (s.prune_rounds + 1) * s.epochs[0] + 2 * sum(s.epochs[1 : r + 1]),
                 "model_file": mfile.name, **({"kept_pct": 100 * float(np.average(
                     res["info"]["kept"], weights=[w.size for w in res["master"].weights]))} if exc is None else {})}
        self._add(pts, res, exc, f"{c.name}-r{r}", extra, c.weight_bits)
        self.say(f"  {c.name} rung {r}: " + (f"accuracy {res['accuracy']['accuracy']:.4f} ({res['seconds']:.0f} s)"
                                             if exc is None else f"failed: {type(exc).__name__}: {exc}"))

    def _rung_bar(self, r: int, n_tasks: int):
        """The bar of rung ``r``: candidates trained (of ``n_tasks``), hardware points simulated."""
        bar = progress_bar(total=n_tasks, desc=f"codesign rung {r}", unit="candidate",
                           enabled=self.show_bars and n_tasks > 0)
        self._bar_step(bar, 0, n_tasks)
        return bar

    def _bar_step(self, bar, n_done: int, n_tasks: int) -> None:
        """``bar`` at ``n_done`` candidates, with the hardware points simulated so far (drawn at
        once: a candidate takes seconds, so no redraw is worth skipping)."""
        bar.set_postfix_str(f"{n_done * len(self.hw)}/{n_tasks * len(self.hw)} hardware points", refresh=False)
        bar.update(n_done - bar.n)
        bar.refresh()

    def _promote(self, jobs, r: int) -> tuple[list, str | None]:
        """The best ceil(n / eta) candidates of rung ``r`` (non-dominated sorting, module
        docstring), cut to what the budget fits; (candidates, why cut or None)."""
        s = self.s
        df = self.results.frame()
        scores = []
        for c, mfile, pts in jobs:
            rows = df[df["point_id"].isin([p for p, _ in pts]) & df["error"].isna()]
            if len(rows) and mfile.is_file():
                scores.append((c, float(rows["accuracy_rank"].iloc[0]), float(rows["energy_pj"].min()),
                               float(rows["wall_s"].iloc[0])))
        n_keep = min(len(scores), math.ceil(len(jobs) / s.eta))
        order, left = [], list(scores)
        while left:
            mask = report.pareto_mask([x[2] for x in left], [x[1] for x in left])
            layer = sorted((x for x, m in zip(left, mask) if m), key=lambda x: (-x[1], x[2], x[0].name))
            order += layer
            left = [x for x, m in zip(left, mask) if not m]
        keep = [x[0] for x in order[:n_keep]]
        # the next rung's time: this rung's mean task time, scaled by the epochs each task trains
        trained = lambda q: (s.prune_rounds + 1) * s.epochs[0] if q == 0 else 2 * s.epochs[q]  # noqa: E731
        per_task = np.mean([x[3] for x in scores]) * (trained(r + 1) + 1) / (trained(r) + 1) if scores else 0.0
        left_s = self.deadline - time.monotonic()
        fit = int(left_s // per_task) * self.runner.parallel if per_task > 0 else len(keep)
        if fit < len(keep):
            return keep[: max(0, fit)], (f"budget: rung {r + 1} cut from {len(keep)} to {max(0, fit)} candidate(s) "
                                         f"(about {per_task:.0f} s each, {max(0.0, left_s):.0f} s left)")
        return keep, None
