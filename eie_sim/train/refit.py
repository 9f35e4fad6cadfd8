"""Compression that starts from a model file's float master weights, and retraining at another width.

The trainer's pipeline (:mod:`.compress`: prune -> retrain -> share weights -> fine-tune the
codebook -> export) normally starts from a freshly trained network. Here it starts from the
master weights a model file may carry (:mod:`eie_sim.contract.master`): the float weights
before weight sharing and their pruning masks.

* :func:`network_from_master`: the fully connected network of a model (one Dense layer per
  model layer, named as it, a ReLU after each "relu" layer) holding the master weights, masks
  and biases, ready to train.
* :func:`compress_from_master`: one :class:`Recipe` applied to it -- pruned further to the
  recipe's per-layer sparsity when that is above the masks' (``prune_rounds`` rounds of
  ``retrain_epochs``, load-balance-aware for ``balance_pes`` PEs when given,
  :func:`eie_sim.train.compress.prune`), or, when the masks already are that sparse, retrained
  ``retrain_epochs`` more under them (a continuation); then the float weights and masks are
  taken as the new master, the weights shared at ``weight_bits`` (k-means) and the codebook
  fine-tuned ``finetune_epochs``, and the result exported (fixed-point formats calibrated on the
  first 5,000 training images) with the new master. Sparsity below the masks' cannot regrow
  weights: those layers keep their masks.
* :func:`refit_at_width`: re-cluster *and fine-tune* a model at another weight width from its
  master weights (the sweep's re-clustering alone keeps the old float weights' clusters and
  cannot gain from more bits).
* :func:`train_dense`: a built-in architecture trained dense and exported with its dense master
  weights (an 8-bit linear quantisation as its codes, for inspection only).

Learning rates: retraining at a tenth of the dense rate (0.005, as ``eie-sim compress``);
codebook fine-tuning at 0.001 by default, without weight decay. A centroid moves by the *sum* of
its weights' gradients (Deep Compression, section 3.3), so few centroids over many weights take
large steps: at 0.005 one epoch of fine-tuning sent LeNet-300-100's 3- and 4-bit codebooks to
chance accuracy (10%) from 88-89%, at 0.001 it gained. As a guard, fine-tuning is kept only
when it does not lower the accuracy on the first 5,000 training images (the calibration
images); otherwise the codebook goes back to the k-means one (``info["finetune_kept"]``).
Everything is seeded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import check_int, check_positive
from ..contract.codebook import linear_codebook, quantize
from ..contract.master import MasterWeights
from ..contract.model import Model
from ..errors import ConfigError, describe
from .compress import TrainSettings, export_model, prune, share_weights, train
from .data import Dataset
from .nn import Dense, Network, ReLU, build

__all__ = ["Recipe", "network_from_master", "master_of", "compress_from_master", "refit_at_width", "train_dense",
           "CALIBRATION_IMAGES"]

#: training images the fixed-point formats are calibrated on (as ``eie-sim compress``)
CALIBRATION_IMAGES = 5000


@dataclass(frozen=True)
class Recipe:
    """How to compress from master weights (module docstring). ``sparsity``: fraction removed
    per layer (one value per model layer); ``weight_bits``: shared-weight width of every layer;
    ``balance_pes``: load-balance-aware pruning for that many PEs (None: ordinary pruning),
    ``balance_group`` columns per balanced group."""

    sparsity: tuple
    weight_bits: int = 4
    balance_pes: int | None = None
    balance_group: int = 1
    prune_rounds: int = 3
    retrain_epochs: int = 1
    finetune_epochs: int = 1
    lr: float = 0.005
    finetune_lr: float = 0.001
    batch_size: int = 128
    seed: int = 0

    def __post_init__(self):
        sp = tuple(float(s) for s in self.sparsity) if isinstance(self.sparsity, (list, tuple)) else None
        if not sp or any(not (math.isfinite(s) and 0.0 <= s < 1.0) for s in sp):
            raise ConfigError(f"sparsity={describe(self.sparsity)}: expected one fraction in [0, 1) per layer")
        object.__setattr__(self, "sparsity", sp)
        for nm, v, lo, hi in (("weight_bits", self.weight_bits, 1, 8), ("prune_rounds", self.prune_rounds, 1, 100),
                              ("retrain_epochs", self.retrain_epochs, 0, 10000),
                              ("finetune_epochs", self.finetune_epochs, 0, 10000), ("balance_group", self.balance_group, 1, 1 << 31),
                              ("batch_size", self.batch_size, 1, 1 << 20), ("seed", self.seed, 0, 2**63 - 1)):
            check_int(nm, v, lo, hi)
        if self.balance_pes is not None and (isinstance(self.balance_pes, bool) or not isinstance(self.balance_pes, int)
                                             or not 1 <= self.balance_pes <= 1 << 16):
            raise ConfigError(f"balance_pes={describe(self.balance_pes)}: expected None or an integer in 1..65536")
        check_positive("lr", self.lr)
        check_positive("finetune_lr", self.finetune_lr)


def network_from_master(model: Model, master: MasterWeights) -> Network:
    """The trainable network of fully connected ``model`` holding ``master``'s weights, masks and biases."""
    if model.is_sequence or any(l.kind != "fc" for l in model.layers):
        raise ConfigError("model: only fully connected models can be retrained from master weights (this one has an "
                          "lstm layer)")
    if len(master.weights) != len(model.layers):
        raise ConfigError(f"master weights have {len(master.weights)} layers; the model has {len(model.layers)}")
    rng = np.random.default_rng(0)  # the initial weights are replaced below
    layers = []
    for lay, w, m, b in zip(model.layers, master.weights, master.masks, master.biases):
        d = Dense(lay.shape[1], lay.shape[0], rng, name=lay.name)
        d.params["W"].value = (w * m).astype(np.float32)
        d.params["W"].mask = m.astype(np.float32)
        d.params["b"].value = (np.zeros(lay.shape[0]) if b is None else b).astype(np.float32)
        layers.append(d)
        if lay.activation == "relu":
            layers.append(ReLU())
    return Network(str(model.meta.get("name", "model")), layers, (model.layers[0].shape[1],))


def master_of(net: Network, stage: str = "pruned") -> MasterWeights:
    """The float weights, masks (all kept where a layer has none) and biases of ``net``'s Dense layers."""
    ws, ms, bs = [], [], []
    for d in net.dense_layers():
        p = d.params["W"]
        ws.append(p.value.copy())
        ms.append(np.ones(p.value.shape, bool) if p.mask is None else p.mask != 0)
        bs.append(d.params["b"].value.copy())
    return MasterWeights(tuple(ws), tuple(ms), tuple(bs), stage)


def _settings(recipe: Recipe, epochs: int, finetune: bool) -> TrainSettings:
    if finetune:
        return TrainSettings(epochs=epochs, lr=recipe.finetune_lr, batch_size=recipe.batch_size, weight_decay=0.0)
    return TrainSettings(epochs=epochs, lr=recipe.lr, batch_size=recipe.batch_size)


def _finetune(net: Network, data: Dataset, settings: TrainSettings, seed: int, progress: bool = False) -> bool:
    """Fine-tune the shared codebooks; kept only when the accuracy on the first 5,000 training
    images does not drop (module docstring). Whether it was kept."""
    if not settings.epochs:
        return True
    x, y = data.x_train[:CALIBRATION_IMAGES], data.y_train[:CALIBRATION_IMAGES]
    before, state = net.accuracy(x, y), net.state()
    train(net, data, settings, seed=seed, label="codebook fine-tune", progress=progress)
    if net.accuracy(x, y) >= before:
        return True
    net.load_state(state)
    return False


def _export(net: Network, data: Dataset, *, name: str, index_bits: int, act_bits: int, meta: dict | None) -> Model:
    return export_model(net, data.x_train[:CALIBRATION_IMAGES], name=name, act_bits=act_bits, index_bits=index_bits,
                        meta=meta)


def compress_from_master(model: Model, master: MasterWeights, data: Dataset, recipe: Recipe, *, name: str,
                         index_bits: int = 4, act_bits: int | None = None, meta: dict | None = None,
                         mode: str = "auto", progress: bool = False) -> tuple[Model, MasterWeights, dict]:
    """(compressed model, its new master weights, info) for ``recipe`` applied to ``master``
    (module docstring). ``mode``: "prune" (prune to the recipe's sparsity, then retrain),
    "continue" (retrain under the masks as they are) or "auto" (prune when a layer's target is
    above its masks' sparsity or the master is not yet pruned and balance is asked for).
    info: ``pruned`` (whether it pruned), ``kept`` per layer, ``float_accuracy`` of the shared
    network on the test set, ``epochs`` trained."""
    if not isinstance(recipe, Recipe):
        raise ConfigError(f"recipe={describe(recipe)}: expected a Recipe")
    if mode not in ("auto", "prune", "continue"):
        raise ConfigError(f"mode={describe(mode)}: expected 'auto', 'prune' or 'continue'")
    if len(recipe.sparsity) != len(model.layers):
        raise ConfigError(f"sparsity={list(recipe.sparsity)}: expected one value per layer ({len(model.layers)})")
    net = network_from_master(model, master)
    have = [1.0 - k for k in master.kept]
    targets = [max(s, h) for s, h in zip(recipe.sparsity, have)]  # no regrowth: a layer keeps its mask
    pruned = mode == "prune" or mode == "auto" and (any(t > h + 1e-9 for t, h in zip(targets, have)) or (
        recipe.balance_pes is not None and master.stage != "pruned"))
    epochs = 0
    if pruned:
        balance = {} if recipe.balance_pes is None else {"balance_pes": recipe.balance_pes, "balance_group": recipe.balance_group}
        prune(net, data, sparsity=targets, rounds=recipe.prune_rounds, retrain=_settings(recipe, recipe.retrain_epochs, False),
              seed=recipe.seed, progress=progress, **balance)
        epochs += recipe.prune_rounds * recipe.retrain_epochs
    elif recipe.retrain_epochs:
        train(net, data, _settings(recipe, recipe.retrain_epochs, False), seed=recipe.seed + 50, label="retrain",
              progress=progress)
        epochs += recipe.retrain_epochs
    snapshot = master_of(net, "pruned")
    share_weights(net, recipe.weight_bits, seed=recipe.seed)
    kept = _finetune(net, data, _settings(recipe, recipe.finetune_epochs, True), recipe.seed + 100, progress)
    epochs += recipe.finetune_epochs
    facc = net.accuracy(data.x_test, data.y_test)
    ab = act_bits if act_bits is not None else model.layers[0].act_bits
    out = _export(net, data, name=name, index_bits=index_bits, act_bits=ab, meta=dict(meta or {}))
    info = {"pruned": bool(pruned), "kept": snapshot.kept, "float_accuracy": float(facc), "epochs": epochs,
            "finetune_kept": kept}
    return out, snapshot, info


def refit_at_width(model: Model, master: MasterWeights, data: Dataset, weight_bits: int, *, epochs: int = 2,
                   lr: float = 0.001, seed: int = 0, name: str | None = None) -> Model:
    """``model`` re-shared at ``weight_bits`` from its master weights (k-means over the float
    weights, not the old codebook) and its codebook fine-tuned ``epochs`` at ``lr`` (with the
    guard of the module docstring); masks, index bits and act bits stay the model's. The result
    is computed, never copied: at the model's own width it is a fresh clustering too."""
    recipe = Recipe(sparsity=tuple(1.0 - k for k in master.kept), weight_bits=weight_bits, retrain_epochs=0,
                    finetune_epochs=epochs, finetune_lr=lr, seed=seed)
    net = network_from_master(model, master)
    share_weights(net, recipe.weight_bits, seed=seed)
    _finetune(net, data, _settings(recipe, epochs, True), seed + 100)
    meta = dict(model.meta, refit={"weight_bits": int(weight_bits), "epochs": int(epochs), "lr": float(lr), "seed": int(seed)})
    meta.pop("master", None)
    lay0 = model.layers[0]
    return _export(net, data, name=name or str(model.meta.get("name", "model")), index_bits=lay0.index_bits,
                   act_bits=lay0.act_bits, meta=meta)


def train_dense(arch: str, data: Dataset, settings: TrainSettings, *, seed: int = 0, index_bits: int = 4,
                meta: dict | None = None, progress: bool = False) -> tuple[Model, MasterWeights, float]:
    """(model, dense master weights, float test accuracy) of ``arch`` (``lenet300`` or
    ``mlp:H1,H2,...``) trained dense on ``data``. The model's codes are an 8-bit linear
    quantisation of the dense weights (the model file needs codes); the master holds the
    float weights the searches start from."""
    net = build(arch, np.random.default_rng(seed), data.n_features, data.n_classes, data.side)
    if any(not isinstance(l, (Dense, ReLU)) for l in net.layers):
        raise ConfigError(f"network={describe(arch)}: expected a fully connected architecture (lenet300 or "
                          "mlp:H1,H2,...); EIE runs fully connected layers")
    train(net, data, settings, seed=seed, label="dense", progress=progress)
    acc = net.accuracy(data.x_test, data.y_test)
    master = master_of(net, "dense")
    for d in net.dense_layers():
        p = d.params["W"]
        w = p.value.astype(np.float64)
        cb = linear_codebook(w, 8)
        p.codes = quantize(w, cb)
        p.codebook = cb.astype(np.float32)
    model = _export(net, data, name=arch.replace(":", "-") + "-dense", index_bits=index_bits, act_bits=16,
                    meta=dict(meta or {}, dense_accuracy=float(acc)))
    return model, master, float(acc)
