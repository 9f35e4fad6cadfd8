"""The one compression pipeline: prune -> retrain -> share weights -> fine-tune -> calibrate.

Every compressing command runs it: ``eie-sim compress`` (a freshly trained network,
:mod:`eie_sim.cli.train`), ``eie-sim import`` (an imported ONNX network,
:func:`eie_sim.io.pipeline.compress_imported`) and the co-design search (a model file's master
weights, :func:`compress_from_master`, and :func:`refit_at_width`). What differs between them
is a :class:`Recipe` and where the network comes from; the steps, their seeds and their order are
:func:`run_recipe`'s:

1. prune to the recipe's ``sparsity`` or ``quality`` over ``prune_rounds`` rounds, each
   retrained ``retrain_epochs`` at ``lr`` (load-balance-aware for ``balance_pes`` PEs when
   given; :func:`eie_sim.train.compress.prune`, seeded ``seed``); or, as a continuation, retrain
   ``retrain_epochs`` under the masks as they are (seed ``seed + 50``); or neither;
2. take the float weights and masks as the master weights (:func:`master_of`);
3. share the weights at ``weight_bits`` (k-means, seed ``seed``);
4. fine-tune the codebooks ``finetune_epochs`` at ``finetune_lr`` without weight decay (seed
   ``seed + 100``); with ``finetune_guard`` the fine-tuning is kept only when it does not
   lower the accuracy on the calibration images (``info["finetune_kept"]``);
5. export with fixed-point formats calibrated on the first :data:`CALIBRATION_IMAGES`
   training images (:func:`calibration_inputs`, :func:`export`).

Starting from master weights (:mod:`eie_sim.contract.master`):

* :func:`network_from_master`: the fully connected network of a model (one Dense layer per
  model layer, named as it, a ReLU after each "relu" layer) holding the master weights, masks
  and biases, ready to train.
* :func:`compress_from_master`: one :class:`Recipe` applied to it -- pruned further to the
  recipe's per-layer sparsity when that is above the masks', or, when the masks already are that
  sparse, retrained more under them (a continuation); sparsity below the masks' cannot regrow
  weights: those layers keep their masks.
* :func:`refit_at_width`: re-cluster *and fine-tune* a model at another weight width from its
  master weights (the sweep's re-clustering alone keeps the old float weights' clusters and
  cannot gain from more bits).
* :func:`train_dense`: a built-in architecture trained dense and exported with its dense master
  weights (an 8-bit linear quantisation as its codes, for inspection only).

Learning rates of the master-weight recipes: retraining at a tenth of the dense rate (0.005, as
``eie-sim compress``); codebook fine-tuning at 0.001 by default, without weight decay. A
centroid moves by the *sum* of its weights' gradients (Deep Compression, section 3.3), so few
centroids over many weights take large steps: at 0.005 one epoch of fine-tuning sent
LeNet-300-100's 3- and 4-bit codebooks to chance accuracy (10%) from 88-89%, at 0.001 it
gained; hence the guard. Everything is seeded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ..config import check_int, check_positive
from ..contract.codebook import linear_codebook, quantize
from ..contract.master import MasterWeights
from ..contract.model import Model
from ..errors import ConfigError, describe
from .balance import check_balance
from .compress import TrainSettings, export_model, prune, share_weights, train
from .data import Dataset
from .nn import Dense, Network, ReLU, build

__all__ = ["Recipe", "Compressed", "run_recipe", "calibration_inputs", "export", "network_from_master", "master_of",
           "compress_from_master", "refit_at_width", "train_dense", "CALIBRATION_IMAGES"]

#: training images the fixed-point formats are calibrated on (and the fine-tuning guard measures)
CALIBRATION_IMAGES = 5000


def _fractions(name: str, value, hi: float | None = 1.0):
    """``value`` (a number, or a list / tuple of them) as a tuple of floats, each >= 0 (< ``hi``
    when given), or None; one ConfigError line naming ``name`` otherwise."""
    if value is None:
        return None
    items = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
    if not items or any(isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) for v in items):
        what = "one fraction in [0, 1) or one per layer" if hi is not None else "one number >= 0 or one per layer"
        raise ConfigError(f"{name}={describe(value)}: expected {what}")
    out = tuple(float(v) for v in items)
    if any(not math.isfinite(v) or v < 0 or (hi is not None and v >= hi) for v in out):
        what = "one fraction in [0, 1) or one per layer" if hi is not None else "one finite number >= 0 or one per layer"
        raise ConfigError(f"{name}={describe(value)}: expected {what}")
    return out


@dataclass(frozen=True)
class Recipe:
    """How to compress (module docstring). ``sparsity`` (fractions removed) or ``quality``
    (threshold = quality x a layer's weight std): one value or one per weighted layer, at most
    one of them (neither: no pruning); ``weight_bits``: the shared-weight width, one value or one
    per layer; ``prune_rounds`` rounds of ``retrain_epochs`` at ``lr`` with ``weight_decay``;
    ``finetune_epochs`` of codebook fine-tuning at ``finetune_lr`` (no weight decay), kept only
    if it does not lower the calibration accuracy when ``finetune_guard``; ``balance_pes``:
    load-balance-aware pruning for that many PEs (None: ordinary pruning), ``balance_group``
    columns per balanced group, ``balance_index_bits``: index-aware balancing at that index
    width (None: not index-aware); ``batch_size``; ``seed`` of every step."""

    sparsity: tuple | None = None
    quality: tuple | None = None
    weight_bits: int | tuple = 4
    balance_pes: int | None = None
    balance_group: int = 1
    balance_index_bits: int | None = None
    prune_rounds: int = 3
    retrain_epochs: int = 1
    finetune_epochs: int = 1
    lr: float = 0.005
    finetune_lr: float = 0.001
    weight_decay: float = 5e-4
    finetune_guard: bool = True
    batch_size: int = 128
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "sparsity", _fractions("sparsity", self.sparsity))
        object.__setattr__(self, "quality", _fractions("quality", self.quality, hi=None))
        if self.sparsity is not None and self.quality is not None:
            raise ConfigError(f"quality={describe(self.quality)}: expected None when sparsity is given "
                              "(give at most one of sparsity and quality)")
        wb = self.weight_bits
        if isinstance(wb, (list, tuple, np.ndarray)):
            if not wb:
                raise ConfigError(f"weight_bits={describe(wb)}: expected one integer in 1..8 or one per layer")
            object.__setattr__(self, "weight_bits", tuple(check_int("weight_bits", b, 1, 8) for b in wb))
        else:
            check_int("weight_bits", wb, 1, 8)
        for nm, v, lo, hi in (("prune_rounds", self.prune_rounds, 1, 100), ("retrain_epochs", self.retrain_epochs, 0, 10000),
                              ("finetune_epochs", self.finetune_epochs, 0, 10000),
                              ("batch_size", self.batch_size, 1, None), ("seed", self.seed, 0, None)):
            check_int(nm, v, lo, hi)
        if self.balance_pes is not None:
            check_balance(self.balance_pes, self.balance_group, self.balance_index_bits)
        elif self.balance_index_bits is not None:
            raise ConfigError(f"balance_index_bits={describe(self.balance_index_bits)}: expected None without "
                              "balance_pes (index-aware pruning balances for a PE count)")
        else:
            check_int("balance_group", self.balance_group, 1, 1 << 31)
        check_positive("lr", self.lr)
        check_positive("finetune_lr", self.finetune_lr)
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) or not (
                math.isfinite(self.weight_decay) and 0 <= self.weight_decay <= 1):
            raise ConfigError(f"weight_decay={describe(self.weight_decay)}: expected a number in [0, 1]")
        if not isinstance(self.finetune_guard, bool):
            raise ConfigError(f"finetune_guard={describe(self.finetune_guard)}: expected True or False")

    @property
    def prunes(self) -> bool:
        """Whether the recipe prunes (a sparsity or a quality is given)."""
        return self.sparsity is not None or self.quality is not None

    @property
    def balance(self) -> dict:
        """prune()'s balance keywords ({} when not balancing)."""
        if self.balance_pes is None:
            return {}
        return {"balance_pes": self.balance_pes, "balance_group": self.balance_group,
                "balance_index_bits": self.balance_index_bits}

    def retrain_settings(self) -> TrainSettings:
        """The retraining phase (each pruning round, or the continuation)."""
        return TrainSettings(epochs=self.retrain_epochs, lr=self.lr, batch_size=self.batch_size,
                             weight_decay=self.weight_decay)

    def finetune_settings(self) -> TrainSettings:
        """The codebook fine-tuning phase: no weight decay."""
        return TrainSettings(epochs=self.finetune_epochs, lr=self.finetune_lr, batch_size=self.batch_size,
                             weight_decay=0.0)


@dataclass
class Compressed:
    """What :func:`run_recipe` did to a network (in place): ``master`` the float weights and masks
    before sharing; ``accuracy`` on the test set after pruning (``"pruned"``, when it pruned) and
    at the end (``"compressed"``), empty without data; ``pruned`` whether it pruned;
    ``finetune_kept`` whether the fine-tuning was kept; ``epochs`` trained."""

    net: Network
    master: MasterWeights
    accuracy: dict = field(default_factory=dict)
    pruned: bool = False
    finetune_kept: bool = True
    epochs: int = 0


def calibration_inputs(data: Dataset) -> np.ndarray:
    """The inputs fixed-point formats are calibrated on: the first :data:`CALIBRATION_IMAGES` training images."""
    return data.x_train[:CALIBRATION_IMAGES]


def _finetune(net: Network, data: Dataset | None, recipe: Recipe, progress: bool) -> bool:
    """Fine-tune the shared codebooks (step 4 of the module docstring); whether it was kept."""
    if not recipe.finetune_epochs or data is None:
        return True
    settings, seed = recipe.finetune_settings(), recipe.seed + 100
    if not recipe.finetune_guard:
        train(net, data, settings, seed=seed, label="codebook fine-tune", progress=progress)
        return True
    x, y = calibration_inputs(data), data.y_train[:CALIBRATION_IMAGES]
    before, state = net.accuracy(x, y), net.state()
    train(net, data, settings, seed=seed, label="codebook fine-tune", progress=progress)
    if net.accuracy(x, y) >= before:
        return True
    net.load_state(state)
    return False


def run_recipe(net: Network, data: Dataset | None, recipe: Recipe, *, mode: str = "prune", progress: bool = False,
               on_pruned: Callable[[float], None] | None = None) -> Compressed:
    """Steps 1-4 of the module docstring on ``net``, in place. ``mode``: "prune" (prune when the
    recipe prunes) or "continue" (retrain under the masks as they are). Without ``data`` nothing
    is trained: pruning is one shot per round (give ``prune_rounds=1``) and nothing is fine-tuned.
    ``on_pruned``: called with the test accuracy after pruning (with data)."""
    if not isinstance(recipe, Recipe):
        raise ConfigError(f"recipe={describe(recipe)}: expected a Recipe")
    if mode not in ("prune", "continue"):
        raise ConfigError(f"mode={describe(mode)}: expected 'prune' or 'continue'")
    acc = (lambda: net.accuracy(data.x_test, data.y_test)) if data is not None else (lambda: None)
    out = Compressed(net, None)
    if mode == "continue":
        if recipe.retrain_epochs and data is not None:
            train(net, data, recipe.retrain_settings(), seed=recipe.seed + 50, label="retrain", progress=progress)
            out.epochs += recipe.retrain_epochs
    elif recipe.prunes:
        how = {"sparsity": recipe.sparsity} if recipe.sparsity is not None else {"quality": recipe.quality}
        prune(net, data, **how, rounds=recipe.prune_rounds, retrain=recipe.retrain_settings(), seed=recipe.seed,
              progress=progress, **recipe.balance)
        out.pruned = True
        out.epochs += recipe.prune_rounds * recipe.retrain_epochs if data is not None else 0
        if data is not None:
            out.accuracy["pruned"] = acc()
            if on_pruned is not None:
                on_pruned(out.accuracy["pruned"])
    out.master = master_of(net, "pruned")
    share_weights(net, recipe.weight_bits, seed=recipe.seed)
    out.finetune_kept = _finetune(net, data, recipe, progress)
    out.epochs += recipe.finetune_epochs if data is not None else 0
    if data is not None:
        out.accuracy["compressed"] = acc()
    return out


def export(net: Network, data: Dataset, *, name: str, index_bits: int = 4, act_bits: int = 16,
           meta: dict | None = None) -> Model:
    """Step 5: ``net`` (weights shared) as a Model, formats calibrated on :func:`calibration_inputs`."""
    return export_model(net, calibration_inputs(data), name=name, act_bits=act_bits, index_bits=index_bits, meta=meta)


def _dense_from_master(lay, w, m, b, rng) -> list:
    d = Dense(lay.shape[1], lay.shape[0], rng, name=lay.name)
    d.params["W"].value = (w * m).astype(np.float32)
    d.params["W"].mask = m.astype(np.float32)
    d.params["b"].value = (np.zeros(lay.shape[0]) if b is None else b).astype(np.float32)
    return [d, ReLU()] if lay.activation == "relu" else [d]


#: per layer kind, the trainer layers that retrain a model layer from its master weights
FROM_MASTER = {"fc": _dense_from_master}


def network_from_master(model: Model, master: MasterWeights) -> Network:
    """The trainable network of ``model`` holding ``master``'s weights, masks and biases (every
    layer's kind must be in :data:`FROM_MASTER`: fully connected models)."""
    other = sorted({lay.kind for lay in model.layers} - set(FROM_MASTER))
    if other:
        raise ConfigError(f"model: only fully connected models can be retrained from master weights (this one has "
                          f"{' and '.join(other)} layers)")
    if len(master.weights) != len(model.layers):
        raise ConfigError(f"master weights have {len(master.weights)} layers; the model has {len(model.layers)}")
    rng = np.random.default_rng(0)  # the initial weights are replaced below
    layers = []
    for lay, w, m, b in zip(model.layers, master.weights, master.masks, master.biases):
        layers += FROM_MASTER[lay.kind](lay, w, m, b, rng)
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


def compress_from_master(model: Model, master: MasterWeights, data: Dataset, recipe: Recipe, *, name: str,
                         index_bits: int = 4, act_bits: int | None = None, meta: dict | None = None,
                         mode: str = "auto", progress: bool = False) -> tuple[Model, MasterWeights, dict]:
    """(compressed model, its new master weights, info) for ``recipe`` applied to ``master``
    (module docstring). ``mode``: "prune" (prune to the recipe's sparsity, then retrain),
    "continue" (retrain under the masks as they are) or "auto" (prune when a layer's target is
    above its masks' sparsity or the master is not yet pruned and balance is asked for).
    info: ``pruned`` (whether it pruned), ``kept`` per layer, ``float_accuracy`` of the shared
    network on the test set, ``epochs`` trained, ``finetune_kept``."""
    if not isinstance(recipe, Recipe):
        raise ConfigError(f"recipe={describe(recipe)}: expected a Recipe")
    if mode not in ("auto", "prune", "continue"):
        raise ConfigError(f"mode={describe(mode)}: expected 'auto', 'prune' or 'continue'")
    if recipe.sparsity is None or len(recipe.sparsity) != len(model.layers):
        raise ConfigError(f"sparsity={describe(recipe.sparsity)}: expected one value per layer ({len(model.layers)})")
    net = network_from_master(model, master)
    have = [1.0 - k for k in master.kept]
    targets = [max(s, h) for s, h in zip(recipe.sparsity, have)]  # no regrowth: a layer keeps its mask
    pruned = mode == "prune" or mode == "auto" and (any(t > h + 1e-9 for t, h in zip(targets, have)) or (
        recipe.balance_pes is not None and master.stage != "pruned"))
    res = run_recipe(net, data, replace(recipe, sparsity=tuple(targets)), mode="prune" if pruned else "continue",
                     progress=progress)
    ab = act_bits if act_bits is not None else model.layers[0].act_bits
    out = export(net, data, name=name, index_bits=index_bits, act_bits=ab, meta=dict(meta or {}))
    info = {"pruned": bool(pruned), "kept": res.master.kept, "float_accuracy": float(res.accuracy["compressed"]),
            "epochs": res.epochs, "finetune_kept": res.finetune_kept}
    return out, res.master, info


def refit_at_width(model: Model, master: MasterWeights, data: Dataset, weight_bits: int, *, epochs: int = 2,
                   lr: float = 0.001, seed: int = 0, name: str | None = None) -> Model:
    """``model`` re-shared at ``weight_bits`` from its master weights (k-means over the float
    weights, not the old codebook) and its codebook fine-tuned ``epochs`` at ``lr`` (with the
    guard of the module docstring); masks, index bits and act bits stay the model's. The result
    is computed, never copied: at the model's own width it is a fresh clustering too."""
    recipe = Recipe(weight_bits=weight_bits, retrain_epochs=0, finetune_epochs=epochs, finetune_lr=lr, seed=seed)
    net = network_from_master(model, master)
    run_recipe(net, data, recipe, mode="continue")
    meta = dict(model.meta, refit={"weight_bits": int(weight_bits), "epochs": int(epochs), "lr": float(lr), "seed": int(seed)})
    meta.pop("master", None)
    lay0 = model.layers[0]
    return export(net, data, name=name or str(model.meta.get("name", "model")), index_bits=lay0.index_bits,
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
    model = export(net, data, name=arch.replace(":", "-") + "-dense", index_bits=index_bits, act_bits=16,
                   meta=dict(meta or {}, dense_accuracy=float(acc)))
    return model, master, float(acc)
