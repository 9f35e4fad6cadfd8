"""Deep Compression and DSD in NumPy: train, prune, share weights, Huffman-code, report, export.

* Training: mini-batch SGD with momentum, L2 weight decay and a cosine learning-rate schedule,
  all seeded (:func:`train`).
* Pruning (Han et al., NIPS 2015): per layer, threshold = quality x standard deviation of the
  layer's weights, applied over ``rounds`` prune -> retrain rounds with the quality ramped up to
  its final value; or explicit per-layer sparsities (keep the largest weights). Masks are
  enforced: pruned weights, their gradients and momenta stay exactly zero. Retraining runs at a
  tenth of the learning rate, and dropout is rescaled as D_r = D_o sqrt(C_r / C_o)
  (:func:`prune`). Load-balance-aware (``balance_pes``): every PE keeps the same number of
  weights in each column group (:mod:`.balance`).
* Weight sharing (Deep Compression, section 3): per layer, k-means with 2**bits - 1 centroids
  over the surviving weights (code 0 reserved for exact zero and never moved), linear
  initialisation by default; a layer that already has at most 2**bits - 1 distinct non-zero
  values keeps exactly those as its codebook; fine-tuning updates each centroid by the sum of
  the gradients of its weights (:func:`share_weights`, :class:`eie_sim.train.nn.SGD`).
* Huffman coding (section 4) of each layer's weight codes and relative indices
  (:func:`compression_report`).
* DSD (Han et al., ICLR 2017): dense -> sparse (top-k by magnitude, default 30% removed,
  trained under the mask) -> re-dense (pruned weights restored at zero, all trained at a tenth
  of the learning rate) (:func:`dsd`).
* Export of fully connected networks to the eie-sim model format with calibrated fixed-point
  formats (:func:`export_model`); each Dense layer followed by a ReLU gets activation "relu",
  any other "none".
* The float view of a model file (:func:`float_forward`): codebook values in float64, then the
  model's output function (``meta["output_function"]``: sigmoid, tanh or softmax, as imported
  from ONNX), which the fixed-point golden model leaves out.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..contract.codebook import kmeans_codebook, quantize
from .data import Dataset
from ..errors import ConfigError, describe
from ..contract.fixedpoint import choose_frac
from ..contract.format import encode
from .balance import balanced_mask, check_balance
from .huffman import huffman_bits
from .lstm import export_lstm_model
from ..contract.model import Model, ModelLayer
from .export_cnn import export_cnn
from .nn import SGD, Conv2D, Dense, Dropout, Flatten, Network, ReLU, softmax_cross_entropy

__all__ = [
    "TrainSettings",
    "train",
    "prune",
    "apply_sparsity",
    "share_weights",
    "compression_report",
    "CompressionReport",
    "dsd",
    "export_model",
    "dense_activations",
    "float_forward",
    "float_accuracy",
    "OUTPUT_FUNCTIONS",
]

#: functions a model may apply to its last layer's outputs in float (``meta["output_function"]``)
OUTPUT_FUNCTIONS = ("sigmoid", "tanh", "softmax")


@dataclass
class TrainSettings:
    """Hyper-parameters of a training phase. ``lr`` follows a cosine schedule to ``lr * final_lr_ratio``."""

    epochs: int = 10
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 128
    final_lr_ratio: float = 0.02

    def __post_init__(self):
        if not isinstance(self.epochs, int) or self.epochs < 0:
            raise ConfigError(f"epochs={describe(self.epochs)}: expected an integer >= 0")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr={describe(self.lr)}: expected a finite number > 0")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size={describe(self.batch_size)}: expected an integer >= 1")


class Progress:
    """Training progress on stderr: a bar over each epoch's batches with the running loss and
    accuracy (tqdm, on a terminal only: :mod:`eie_sim.progress`), then one line per epoch;
    silent when ``enabled`` is False."""

    def __init__(self, label: str, enabled: bool):
        self.label = label
        self.enabled = enabled
        self.bar = None

    def batch(self, epoch, epochs, b, nb, loss, acc):
        if not self.enabled:
            return
        if self.bar is None:
            from ..progress import progress

            self.bar = progress(total=nb, desc=f"{self.label} epoch {epoch}/{epochs}", unit="batch")
        self.bar.update(b - self.bar.n)
        if b % 20 == 0 or b == nb:
            self.bar.set_postfix_str(f"loss {loss:.4f} acc {acc:.4f}")

    def epoch(self, epoch, epochs, loss, acc, test_acc, secs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.enabled:
            sys.stderr.write(f"{self.label} epoch {epoch}/{epochs} loss {loss:.4f} "
                             f"train acc {acc:.4f} test acc {test_acc:.4f} ({secs:.1f} s)\n")
            sys.stderr.flush()


def train(net: Network, data: Dataset, settings: TrainSettings, seed: int = 0, label: str = "train",
          progress: bool = False) -> list[dict]:
    """Train ``net`` in place; returns one record per epoch (loss, train and test accuracy, seconds)."""
    rng = np.random.default_rng(seed)
    opt = SGD(settings.lr, settings.momentum, settings.weight_decay)
    x, y = data.x_train, data.y_train
    n = len(y)
    nb = max(1, math.ceil(n / settings.batch_size))
    total = settings.epochs * nb
    bar = Progress(label, progress)
    history = []
    step = 0
    for p in net.params():
        p.momentum = None
        p.codebook_momentum = None
    for ep in range(1, settings.epochs + 1):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        loss_sum = correct = seen = 0
        for b in range(nb):
            idx = order[b * settings.batch_size : (b + 1) * settings.batch_size]
            xb, yb = x[idx], y[idx]
            logits = net.forward(xb, train=True)
            loss, g = softmax_cross_entropy(logits, yb)
            net.backward(g)
            frac = step / max(1, total - 1)
            lr = settings.lr * (settings.final_lr_ratio + (1 - settings.final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))
            opt.step(net.params(), lr)
            step += 1
            loss_sum += loss * len(yb)
            correct += int((logits.argmax(axis=1) == yb).sum())
            seen += len(yb)
            bar.batch(ep, settings.epochs, b + 1, nb, loss_sum / seen, correct / seen)
        test_acc = net.accuracy(data.x_test, data.y_test)
        rec = {"epoch": ep, "loss": loss_sum / seen, "train_acc": correct / seen, "test_acc": test_acc,
               "seconds": time.perf_counter() - t0}
        history.append(rec)
        bar.epoch(ep, settings.epochs, rec["loss"], rec["train_acc"], test_acc, rec["seconds"])
    return history


def _layer_list(net: Network, values, what: str):
    layers = net.weighted()
    if isinstance(values, (int, float)):
        return [values] * len(layers)
    values = list(values)
    if len(values) == 1:
        return values * len(layers)
    if len(values) != len(layers):
        raise ConfigError(f"{what}={values}: expected one value or one per weighted layer ({len(layers)})")
    return values


def _rescale_dropout(net: Network, kept: dict) -> None:
    """D_r = D_o sqrt(C_r / C_o) for each dropout layer, C the connections of the layer before it."""
    last = None
    for layer in net.layers:
        if isinstance(layer, (Dense, Conv2D)):
            last = layer
        elif isinstance(layer, Dropout) and last is not None:
            if not hasattr(layer, "p_original"):
                layer.p_original = layer.p
            layer.p = layer.p_original * math.sqrt(kept[id(last)])


def apply_sparsity(net: Network, sparsity) -> None:
    """Mask each weighted layer to keep its largest-magnitude weights: ``sparsity`` is the
    fraction removed (one value, or one per layer). A weight already masked stays masked."""
    kept = {}
    for layer, s in zip(net.weighted(), _layer_list(net, sparsity, "sparsity")):
        if not 0.0 <= s < 1.0:
            raise ConfigError(f"sparsity={s}: expected 0 <= sparsity < 1")
        p = layer.params["W"]
        mask = _largest(p.value, s)
        p.mask = mask if p.mask is None else mask * p.mask
        p.apply_mask()
        kept[id(layer)] = float(p.mask.mean())
    _rescale_dropout(net, kept)


def _largest(w: np.ndarray, s: float) -> np.ndarray:
    """float32 mask of the round(size x (1 - s)) largest |w|."""
    a = np.abs(w).ravel()
    k = int(round(a.size * (1 - s)))
    mask = np.zeros(a.size, dtype=np.float32)
    if k:
        mask[np.argpartition(-a, k - 1)[:k]] = 1.0
    return mask.reshape(w.shape)


def _apply_balanced(net: Network, targets: list, balance: tuple) -> None:
    """Mask each weighted layer to its balanced selection (:mod:`.balance`) with ``targets``
    (each layer's ordinary pruning mask) setting the per-group counts; convolutions (which EIE
    does not run) take their target as is."""
    n_pe, group, index_bits = balance
    kept = {}
    for layer, target in zip(net.weighted(), targets):
        p = layer.params["W"]
        cand = np.ones(p.value.shape, bool) if p.mask is None else p.mask != 0
        if p.value.ndim == 2:
            hidden = layer.gate_units
            mask = balanced_mask(p.value, cand, target != 0, n_pe, group=group, index_bits=index_bits, hidden=hidden)
        else:
            mask = (target != 0) & cand
        p.mask = mask.astype(np.float32)
        p.apply_mask()
        kept[id(layer)] = float(p.mask.mean())
    _rescale_dropout(net, kept)


def prune(net: Network, data: Dataset | None, *, quality=None, sparsity=None, rounds: int = 3,
          retrain: TrainSettings | None = None, seed: int = 0, progress: bool = False,
          balance_pes: int | None = None, balance_group: int = 1, balance_index_bits: int | None = None) -> list[dict]:
    """Iterative pruning: ``rounds`` x (prune, retrain at a tenth of the learning rate).

    ``quality`` (one value or one per layer): threshold = quality x std of the layer's weights
    before pruning, ramped linearly over the rounds. ``sparsity``: fraction removed per layer,
    ramped the same way. Weights already masked stay masked. ``data=None`` prunes without
    retraining (one shot: the rounds' ramp ends at the same masks). Returns the retraining
    history of every round.

    ``balance_pes=N``: load-balance-aware pruning for N PEs (:mod:`.balance`): each round's
    ordinary pruning only sets how many weights each group of ``balance_group`` input columns
    keeps; in every group each PE (row i on PE i % N) keeps the same number, its largest.
    ``balance_index_bits=b``: index-aware, that number bounds real + padding entries at b-bit
    relative indices.
    """
    if (quality is None) == (sparsity is None):
        raise ConfigError("prune: give exactly one of quality or sparsity")
    retrain = retrain or TrainSettings(epochs=2, lr=0.005)
    for s in _layer_list(net, sparsity, "sparsity") if sparsity is not None else []:
        if not 0.0 <= s < 1.0:
            raise ConfigError(f"sparsity={s}: expected 0 <= sparsity < 1 (the fraction of weights removed)")
    for q in _layer_list(net, quality, "quality") if quality is not None else []:
        if not (isinstance(q, (int, float)) and math.isfinite(q) and q >= 0):
            raise ConfigError(f"quality={describe(q)}: expected a finite number >= 0")
    if not isinstance(rounds, int) or rounds < 1:
        raise ConfigError(f"rounds={describe(rounds)}: expected an integer >= 1")
    balance = None if balance_pes is None else check_balance(balance_pes, balance_group, balance_index_bits)
    if balance is None and balance_index_bits is not None:
        raise ConfigError(f"balance_index_bits={describe(balance_index_bits)}: index-aware pruning needs balance_pes")
    layers = net.weighted()
    stds = [float(l.params["W"].value.std()) for l in layers]
    history = []
    for r in range(1, rounds + 1):
        ramp = r / rounds
        if balance is not None:
            if quality is not None:
                targets = [np.abs(l.params["W"].value) > q * ramp * sd
                           for l, q, sd in zip(layers, _layer_list(net, quality, "quality"), stds)]
            else:
                targets = [_largest(l.params["W"].value, s * ramp) for l, s in zip(layers, _layer_list(net, sparsity, "sparsity"))]
            _apply_balanced(net, targets, balance)
        elif quality is not None:
            kept = {}
            for layer, q, sd in zip(layers, _layer_list(net, quality, "quality"), stds):
                p = layer.params["W"]
                mask = (np.abs(p.value) > q * ramp * sd).astype(np.float32)
                p.mask = mask if p.mask is None else mask * p.mask
                p.apply_mask()
                kept[id(layer)] = float(p.mask.mean())
            _rescale_dropout(net, kept)
        else:
            apply_sparsity(net, [s * ramp for s in _layer_list(net, sparsity, "sparsity")])
        if data is not None:
            history += train(net, data, retrain, seed=seed + r, label=f"prune round {r}/{rounds}", progress=progress)
    return history


def exact_codebook(weights: np.ndarray, bits: int) -> np.ndarray | None:
    """The codebook that holds ``weights`` exactly -- 0.0, then its distinct non-zero values in
    ascending order, the last repeated up to 2**bits entries -- or None if there are more than
    2**bits - 1 distinct non-zero values (then k-means has to share them)."""
    k = (1 << int(bits)) - 1
    vals = np.unique(weights[weights != 0.0])
    if vals.size > k:
        return None
    cb = np.zeros(k + 1)
    if vals.size:
        cb[1 : 1 + vals.size] = vals
        cb[1 + vals.size :] = vals[-1]
    return cb


def share_weights(net: Network, bits, init: str = "linear", seed: int = 0) -> None:
    """Replace each weighted layer's weights by a shared codebook (k-means over its surviving
    weights, 2**bits - 1 centroids plus the reserved 0). ``bits``: one value or one per layer.
    A layer with at most 2**bits - 1 distinct non-zero values keeps them exactly
    (:func:`exact_codebook`)."""
    for layer, b in zip(net.weighted(), _layer_list(net, bits, "bits")):
        p = layer.params["W"]
        w2 = p.value.reshape(p.value.shape[0], -1).astype(np.float64)
        cb = exact_codebook(w2, int(b))
        if cb is None:
            cb = kmeans_codebook(w2, int(b), init=init, seed=seed)
        codes = quantize(w2, cb)
        p.codes = codes.reshape(p.value.shape)
        p.codebook = cb.astype(np.float32)
        p.value = p.codebook[p.codes]
        p.mask = (p.codes != 0).astype(np.float32)


@dataclass
class CompressionReport:
    """Deep Compression-style table: one row per weighted layer plus the totals (sizes in bits)."""

    rows: pd.DataFrame
    accuracy_before: float
    accuracy_after: float
    notes: list = field(default_factory=list)

    @property
    def total(self) -> dict:
        r = self.rows
        before = int(r["bits_dense"].sum())
        pq = int(r["bits_pruned_quantized"].sum())
        huff = int(r["bits_huffman"].sum())
        return {
            "weights": int(r["weights"].sum()),
            "kept_pct": 100.0 * r["kept"].sum() / r["weights"].sum(),
            "bits_dense": before,
            "bits_pruned_quantized": pq,
            "bits_huffman": huff,
            "ratio_pruned_quantized": before / pq,
            "ratio_huffman": before / huff,
            "accuracy_before": self.accuracy_before,
            "accuracy_after": self.accuracy_after,
        }

    def to_text(self) -> str:
        lines = [f"{'layer':<8} {'weights':>9} {'kept%':>7} {'w_bits':>6} {'idx_bits':>8} {'dense_KB':>9} "
                 f"{'P+Q_KB':>8} {'Huff_KB':>8} {'ratio':>7}"]
        for _, r in self.rows.iterrows():
            lines.append(f"{r['layer']:<8} {r['weights']:>9,} {r['kept_pct']:>7.2f} {r['weight_bits']:>6} "
                         f"{r['index_bits']:>8} {r['bits_dense'] / 8192:>9.1f} {r['bits_pruned_quantized'] / 8192:>8.2f} "
                         f"{r['bits_huffman'] / 8192:>8.2f} {r['bits_dense'] / r['bits_huffman']:>6.1f}x")
        t = self.total
        lines.append(f"{'total':<8} {t['weights']:>9,} {t['kept_pct']:>7.2f} {'':>6} {'':>8} {t['bits_dense'] / 8192:>9.1f} "
                     f"{t['bits_pruned_quantized'] / 8192:>8.2f} {t['bits_huffman'] / 8192:>8.2f} {t['ratio_huffman']:>6.1f}x")
        lines.append(f"accuracy before {100 * self.accuracy_before:.2f}%, after {100 * self.accuracy_after:.2f}% "
                     f"({100 * (self.accuracy_after - self.accuracy_before):+.2f} points); "
                     f"compression {t['ratio_pruned_quantized']:.1f}x after pruning + quantisation, "
                     f"{t['ratio_huffman']:.1f}x after Huffman coding")
        lines += self.notes
        return "\n".join(lines)


def compression_report(net: Network, index_bits: int, accuracy_before: float, accuracy_after: float) -> CompressionReport:
    """Sizes per layer, Deep Compression's accounting: dense 32-bit weights; after pruning and
    quantisation, one relative-index stream per layer (padding entries included) of
    weight_bits + index_bits per entry plus a codebook of 2**weight_bits 32-bit floats; after
    Huffman, the Huffman-coded weight-code and index streams plus the codebook. Biases are not
    counted (as in the paper)."""
    rows = []
    for layer in net.weighted():
        p = layer.params["W"]
        if p.codes is None:
            raise ConfigError(f"layer {layer.name}: share_weights() first; the report needs weight codes")
        codes = p.codes.reshape(p.codes.shape[0], -1)
        cb_size = p.codebook.size
        wbits = cb_size.bit_length() - 1
        # one stream; the report counts no pointers, so they may be as wide as the layer needs
        enc = encode(codes, np.r_[0.0, np.ones(cb_size - 1)], n_pe=1, index_bits=index_bits, ptr_bits=40)
        pe = enc.pes[0]
        entries = pe.entries
        codebook_bits = cb_size * 32
        rows.append({
            "layer": layer.name,
            "weights": int(codes.size),
            "kept": int(np.count_nonzero(codes)),
            "kept_pct": 100.0 * np.count_nonzero(codes) / codes.size,
            "weight_bits": wbits,
            "index_bits": index_bits,
            "entries": entries,
            "bits_dense": int(codes.size) * 32,
            "bits_pruned_quantized": entries * (wbits + index_bits) + codebook_bits,
            "bits_huffman": huffman_bits(pe.v) + huffman_bits(pe.z) + codebook_bits,
        })
    return CompressionReport(pd.DataFrame(rows), accuracy_before, accuracy_after)


def dsd(net: Network, data: Dataset, *, sparsity: float = 0.3, dense: TrainSettings, sparse: TrainSettings,
        redense: TrainSettings, seed: int = 0, progress: bool = False, continued: bool = False) -> dict:
    """Dense-Sparse-Dense training; returns the test accuracy after each phase.

    ``redense`` should use a tenth of the dense learning rate (the CLI does). ``continued``:
    also train a copy of the dense network through the same two later phases without the mask
    (same epochs, learning rates and shuffling seeds): the fair baseline of the same total
    training, returned as ``out["continued"]`` (the DSD paper's comparison; ``out["dense"]`` is
    the shorter one)."""
    import copy

    out = {}
    train(net, data, dense, seed=seed, label="DSD dense", progress=progress)
    out["dense"] = net.accuracy(data.x_test, data.y_test)
    if continued:
        base = copy.deepcopy(net)
        train(base, data, sparse, seed=seed + 1, label="continued", progress=progress)
        train(base, data, redense, seed=seed + 2, label="continued, a tenth of the rate", progress=progress)
        out["continued"] = base.accuracy(data.x_test, data.y_test)
    apply_sparsity(net, sparsity)
    train(net, data, sparse, seed=seed + 1, label="DSD sparse", progress=progress)
    out["sparse"] = net.accuracy(data.x_test, data.y_test)
    for layer in net.weighted():
        layer.params["W"].mask = None  # pruned weights come back, at zero
    for d in net.dropouts():
        if hasattr(d, "p_original"):
            d.p = d.p_original
    train(net, data, redense, seed=seed + 2, label="DSD re-dense", progress=progress)
    out["redense"] = net.accuracy(data.x_test, data.y_test)
    return out


def apply_output_function(name: str | None, h: np.ndarray) -> np.ndarray:
    """``h`` (samples x outputs) through the output function ``name`` (None: unchanged)."""
    if name is None:
        return h
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * h))  # the logistic function, without overflow
    if name == "tanh":
        return np.tanh(h)
    if name == "softmax":
        e = np.exp(h - h.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ConfigError(f"output_function={describe(name)}: expected None or one of {OUTPUT_FUNCTIONS}")


def float_forward(model: Model, x: np.ndarray) -> np.ndarray:
    """The float view of a compressed model on inputs ``x`` (samples x inputs): float64 with the
    codebook values (no fixed point), then ``meta["output_function"]`` if the model has one."""
    h = np.asarray(x, dtype=np.float64)
    for lay in model.layers:  # each kind's float step (eie_sim.contract.kinds)
        h = lay.spec.float_forward(lay, h)
    return apply_output_function(model.meta.get("output_function"), h)


def float_accuracy(model: Model, x: np.ndarray, y: np.ndarray) -> float:
    """Test accuracy of a compressed model in float64 (codebook values, no fixed point)."""
    return float((float_forward(model, x).argmax(axis=1) == y).mean())


def dense_activations(net: Network) -> list[str]:
    """'relu' for each Dense layer whose next layer (dropout and flatten skipped) is a ReLU, else 'none'."""
    out = []
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Dense):
            nxt = next((l for l in net.layers[i + 1 :] if not isinstance(l, (Dropout, Flatten))), None)
            out.append("relu" if isinstance(nxt, ReLU) else "none")
    return out


def export_model(net: Network, calibration: np.ndarray, *, name: str, act_bits: int = 16, index_bits: int = 4,
                 headroom: float = 2.0, meta: dict | None = None) -> Model:
    """The fully connected network ``net`` (weights shared) as an eie-sim :class:`Model`.

    Fixed-point formats are calibrated on ``calibration`` inputs: the input format from their
    range; each layer's output format from ``headroom`` x the largest output seen (after ReLU
    where there is one), so unseen inputs rarely saturate; each layer's input format is the
    previous layer's output format (the hardware passes integers on unchanged); the codebook
    format from the codebook's range. A layer's activation is "relu" when a ReLU follows it in
    ``net``, else "none".
    """
    if any(isinstance(l, Conv2D) for l in net.layers):  # conv layers: the conv kind (export_cnn)
        return export_cnn(net, calibration, name=name, act_bits=act_bits, index_bits=index_bits,
                          headroom=headroom, meta=meta)
    if net.layers and net.layers[0].reads_sequence:
        return export_lstm_model(net, calibration, name=name, act_bits=act_bits, index_bits=index_bits,
                                 headroom=headroom, meta=dict(meta or {}, sequential=True))
    dense = net.dense_layers()
    if any(l.params["W"].codes is None for l in dense):
        raise ConfigError("export_model: share_weights() first; the model format stores weight codes")
    h = calibration.reshape(len(calibration), -1).astype(np.float64)
    in_frac = choose_frac(h, act_bits)
    layers = []
    for layer, activation in zip(dense, dense_activations(net)):
        p = layer.params["W"]
        cb = p.codebook.astype(np.float64)
        cb[0] = 0.0
        w = cb[p.codes.astype(np.int64)]
        b = layer.params["b"].value.astype(np.float64)
        h = h @ w.T + b
        if activation == "relu":
            h = np.maximum(h, 0.0)
        out_frac = choose_frac(np.array([headroom * np.abs(h).max()]), act_bits)
        layers.append(ModelLayer(
            name=layer.name, codebook=cb, codes=p.codes.astype(np.uint8), bias=b,
            activation=activation, act_bits=act_bits, in_frac=in_frac,
            w_frac=choose_frac(cb, act_bits), out_frac=out_frac, index_bits=index_bits,
            meta={"kept_pct": float(100 * np.count_nonzero(p.codes) / p.codes.size)},
        ))
        in_frac = out_frac
    return Model(layers=tuple(layers), meta=dict(meta or {}, name=name))
