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

Layers: Table III names (``"alex6"``, optionally ``"alex6@0.1"`` for a scaled copy), model files
(every layer of the model, fed by one test image propagated through the golden model), or
:class:`SweepLayer` (dense codes, codebook and activations). Fields not in ``space`` take the
:class:`ArchConfig` default, except weight_bits, index_bits and act_bits, which a model or user
layer keeps from its own when they are not swept, and ptr_bits, which when not swept grows from
17 to what the layer needs on few PEs (a 1-PE AlexNet fc6 needs 23-bit pointers); every row
shows the configuration it ran.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..cycle import suite as benchmarks
from ..contract.codebook import check_codebook, recluster
from ..config import ArchConfig
from ..cost.energy import EnergyTable, get_table
from ..cost.report import energy_report
from ..errors import ConfigError, EIEError, PointerOverflowError, describe
from ..contract.format import encode
from ..contract.model import Model, ModelLayer, load_model
from ..cycle.simulator import COUNTERS, simulate

__all__ = ["sweep", "SweepLayer", "SweepIncomplete", "load_sweep", "expand_space", "SWEEP_FIELDS"]

SWEEP_FIELDS = tuple(f.name for f in fields(ArchConfig))
#: the fields an encoded layer depends on; points that share them share one encoding
ENCODING_FIELDS = ("n_pe", "weight_bits", "index_bits", "ptr_bits", "act_bits")
_LAYER_OWN_FIELDS = ("weight_bits", "index_bits", "act_bits")


class SweepIncomplete(EIEError):
    """Some tasks were lost (a worker died); ``results`` holds what finished."""

    def __init__(self, message: str, results: pd.DataFrame):
        super().__init__(message)
        self.results = results


@dataclass(frozen=True, eq=False)
class SweepLayer:
    """A user layer for :func:`sweep`: dense ``codes`` (outputs x inputs, 0 = no weight),
    ``codebook`` (2**weight_bits floats, entry 0 = 0.0) and float input ``activations``."""

    name: str
    codes: np.ndarray
    codebook: np.ndarray
    activations: np.ndarray
    index_bits: int = 4
    act_bits: int = 16

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"SweepLayer.name={describe(self.name)}: expected a non-empty string")
        cb = check_codebook(self.codebook, name=f"layer {self.name!r}: codebook")
        codes = np.asarray(self.codes)
        if codes.ndim != 2 or not np.issubdtype(codes.dtype, np.integer) or (codes.size and (codes.min() < 0 or codes.max() >= cb.size)):
            raise ConfigError(f"layer {self.name!r}: codes must be a 2-D integer array with values in 0..{cb.size - 1}")
        acts = np.asarray(self.activations, dtype=np.float64)
        if acts.shape != (codes.shape[1],):
            raise ConfigError(f"layer {self.name!r}: activations have shape {acts.shape}; expected ({codes.shape[1]},)")
        object.__setattr__(self, "codebook", cb)
        object.__setattr__(self, "codes", codes.astype(np.uint8))
        object.__setattr__(self, "activations", acts)

    @property
    def weight_bits(self) -> int:
        return self.codebook.size.bit_length() - 1

    def digest(self) -> str:
        h = hashlib.blake2b(digest_size=8)
        for a in (self.codes, self.codebook, self.activations):
            h.update(str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(f"{self.index_bits},{self.act_bits}".encode())
        return h.hexdigest()


@dataclass(frozen=True)
class _Source:
    """What a task needs to rebuild a layer on a worker (small; arrays travel separately)."""

    kind: str  # "table3", "model" or "user"
    name: str
    key: str  # stable identity for point ids
    native: tuple  # (weight_bits, index_bits, act_bits) of the layer as given
    detail: tuple = ()  # table3: (seed, scale); model: (path, input_index, dataset)


# ----------------------------------------------------------------------------- validation


def expand_space(space: dict) -> list[dict]:
    """The cartesian product of ``space`` as a list of {field: value}; refuses unknown fields,
    empty or non-list values and values an :class:`ArchConfig` refuses (naming field and value)."""
    if not isinstance(space, dict):
        raise ConfigError(f"space={describe(space)}: expected a dict of ArchConfig field -> list of values")
    keys = list(space)
    for k in keys:
        if k not in SWEEP_FIELDS:
            raise ConfigError(f"space field {k!r}: not an ArchConfig field; expected one of {', '.join(SWEEP_FIELDS)}")
        v = space[k]
        if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            raise ConfigError(f"space[{k!r}]={describe(v)}: expected a list of values")
        vals = [x.item() if isinstance(x, np.generic) else x for x in v]
        space = {**space, k: vals}
        if not vals:
            raise ConfigError(f"space[{k!r}] is empty: expected at least one value")
        if len(set(map(repr, vals))) != len(vals):
            raise ConfigError(f"space[{k!r}]={vals}: values repeat")
        for x in vals:
            try:
                ArchConfig(**{k: x})
            except EIEError as exc:
                raise ConfigError(f"space[{k!r}] value {describe(x)}: {exc}") from None
    points = [dict(zip(keys, combo)) for combo in itertools.product(*(list(space[k]) for k in keys))]
    for p in points:
        try:
            ArchConfig(**p)
        except EIEError as exc:
            raise ConfigError(f"space point {p}: {exc}") from None
    return points


def _file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _resolve_layers(layers, model, seed: int, input_index: int, dataset: str | None) -> tuple[list[_Source], dict]:
    """Sources for ``layers`` (+ the model's layers when a model is given) and user arrays by key."""
    if layers is None:
        layers = []
    if isinstance(layers, (str, Path, SweepLayer)):
        layers = [layers]
    sources, arrays = [], {}
    model_paths = set()
    items = list(layers)
    if model is not None:
        mp = Path(model).resolve()
        if not any(isinstance(x, (str, Path)) and Path(x).suffix == ".npz" and Path(x).resolve() == mp for x in items):
            items.append(model)
    if not items:
        raise ConfigError("layers: expected at least one Table III name, model file or SweepLayer")
    for it in items:
        if isinstance(it, SweepLayer):
            key = f"user:{it.name}:{it.digest()}"
            sources.append(_Source("user", it.name, key, (it.weight_bits, it.index_bits, it.act_bits)))
            arrays[key] = it
        elif isinstance(it, (str, Path)) and (str(it).endswith(".npz") or Path(it).is_file()):
            path = Path(it).resolve()
            if not path.is_file():
                raise ConfigError(f"layers: model file {str(it)!r} does not exist")
            if path in model_paths:
                raise ConfigError(f"layers: model file {str(it)!r} given twice")
            model_paths.add(path)
            m = load_model(path)
            ds = dataset or m.meta.get("dataset")
            lay0 = m.layers[0]
            key = f"model:{path.name}:{_file_digest(path)}:in{input_index}:{ds}"
            sources.append(_Source("model", str(m.meta.get("name", path.stem)), key,
                                   (lay0.weight_bits, lay0.index_bits, lay0.act_bits), (str(path), input_index, ds)))
        elif isinstance(it, str):
            name, _, sc = it.partition("@")
            if name not in benchmarks.TABLE_III:
                raise ConfigError(f"layers: {it!r} is not a Table III layer ({', '.join(benchmarks.NAMES)}), "
                                  "a model file (.npz) or a SweepLayer")
            try:
                scale = float(sc) if sc else 1.0
            except ValueError:
                raise ConfigError(f"layers: {it!r}: expected NAME@SCALE with a number in (0, 1]") from None
            if not 0 < scale <= 1:
                raise ConfigError(f"layers: {it!r}: scale {scale} is not in (0, 1]")
            key = f"table3:{name}:seed{seed}:scale{scale:g}"
            sources.append(_Source("table3", it, key, (4, 4, 16), (seed, scale)))
        else:
            raise ConfigError(f"layers item {describe(it)}: expected a Table III name, a model file path or a SweepLayer")
    keys = [s.key for s in sources]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"layers: the same layer is given twice ({[s.name for s in sources]})")
    return sources, arrays


def _table_key(table: EnergyTable) -> str:
    blob = json.dumps({"name": table.name, "e": {k: repr(v) for k, v in sorted(table.energy_pj.items())},
                       "s": {k: repr(v) for k, v in sorted(table.static_mw.items())}, "node": table.node_nm,
                       "vdd": table.vdd}, sort_keys=True)
    return hashlib.blake2b(blob.encode(), digest_size=6).hexdigest()


def _config_for(point: dict, src: _Source) -> dict:
    """The full configuration (every ArchConfig field) of ``point`` on ``src``."""
    cfg = asdict(ArchConfig())
    for f, v in zip(_LAYER_OWN_FIELDS, src.native):
        cfg[f] = v
    cfg.update(point)
    return cfg


def _point_id(cfg: dict, src: _Source, table_key: str) -> str:
    blob = json.dumps({"cfg": {k: cfg[k] for k in SWEEP_FIELDS}, "src": src.key, "table": table_key}, sort_keys=True,
                      default=str)
    return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


# ----------------------------------------------------------------------------- worker side

# per-worker caches, least recently used dropped first: layers and models by kind, encodings
_CACHES: dict = {}
_CACHE_ITEMS = {"enc": 24, "variant": 32}
_PTR_BITS_NEEDED: dict = {}  # (layer key, n_pe, weight_bits, index_bits) -> pointer width that fits


def _cached(key, make):
    cache = _CACHES.setdefault(key[0], OrderedDict())
    hit = cache.get(key)
    if hit is None:
        hit = make()
        cache[key] = hit
        while len(cache) > _CACHE_ITEMS.get(key[0], 16):
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return hit


def _model_input(model: Model, dataset: str | None, index: int, seed: int) -> np.ndarray:
    """Test image ``index`` of ``dataset`` when it loads and fits, else a seeded uniform input."""
    if dataset:
        try:
            from ..train.data import load_dataset

            d = _cached(("dataset", dataset), lambda: load_dataset(dataset))
            if d.x_test.shape[1] == model.n_inputs:
                return np.asarray(d.x_test[index % len(d.x_test)], dtype=np.float64)
        except EIEError:
            pass
    return np.random.default_rng(seed).random(model.n_inputs)


def _relayer(lay: ModelLayer, **changes) -> ModelLayer:
    """``lay`` stored dense with ``changes`` applied (and a fresh encoding cache)."""
    return replace(lay, codes=changes.pop("codes", lay.dense_codes()), encoded=None, meta=dict(lay.meta), _cache={},
                   **changes)


def _model_variant(model: Model, weight_bits: int | None, act_bits: int | None) -> Model:
    """``model`` with every layer re-clustered to ``weight_bits`` and its fixed-point formats moved to
    ``act_bits`` (same integer bits, more or fewer fraction bits); None keeps the layer's own."""
    layers = []
    for lay in model.layers:
        changes = {}
        if weight_bits is not None and weight_bits != lay.weight_bits:
            changes["codes"], changes["codebook"] = recluster(lay.dense_codes(), lay.codebook, weight_bits)
        if act_bits is not None and act_bits != lay.act_bits:
            d = act_bits - lay.act_bits
            changes["act_bits"] = act_bits
            for f in ("in_frac", "w_frac", "out_frac"):
                changes[f] = getattr(lay, f) + d if getattr(lay, f) is not None else None
        layers.append(_relayer(lay, **changes) if changes else lay)
    return Model(layers=tuple(layers), meta=dict(model.meta))


def _with_index_bits(model: Model, index_bits: int) -> Model:
    if all(lay.index_bits == index_bits for lay in model.layers):
        return model
    return Model(layers=tuple(_relayer(l, index_bits=index_bits) for l in model.layers), meta=dict(model.meta))


def _prepare(src: _Source, user, cfg: dict, seed: int):
    """(thing to simulate, activations) for a group of points that share an encoding."""
    wb, ib, ab = cfg["weight_bits"], cfg["index_bits"], cfg["act_bits"]
    if src.kind == "model":
        path, index, ds = src.detail
        base = _cached(("model", path), lambda: load_model(path))
        variant = _cached(("variant", src.key, wb, ab), lambda: _model_variant(base, wb, ab))
        m = _cached(("variant", src.key, wb, ab, ib), lambda: _with_index_bits(variant, ib))
        x = _cached(("input", src.key), lambda: _model_input(base, ds, index, seed))
        return m, x
    if src.kind == "table3":
        s, scale = src.detail
        name = src.name.partition("@")[0]
        b = _cached(("table3", src.key), lambda: benchmarks.get(name, seed=s, scale=scale))
        codes, cb, acts = b.codes, b.codebook, b.activations
    else:
        codes, cb, acts = user.codes, user.codebook, user.activations
    if wb != cb.size.bit_length() - 1:
        codes, cb = _cached(("recluster", src.key, wb), lambda: recluster(codes, cb, wb))
    enc = _cached(("enc", src.key, cfg["n_pe"], wb, ib, cfg["ptr_bits"]),
                  lambda: encode(codes, cb, n_pe=cfg["n_pe"], index_bits=ib, ptr_bits=cfg["ptr_bits"],
                                 sram_width=cfg["sram_width"], spmat_sram_kb=cfg["spmat_sram_kb"],
                                 ptr_sram_kb=cfg["ptr_sram_kb"]))
    return enc, acts


def _rows(res, table: EnergyTable) -> list[dict]:
    """One metrics dict per layer of a simulation result."""
    rep = energy_report(res, table)
    pairs = list(zip(res.layers, rep.layers)) if res.layers else [(res, rep)]
    out = []
    for r, e in pairs:
        cyc = r.cycles
        pp = r.per_pe_arrays
        work = np.asarray(pp["entries_real"]) + np.asarray(pp["entries_padding"])
        row = {
            "layer": r.name, "rows": int(r.shape[0]), "cols": int(r.shape[1]),
            "cycles": int(cyc), "latency_us": float(r.latency_us), "load_efficiency": float(r.load_efficiency),
            "gops": float(r.gops), "entries": int(r.entries), "padding_entries": int(r.padding_entries),
            "padding_pct": 100.0 * r.padding_entries / max(1, r.entries + r.padding_entries),
            **{c: int(r.counters[c]) for c in COUNTERS},
            "pe_work_max": int(work.max()), "pe_work_mean": float(work.mean()),
            "pe_imbalance": float(work.max() / work.mean()) if work.mean() > 0 else 1.0,
            "pe_starved_frac_mean": float(np.mean(pp["starved_cycles"]) / cyc) if cyc else 0.0,
            "pe_blocked_frac_mean": float(np.mean(pp["blocked_cycles"]) / cyc) if cyc else 0.0,
            "energy_pj": float(e.energy_pj), "power_mw": float(e.power_mw), "area_mm2": float(e.area_mm2),
            "frames_per_j": float(e.frames_per_j),
            **{f"energy_module_{k.lower()}_pj": float(v) for k, v in e.by_module.items()},
            **{f"energy_level_{k}_pj": float(v) for k, v in e.by_level.items()},
            **{f"energy_action_{k}_pj": float(v) for k, v in e.by_action.items()},
            "notes": "; ".join(r.notes),
        }
        out.append(row)
    return out


def _simulate_point(src: _Source, user, cfg: dict, seed: int, auto_ptr: bool):
    """(config used, SimResult). With ``auto_ptr`` a pointer overflow
    widens ptr_bits to what the layer needs and the point runs again."""
    c = dict(cfg)
    memo = (src.key, c["n_pe"], c["weight_bits"], c["index_bits"])
    if auto_ptr:
        c["ptr_bits"] = max(c["ptr_bits"], _PTR_BITS_NEEDED.get(memo, 0))
    for _ in range(4):
        try:
            target, acts = _prepare(src, user, c, seed)
            return c, simulate(target, acts, ArchConfig(**c))
        except PointerOverflowError as exc:
            if not auto_ptr or exc.bits_needed <= c["ptr_bits"]:
                raise
            c["ptr_bits"] = _PTR_BITS_NEEDED[memo] = exc.bits_needed
    raise ConfigError(f"ptr_bits: no width found for layer {src.name!r}")  # pragma: no cover


def _run_batch(src: _Source, user, cfgs: list[dict], ids: list[str], table: EnergyTable, seed: int,
               auto_ptr: bool = False) -> list[dict]:
    """Simulate ``cfgs`` (which share an encoding) on ``src``; one row per (point, layer).
    Never raises for a point: the exception goes in the ``error`` column."""
    rows = []
    for cfg, pid in zip(cfgs, ids):
        try:
            used, res = _simulate_point(src, user, cfg, seed, auto_ptr)
            for r in _rows(res, table):
                if src.kind != "model":
                    r["layer"] = src.name
                rows.append({"point_id": pid, **used, "source": src.kind, "source_name": src.name, **r, "error": ""})
        except Exception as exc:  # noqa: BLE001 - recorded per point, the sweep goes on
            err = f"{type(exc).__name__}: {exc}"
            names = [src.name]
            if src.kind == "model":
                try:
                    names = [l.name for l in _cached(("model", src.detail[0]), lambda: load_model(src.detail[0])).layers]
                except Exception:  # noqa: BLE001
                    pass
            for nm in names:
                rows.append({"point_id": pid, **cfg, "source": src.kind, "source_name": src.name, "layer": nm, "error": err})
    return rows


def _accuracy(path: str, weight_bits, act_bits, dataset: str, samples: int | None) -> tuple[float, int]:
    """Test accuracy of the model at (weight_bits, act_bits) in the bit-exact golden model."""
    from ..train.data import load_dataset
    from ..contract.golden import reference_forward_batch

    base = _cached(("model", path), lambda: load_model(path))
    m = _model_variant(base, weight_bits, act_bits)
    d = _cached(("dataset", dataset), lambda: load_dataset(dataset))
    x, y = d.x_test, d.y_test
    if samples:
        x, y = x[:samples], y[:samples]
    out = reference_forward_batch(m, x, ArchConfig(act_bits=m.layers[0].act_bits))
    return float((out.argmax(axis=1) == y).mean()), int(len(y))


# ----------------------------------------------------------------------------- results file


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


# ----------------------------------------------------------------------------- driver


def _client(scheduler, workers):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ConfigError(f"sweeps need Dask: pip install 'eie-sim[dist]' ({exc})") from None
    if scheduler is not None:
        if workers is not None:
            raise ConfigError(f"workers={describe(workers)} with scheduler={scheduler!r}: an existing cluster brings "
                              "its own workers; give one or the other")
        if not isinstance(scheduler, str) or not scheduler:
            raise ConfigError(f"scheduler={describe(scheduler)}: expected an address such as 'tcp://10.0.0.5:8786'")
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"scheduler={scheduler!r}: cannot connect ({exc})") from None
    n = (os.cpu_count() or 1) if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"workers={describe(workers)}: expected an integer >= 1")
    import logging

    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def sweep(space: dict, layers=None, *, model=None, energy_table="eie45", scheduler=None, workers=None, out=None,
          seed: int = 0, input_index: int = 0, dataset: str | None = None, accuracy_samples: int | None = None,
          batch_size: int | None = None, retry_errors: bool = False, flush_s: float = 2.0,
          progress=None) -> pd.DataFrame:
    """Run ``space`` x ``layers`` on Dask; returns the tidy DataFrame (module docstring).

    ``space``: {ArchConfig field: list of values}. ``layers``: Table III names (``"vgg6"``,
    ``"vgg6@0.1"``), model file paths and :class:`SweepLayer` objects. ``model``: a trained model
    file whose test accuracy (``dataset``, default the one in its metadata; the first
    ``accuracy_samples`` test images, default all) is computed once per (weight_bits, act_bits)
    and reported in ``accuracy``; its layers join the sweep. ``energy_table``: preset, TOML
    path or EnergyTable. ``scheduler``: address of an existing Dask scheduler; otherwise a
    LocalCluster of ``workers`` processes (default: all cores). ``out``: Parquet file the rows
    stream to and resume from. ``progress(done, total, elapsed_s)`` is called as points finish.
    ``seed``: Table III generator seed and the fallback model input. Rows are sorted by layer
    order, then by the space in the order given.
    """
    points = expand_space(space)
    table = get_table(energy_table)
    tkey = _table_key(table)
    if model is not None and not (isinstance(model, (str, Path)) and Path(model).is_file()):
        raise ConfigError(f"model={describe(model)}: expected the path of a model file (.npz)")
    sources, arrays = _resolve_layers(layers, model, seed, input_index, dataset)
    for nm, v in (("batch_size", batch_size), ("accuracy_samples", accuracy_samples)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ConfigError(f"{nm}={describe(v)}: expected an integer >= 1 or None")
    acc_ds = None
    if model is not None:
        mpath = str(Path(model).resolve())
        acc_ds = next(s.detail[2] for s in sources if s.kind == "model" and s.detail[0] == mpath)
        from ..train.data import DATASETS

        if not acc_ds:
            raise ConfigError(f"model {str(model)!r} names no dataset in its metadata: give dataset=")
        if acc_ds not in DATASETS:
            raise ConfigError(f"dataset={acc_ds!r}: expected one of {', '.join(DATASETS)}")

    # every (point, layer source) with its full config and id, in output order
    todo = []
    for s in sources:
        for p in points:
            cfg = _config_for(p, s)
            try:
                ArchConfig(**cfg)
            except EIEError as exc:
                raise ConfigError(f"space point {p} on layer {s.name!r}: {exc}") from None
            todo.append((s, cfg, _point_id(cfg, s, tkey)))
    order = {pid: i for i, (_, _, pid) in enumerate(todo)}

    out_path = Path(out) if out is not None else None
    done_frames = []
    if out_path is not None and out_path.exists():
        old = load_sweep(out_path)
        if retry_errors:
            bad = set(old.loc[old["error"].astype(str) != "", "point_id"])
            old = old[~old["point_id"].isin(bad)]
        done_frames.append(old)
    done_ids = set(done_frames[0]["point_id"]) if done_frames else set()
    pending = [t for t in todo if t[2] not in done_ids]
    total, n_done0 = len(todo), len(todo) - len(pending)

    # accuracy once per (weight_bits, act_bits), reusing what the file already holds
    acc = {}
    if model is not None and done_frames and "accuracy" in done_frames[0]:
        old = done_frames[0].dropna(subset=["accuracy"])
        for (wb, ab), v in old.groupby(["weight_bits", "act_bits"])["accuracy"].first().items():
            acc[(int(wb), int(ab))] = float(v)

    groups: dict = {}
    for s, cfg, pid in pending:
        gk = (s.key, *(cfg[f] for f in ENCODING_FIELDS))
        groups.setdefault(gk, (s, []))[1].append((cfg, pid))

    t0 = time.perf_counter()
    new_rows: list[dict] = []
    failed: list[str] = []
    if progress:
        progress(n_done0, total, 0.0)

    converted: list[pd.DataFrame] = []  # new rows already turned into frames, in order
    n_converted = 0

    def frame() -> pd.DataFrame:
        """Every row so far; only the rows since the last call are converted."""
        nonlocal n_converted
        if len(new_rows) > n_converted:
            fresh = new_rows[n_converted:]
            df = pd.DataFrame(fresh)
            if model is not None:
                df["accuracy"] = [acc.get((r["weight_bits"], r["act_bits"]), np.nan) for r in fresh]
                df["accuracy_model"] = Path(model).name
                df["accuracy_dataset"] = acc_ds
            df["energy_table"] = table.name
            converted.append(_tidy(df))
            n_converted = len(new_rows)
        frames = done_frames + converted
        if not frames:
            return pd.DataFrame(columns=["point_id"])
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return df.drop_duplicates(subset=["point_id", "layer"], keep="last").reset_index(drop=True)

    if pending:
        client, cluster = _client(scheduler, workers)
        last_flush = time.perf_counter()
        flush_interval = flush_s
        try:
            need = {(c["weight_bits"], c["act_bits"]) for _, c, _ in pending} if model is not None else set()
            need -= set(acc)
            afuts = {k: client.submit(_accuracy, mpath, k[0], k[1], acc_ds, accuracy_samples, pure=False) for k in sorted(need)}
            n_workers = max(1, len(client.scheduler_info().get("workers", {})) or 1)
            bs = batch_size or max(1, min(32, math.ceil(len(pending) / (4 * n_workers))))
            user_futs = {k: client.scatter(v, broadcast=False) for k, v in arrays.items()}
            chunks = {}  # future -> the (config, point id) pairs it runs
            for (s, items) in groups.values():
                for i in range(0, len(items), bs):
                    chunk = items[i : i + bs]
                    f = client.submit(_run_batch, s, user_futs.get(s.key), [c for c, _ in chunk], [p for _, p in chunk],
                                      table, seed, "ptr_bits" not in space, pure=False)
                    chunks[f] = chunk
            for k, f in afuts.items():
                acc[k] = f.result()[0]
            from dask.distributed import as_completed

            n_done = n_done0
            for f in as_completed(list(chunks)):
                chunk = chunks[f]
                try:
                    new_rows.extend(f.result())
                except Exception as exc:  # noqa: BLE001 - a lost worker: these points stay pending
                    failed.append(f"{len(chunk)} point(s): {type(exc).__name__}: {exc}")
                    continue
                n_done += len(chunk)
                if progress:
                    progress(n_done, total, time.perf_counter() - t0)
                if out_path is not None and time.perf_counter() - last_flush >= flush_interval:
                    t_w = time.perf_counter()
                    _write_atomic(frame(), out_path)
                    last_flush = time.perf_counter()
                    # a big file is rewritten less often: writing stays under ~10% of the driver's time
                    flush_interval = max(flush_s, 10 * (last_flush - t_w))
        finally:
            if out_path is not None and new_rows:
                _write_atomic(frame(), out_path)
            client.close()
            if cluster is not None:
                cluster.close()
    df = frame()
    if failed:
        raise SweepIncomplete(f"{len(failed)} task(s) did not finish ({failed[0]}); the rest is saved"
                              + (f" in {out_path}; rerun to resume" if out_path else ""), df)
    mine = df[df["point_id"].isin(order)].copy()
    mine["_o"] = mine["point_id"].map(order)
    mine = mine.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    return mine

