"""What a Dask worker does for the co-design search (:mod:`.search`): train the dense base
network (:func:`dense_task`), compress one software candidate at one rung of the search from
its parent's master weights (:func:`candidate_task`), and evaluate a trained model on every
hardware point (:func:`evaluate`, also the reference model's :func:`reference_task`).

Evaluating a model: its bit-exact test accuracy (the fixed-point golden model over the whole
test set), its accuracy on the ranking set (the held-out validation images, or the test set
when there are none), and for every hardware point (n_pe, fifo_depth, sram_width, index_bits)
the first K test images run on the cycle model: cycles, latency, load efficiency, energy
(total and dynamic) and power under the energy table, and area, as means over the K images.
Each simulated output is checked against the golden model's (``simulator_matches``). The
pointer width widens to what a layer needs on few PEs, as in the sweep. Compression is Deep
Compression's count (dense fp32 over one relative-index stream at the point's index bits plus
an fp32 codebook, :func:`eie_sim.contract.info.model_info`).

Tasks return plain rows and the trained model (the driver writes the model files, so workers
need no shared folder). Data sets are loaded once per worker process and kept.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import replace

import numpy as np

from ..config import ArchConfig
from ..contract.golden import reference_forward_batch
from ..contract.info import model_info
from ..contract.master import MasterWeights
from ..contract.model import Model
from ..cost.energy import EnergyTable
from ..cost.report import energy_report
from ..cycle.simulator import simulate
from ..train.data import Dataset, load_dataset
from ..train.compress import TrainSettings, float_accuracy
from ..train.pipeline import Recipe, compress_from_master, train_dense
from ..explore.worker import tune_malloc, widen_ptr_bits, with_index_bits

_DATA: dict = {}


def load_split(dataset: str, data_dir, validation: int) -> tuple[Dataset, np.ndarray, np.ndarray]:
    """(training data set, ranking images, ranking labels): with ``validation`` > 0 the last
    ``validation`` training images are held out for ranking and left out of training; else the
    ranking set is the test set. Cached per process."""
    key = (dataset, str(data_dir), validation)
    if key not in _DATA:
        d = load_dataset(dataset, data_dir)
        if validation:
            xv, yv = d.x_train[-validation:], d.y_train[-validation:]
            d = dataclasses.replace(d, x_train=d.x_train[:-validation], y_train=d.y_train[:-validation])
        else:
            xv, yv = d.x_test, d.y_test
        _DATA[key] = (d, xv, yv)
    return _DATA[key]


def _golden_accuracy(model: Model, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    out = reference_forward_batch(model, x)
    return float((out.argmax(axis=1) == y).mean()), out


def _simulate_widening(model: Model, x: np.ndarray, cfg: ArchConfig):
    """(result, configuration used): ``cfg`` with ptr_bits widened when the model needs it."""
    def at(bits):
        return cfg if bits == cfg.ptr_bits else replace(cfg, ptr_bits=bits)

    res, bits = widen_ptr_bits(lambda b: simulate(model, x, at(b)), cfg.ptr_bits)
    return res, at(bits)


def evaluate(model: Model, data: Dataset, x_rank: np.ndarray, y_rank: np.ndarray, hw_points: list[tuple[str, dict]],
             images: int, table: EnergyTable) -> tuple[dict, list[dict]]:
    """(accuracy columns, one metrics row per hardware point) of ``model`` (module docstring);
    ``hw_points``: (point id, {n_pe, fifo_depth, sram_width, index_bits}) pairs."""
    acc, golden = _golden_accuracy(model, data.x_test, data.y_test)
    rank = acc if x_rank is data.x_test else _golden_accuracy(model, x_rank, y_rank)[0]
    accs = {"accuracy": acc, "accuracy_float": float_accuracy(model, data.x_test, data.y_test), "accuracy_rank": rank,
            "accuracy_samples": int(len(data.y_test))}
    k = min(images, len(data.x_test))
    xs = data.x_test[:k].astype(np.float64)
    lay0 = model.layers[0]
    rows, ratios = [], {}
    for pid, hw in hw_points:
        m = with_index_bits(model, hw["index_bits"])
        if hw["index_bits"] not in ratios:
            ratios[hw["index_bits"]] = model_info(m, 1)["ratio_deep_compression"]
        cfg = ArchConfig(n_pe=hw["n_pe"], fifo_depth=hw["fifo_depth"], sram_width=hw["sram_width"],
                         weight_bits=lay0.weight_bits, index_bits=hw["index_bits"], act_bits=lay0.act_bits)
        sims = []
        for i in range(k):
            r, cfg = _simulate_widening(m, xs[i], cfg)
            sims.append(r)
        reps = [energy_report(r, table) for r in sims]
        lat = float(np.mean([r.latency_us for r in sims]))
        energy = float(np.mean([e.energy_pj for e in reps]))
        static = float(np.mean([e.by_level.get("static", 0.0) for e in reps]))
        rows.append({
            "point_id": pid, **dataclasses.asdict(cfg),
            "cycles": int(round(float(np.mean([r.cycles for r in sims])))),
            "cycles_mean": float(np.mean([r.cycles for r in sims])),
            "latency_us": lat, "energy_pj": energy, "energy_static_pj": static,
            "power_mw": energy / lat / 1e3 if lat else 0.0, "area_mm2": float(reps[0].area_mm2),
            "load_efficiency": float(np.mean([r.load_efficiency for r in sims])),
            "entries": int(sims[0].entries), "padding_entries": int(sims[0].padding_entries),
            "simulated_images": k,
            "simulator_matches": bool(all(np.array_equal(r.output_fixed, golden[i]) for i, r in enumerate(sims))),
            "compression": float(ratios[hw["index_bits"]]),
        })
    return accs, rows


def dense_task(arch: str, dataset: str, data_dir, validation: int, epochs: int, lr: float, seed: int,
               meta: dict) -> tuple[Model, MasterWeights, float, float]:
    """(dense model, its master weights, float test accuracy, seconds) of ``arch`` trained dense."""
    tune_malloc()
    t0 = time.perf_counter()
    data, _, _ = load_split(dataset, data_dir, validation)
    model, master, acc = train_dense(arch, data, TrainSettings(epochs=epochs, lr=lr), seed=seed, meta=meta)
    return model, master, acc, time.perf_counter() - t0


def candidate_task(recipe: Recipe, mode: str, parent: tuple[Model, MasterWeights], name: str, meta: dict, dataset: str,
                   data_dir, validation: int, hw_points: list, images: int, table: EnergyTable) -> dict:
    """Compress ``parent`` by ``recipe`` (:func:`eie_sim.train.pipeline.compress_from_master`) and
    evaluate the result: {"model", "master", "info", "accuracy": {...}, "rows": [...], "seconds"}."""
    tune_malloc()
    t0 = time.perf_counter()
    data, xv, yv = load_split(dataset, data_dir, validation)
    model, master, info = compress_from_master(parent[0], parent[1], data, recipe, name=name, meta=meta, mode=mode)
    t_train = time.perf_counter() - t0
    accs, rows = evaluate(model, data, xv, yv, hw_points, images, table)
    return {"model": model, "master": master, "info": info, "accuracy": accs, "rows": rows,
            "seconds": time.perf_counter() - t0, "train_seconds": t_train}


def reference_task(model: Model, dataset: str, data_dir, validation: int, hw_points: list, images: int,
                   table: EnergyTable) -> dict:
    """The reference model evaluated like a candidate (no training)."""
    tune_malloc()
    t0 = time.perf_counter()
    data, xv, yv = load_split(dataset, data_dir, validation)
    accs, rows = evaluate(model, data, xv, yv, hw_points, images, table)
    return {"accuracy": accs, "rows": rows, "seconds": time.perf_counter() - t0}
