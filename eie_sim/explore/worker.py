"""What a Dask worker does for the sweep: rebuild a layer from its :class:`~.space.LayerSource`,
re-cluster and encode it for a group of points (kept in per-process caches, so every point of
a group and later tasks on the same worker reuse them), simulate each point, turn the result
and its energy report into tidy rows (:func:`run_batch`), and compute a model's test accuracy
at a bit width (:func:`model_accuracy`). The driver submits these top-level functions by reference;
the caches are this module's globals and live only in the worker processes.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections import OrderedDict
from dataclasses import replace

import numpy as np

from ..config import ArchConfig
from ..contract.codebook import recluster
from ..contract.format import encode
from ..contract.model import Model, ModelLayer, load_model
from ..cost.energy import EnergyTable
from ..cost.report import energy_report
from ..cycle import suite
from ..cycle.conv import CONV_COUNTERS
from ..cycle.simulator import COUNTERS, simulate
from ..errors import ConfigError, PointerOverflowError
from .space import LayerSource

__all__ = ["run_batch", "model_accuracy", "tune_malloc", "with_index_bits", "widen_ptr_bits"]

# per-worker caches, least recently used dropped first: layers and models by kind, encodings
_CACHES: dict = {}
_CACHE_ITEMS = {"enc": 24, "variant": 32}
_PTR_BITS_NEEDED: dict = {}  # (layer key, n_pe, weight_bits, index_bits) -> pointer width that fits


_MALLOC_TUNED = False
#: glibc mallopt parameters and the values set in a Dask worker (see :func:`tune_malloc`)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit)
_TRIM_THRESHOLD_BYTES = 64 << 20


def tune_malloc() -> bool:
    """Undo the one setting of a Dask worker that slows the simulator down; once per process.

    Dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``
    (``distributed.nanny.pre-spawn-environ``). Setting any trim threshold turns off glibc's
    dynamic mmap threshold, so every allocation above 128 KiB -- the simulator's per-pass and
    per-layer arrays, the energy report's frames -- is mmap'd and unmapped on free, and its
    pages fault in again on every call: the same bare loop of simulate() + energy_report()
    ran 1.4-1.56x slower in a worker than in a plain process. When that variable is set (and
    ``MALLOC_MMAP_THRESHOLD_`` is not, i.e. the user did not choose a threshold), this sets the
    mmap threshold to 32 MiB and the trim threshold to 64 MiB: a worker keeps at most that much
    freed memory beyond what it uses. Only on glibc; returns whether it changed anything."""
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return False
    _MALLOC_TUNED = True
    if not sys.platform.startswith("linux") or "MALLOC_TRIM_THRESHOLD_" not in os.environ \
            or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)) and \
            bool(libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES))
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to undo
        return False


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


def _model_input(model: Model, dataset: str | None, index: int, seed: int, path: str) -> np.ndarray:
    """The model's input (:func:`eie_sim.train.inputs.model_input`, as ``run`` picks it): test
    image ``index`` of ``dataset``; index 0, the default, falls back to the seeded input when the
    data set cannot be loaded here."""
    from ..train.data import load_dataset
    from ..train.inputs import model_input

    def cached(name, data_dir):
        return _cached(("dataset", name), lambda: load_dataset(name, data_dir))

    return model_input(model, index or None, dataset=dataset, seed=seed, what=path, loader=cached)[0]


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


def with_index_bits(model: Model, index_bits: int) -> Model:
    """``model`` with every layer at ``index_bits`` relative-index bits (stored dense, so it is
    encoded again at that width); ``model`` itself when every layer has them already."""
    if all(lay.index_bits == index_bits for lay in model.layers):
        return model
    return Model(layers=tuple(_relayer(l, index_bits=index_bits) for l in model.layers), meta=dict(model.meta))


def _prepare(src: LayerSource, user, cfg: dict, seed: int):
    """(thing to simulate, activations) for a group of points that share an encoding."""
    wb, ib, ab = cfg["weight_bits"], cfg["index_bits"], cfg["act_bits"]
    if src.kind == "model":
        path, index, ds = src.detail
        base = _cached(("model", path), lambda: load_model(path))
        variant = _cached(("variant", src.key, wb, ab), lambda: _model_variant(base, wb, ab))
        m = _cached(("variant", src.key, wb, ab, ib), lambda: with_index_bits(variant, ib))
        if user is not None:  # the sweep's input file, checked against the model by the sweep
            from ..train.inputs import fit_input

            x = fit_input(base, user)
        else:
            x = _cached(("input", src.key), lambda: _model_input(base, ds, index, seed, path))
        return m, x
    if src.kind == "table3":
        s, scale, row_cv, col_cv = src.detail
        name = src.name.partition("@")[0]
        b = _cached(("table3", src.key), lambda: suite.get(name, seed=s, scale=scale, row_cv=row_cv, col_cv=col_cv))
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
            "padding_pct": 100.0 * r.padding_entries / max(1, r.entries),  # entries include the padding
            **{c: int(r.counters[c]) for c in COUNTERS},
            # a conv layer's own counters (eie_sim.cycle.conv); an fc or lstm layer is one position
            **{c: int(r.counters.get(c, 1 if c == "positions" else 0)) for c in CONV_COUNTERS},
            **r.saturation.to_dict(),  # values clipped per quantisation point (eie_sim.contract.saturation)
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


def widen_ptr_bits(run, ptr_bits: int, *, fixed: bool = False, widenings: int = 1, on_widen=None):
    """``run(ptr_bits)`` (a simulation at that pointer width) and, when it raises
    PointerOverflowError needing more bits and the width is not ``fixed``, ``run`` again at the
    width needed: a layer on few PEs needs longer pointers (a 1-PE AlexNet fc6 needs 23 bits). At
    most ``widenings`` times; the run after the last widening raises what it raises. Returns
    (result, the width used); ``on_widen(old, new)`` is called at each widening. The one rule of
    the CLI, the sweep and the co-design search."""
    for _ in range(widenings):
        try:
            return run(ptr_bits), ptr_bits
        except PointerOverflowError as exc:
            if fixed or exc.bits_needed <= ptr_bits:
                raise
            if on_widen is not None:
                on_widen(ptr_bits, exc.bits_needed)
            ptr_bits = exc.bits_needed
    return run(ptr_bits), ptr_bits


def _simulate_point(src: LayerSource, user, cfg: dict, seed: int, auto_ptr: bool):
    """(config used, SimResult). With ``auto_ptr`` a pointer overflow
    widens ptr_bits to what the layer needs and the point runs again."""
    c = dict(cfg)
    memo = (src.key, c["n_pe"], c["weight_bits"], c["index_bits"])
    if auto_ptr:
        c["ptr_bits"] = max(c["ptr_bits"], _PTR_BITS_NEEDED.get(memo, 0))

    def run(bits):
        c["ptr_bits"] = bits
        target, acts = _prepare(src, user, c, seed)
        return simulate(target, acts, ArchConfig(**c))

    def widened(old, new):
        _PTR_BITS_NEEDED[memo] = new

    try:
        res, _ = widen_ptr_bits(run, c["ptr_bits"], fixed=not auto_ptr, widenings=3, on_widen=widened)
    except PointerOverflowError as exc:
        if not auto_ptr or exc.bits_needed <= c["ptr_bits"]:
            raise
        _PTR_BITS_NEEDED[memo] = exc.bits_needed
        raise ConfigError(f"ptr_bits: no width found for layer {src.name!r}") from None  # pragma: no cover
    return c, res


def run_batch(src: LayerSource, user, cfgs: list[dict], ids: list[str], table: EnergyTable, seed: int,
               auto_ptr: bool = False) -> list[dict]:
    """Simulate ``cfgs`` (which share an encoding) on ``src``; one row per (point, layer).
    Never raises for a point: the exception goes in the ``error`` column."""
    tune_malloc()
    rows = []
    for cfg, pid in zip(cfgs, ids):
        try:
            used, res = _simulate_point(src, user, cfg, seed, auto_ptr)
            for r in _rows(res, table):
                if src.kind != "model":
                    r["layer"] = src.name
                rows.append({"point_id": pid, **used, "source": src.kind, "source_name": src.name, "seed": seed, **r,
                             "error": None})
        except Exception as exc:  # noqa: BLE001 - recorded per point, the sweep goes on
            err = f"{type(exc).__name__}: {exc}"
            names = [src.name]
            if src.kind == "model":
                try:
                    names = [l.name for l in _cached(("model", src.detail[0]), lambda: load_model(src.detail[0])).layers]
                except Exception:  # noqa: BLE001
                    pass
            for nm in names:
                rows.append({"point_id": pid, **cfg, "source": src.kind, "source_name": src.name, "seed": seed, "layer": nm,
                             "error": err})
    return rows




def model_accuracy(path: str, weight_bits, act_bits, dataset: str, samples: int | None,
              retrain_epochs: int | None = None) -> tuple[float, int]:
    """Test accuracy of the model at (weight_bits, act_bits) in the bit-exact golden model; with
    ``retrain_epochs``, of the model re-clustered from its master weights and fine-tuned at
    weight_bits (cached per model, width and epochs in this worker)."""
    from ..train.data import load_dataset
    from ..contract.golden import reference_forward_batch

    tune_malloc()
    base = _cached(("model", path), lambda: load_model(path))
    d = _cached(("dataset", dataset), lambda: load_dataset(dataset))
    if retrain_epochs:
        from ..contract.master import load_master
        from ..train.pipeline import refit_at_width

        wb = base.layers[0].weight_bits if weight_bits is None else weight_bits
        refit = _cached(("refit", path, wb, retrain_epochs),
                        lambda: refit_at_width(base, load_master(path, base), d, wb, epochs=retrain_epochs))
        m = _model_variant(refit, None, act_bits)
    else:
        m = _model_variant(base, weight_bits, act_bits)
    x, y = d.x_test, d.y_test
    if samples:
        x, y = x[:samples], y[:samples]
    out = reference_forward_batch(m, x)  # each layer at its own weight_bits and act_bits
    return float((out.argmax(axis=1) == y).mean()), int(len(y))

