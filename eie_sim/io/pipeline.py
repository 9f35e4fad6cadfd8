"""Compress an imported network with the trainer's pipeline: prune -> retrain -> share -> fine-tune.

The one pipeline of ``eie-sim compress`` (:func:`eie_sim.train.pipeline.run_recipe`), with the
settings turned into its :class:`~eie_sim.train.pipeline.Recipe` (:meth:`ImportSettings.recipe`):
pruning by quality or sparsity (load-balance-aware with ``balance_pes``, see
:mod:`eie_sim.train.balance`) over ``prune_rounds`` rounds, each retrained for
``epochs`` at ``lr`` (a tenth of ``compress``'s default rate); k-means weight sharing; codebook
fine-tuning for ``epochs`` without weight decay; the Deep Compression report; export with
fixed-point formats calibrated on up to :data:`~eie_sim.train.pipeline.CALIBRATION_IMAGES`
training inputs.

Without data nothing is trained: pruning is one shot at the final sparsity or quality, and the
formats are calibrated on ``SYNTHETIC_SAMPLES`` seeded uniform [0, 1) inputs (the range of the
built-in image data sets; give data, with ``epochs=0`` to skip training, to calibrate on real
inputs). A layer that is already pruned keeps its zeros (they are its mask); a layer with at
most 2**bits - 1 distinct non-zero values keeps them exactly as its codebook.

Training data from a file: an ``.npz`` with arrays ``x`` (samples x inputs, or samples x any
shape of that many values) and ``y`` (integer labels 0..outputs-1), optionally ``x_test`` and
``y_test`` (else the accuracies are measured on ``x``); read without pickle.

A sequence network (an imported LSTM, then dense layers) goes through the same steps with the
trainer's LSTM layer (its 4H x (X + H + 1) gate matrix is pruned and shared like any weight,
``weight_bits`` counting it as the first layer); samples are sequences flattened to T * X
values (T x X arrays are reshaped). Its export is :func:`eie_sim.train.lstm.export_lstm_model`'s
for the lstm layer (formats calibrated on the sequences) and :func:`export_model`'s for the
dense layers on the float h_T of the same sequences (so a ReLU between them is kept), the first
reading h in the lstm layer's format; ``meta["sequence"] = {"steps": T, "features": X}``.
"""

from __future__ import annotations

import dataclasses
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..contract.model import Model
from ..errors import ConfigError, EIEError, describe
from ..train import compress as dc
from ..train.balance import check_balance
from ..train.data import Dataset, load_dataset
from ..train.lstm import export_lstm_model
from ..train.nn import Network
from ..train.pipeline import CALIBRATION_IMAGES, Recipe, calibration_inputs, run_recipe
from .onnx_import import ImportedNetwork

__all__ = ["ImportSettings", "ImportResult", "DataFileError", "load_data_file", "check_data", "compress_imported",
           "SYNTHETIC_SAMPLES"]

SYNTHETIC_SAMPLES = 256
_ARRAYS = ("x", "y", "x_test", "y_test")


class DataFileError(EIEError):
    """A training-data file (``--data FILE.npz``) is missing, unreadable or malformed."""


@dataclass
class ImportSettings:
    """What to do to an imported network. ``weight_bits``, ``sparsity`` and ``quality``: one value
    or one per layer; give at most one of ``sparsity`` and ``quality`` (neither: no pruning)."""

    weight_bits: object = 4
    sparsity: object = None
    quality: object = None
    prune_rounds: int = 3
    epochs: int = 3
    lr: float = 0.005
    finetune_epochs: int | None = None  # None: ``epochs``
    finetune_lr: float | None = None  # None: ``lr``
    batch_size: int = 128
    weight_decay: float = 5e-4
    index_bits: int = 4
    seed: int = 0
    balance_pes: int | None = None
    balance_group: int = 1
    balance_index_aware: bool = False

    def __post_init__(self):
        if self.sparsity is not None and self.quality is not None:
            raise ConfigError("give at most one of sparsity and quality")
        if self.balance_pes is not None:
            check_balance(self.balance_pes, self.balance_group, self.index_bits if self.balance_index_aware else None)
            if not self.prunes:
                raise ConfigError(f"balance_pes={describe(self.balance_pes)}: balanced pruning needs sparsity or quality "
                                  "(sparsity 0: balance the network's own non-zeros, which removes some)")
        elif self.balance_index_aware or self.balance_group != 1:
            raise ConfigError("balance_group / balance_index_aware: need balance_pes (the PE count to balance for)")
        dc.TrainSettings(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size)  # validates them
        dc.TrainSettings(epochs=self.tune_epochs, lr=self.tune_lr, batch_size=self.batch_size)
        if isinstance(self.prune_rounds, bool) or not isinstance(self.prune_rounds, int) or self.prune_rounds < 1:
            raise ConfigError(f"prune_rounds={describe(self.prune_rounds)}: expected an integer >= 1")
        self.recipe(trains=True)  # validates the rest

    def recipe(self, trains: bool) -> Recipe:
        """The pipeline's :class:`~eie_sim.train.pipeline.Recipe` of these settings: retraining
        ``epochs`` per round at ``lr`` and fine-tuning ``finetune_epochs`` at ``finetune_lr``
        (default: the same; no guard) when ``trains`` (data and some epochs), else one-shot
        pruning and no training."""
        return Recipe(sparsity=self.sparsity, quality=self.quality, weight_bits=self.weight_bits,
                      prune_rounds=self.prune_rounds if trains else 1, retrain_epochs=self.epochs if trains else 0,
                      finetune_epochs=self.tune_epochs if trains else 0, lr=self.lr, finetune_lr=self.tune_lr,
                      weight_decay=self.weight_decay, finetune_guard=False, batch_size=self.batch_size, seed=self.seed,
                      **self.balance)

    @property
    def tune_epochs(self) -> int:
        """Epochs of codebook fine-tuning (``finetune_epochs``, else ``epochs``)."""
        return self.epochs if self.finetune_epochs is None else self.finetune_epochs

    @property
    def tune_lr(self) -> float:
        """Learning rate of codebook fine-tuning (``finetune_lr``, else ``lr``)."""
        return self.lr if self.finetune_lr is None else self.finetune_lr

    @property
    def prunes(self) -> bool:
        return self.sparsity is not None or self.quality is not None

    @property
    def balance(self) -> dict:
        """prune()'s balance keywords ({} when not balancing)."""
        if self.balance_pes is None:
            return {}
        return {"balance_pes": self.balance_pes, "balance_group": self.balance_group,
                "balance_index_bits": self.index_bits if self.balance_index_aware else None}


@dataclass
class ImportResult:
    """The compressed :class:`Model`, its Deep Compression report and the accuracies (None without data)."""

    model: Model
    report: dc.CompressionReport
    accuracy: dict = field(default_factory=dict)
    calibration: str = ""


def _array(npz, key: str, where: str) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as exc:  # object arrays need pickle, which is never used
        raise DataFileError(f"{where}: array {key!r} cannot be read without pickle ({exc})") from None
    except Exception as exc:  # zlib / zip errors: a corrupt archive
        raise DataFileError(f"{where}: array {key!r} cannot be read, the file is corrupt ({exc})") from None


def _features(x: np.ndarray, key: str, n_inputs: int, where: str) -> np.ndarray:
    if x.ndim < 2 or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise DataFileError(f"{where}: array {key!r} has shape {x.shape} and dtype {x.dtype}; "
                            f"expected numbers, samples x {n_inputs} inputs")
    x = x.reshape(len(x), -1)
    if x.shape[1] != n_inputs:
        raise DataFileError(f"{where}: array {key!r} has {x.shape[1]} values per sample; the network has {n_inputs} inputs")
    if not np.all(np.isfinite(x)):
        raise DataFileError(f"{where}: array {key!r} has NaN or infinite values")
    return x.astype(np.float32)


def _labels(y: np.ndarray, key: str, n: int, n_outputs: int, where: str) -> np.ndarray:
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise DataFileError(f"{where}: array {key!r} has shape {y.shape} and dtype {y.dtype}; "
                            f"expected {n} integer labels, one per sample")
    if n and (y.min() < 0 or y.max() >= n_outputs):
        raise DataFileError(f"{where}: array {key!r} has labels {int(y.min())}..{int(y.max())}; "
                            f"expected 0..{n_outputs - 1} (the network's outputs)")
    return y.astype(np.int64)


def load_data_file(path, n_inputs: int, n_outputs: int) -> Dataset:
    """Training data from an ``.npz`` file (module docstring), checked against the network's size."""
    where = str(path)
    if not Path(path).is_file():
        raise DataFileError(f"{where}: no such file")
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"{where}: not an .npz archive ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataFileError(f"{where}: a bare .npy array; expected an .npz archive with arrays x and y")
    with npz:
        names = set(npz.files)
        if not {"x", "y"} <= names or not names <= set(_ARRAYS) or ("x_test" in names) != ("y_test" in names):
            raise DataFileError(f"{where}: arrays {sorted(names)}; expected x and y, optionally x_test and y_test")
        arr = {k: _array(npz, k, where) for k in sorted(names)}
    x = _features(arr["x"], "x", n_inputs, where)
    y = _labels(arr["y"], "y", len(x), n_outputs, where)
    if len(x) == 0:
        raise DataFileError(f"{where}: array 'x' has no samples")
    if "x_test" in arr:
        xt = _features(arr["x_test"], "x_test", n_inputs, where)
        yt, note = _labels(arr["y_test"], "y_test", len(xt), n_outputs, where), f"{len(x)} train / {len(xt)} test"
    else:
        xt, yt, note = x, y, f"{len(x)} samples, accuracies measured on them (no x_test / y_test)"
    return Dataset(Path(path).stem, x, y, xt, yt, 0, n_outputs, f"{where}: {note}")


def check_data(data: Dataset, net: ImportedNetwork) -> Dataset:
    """``data`` if its inputs and labels fit the network, else :class:`DataFileError`."""
    if data.n_features != net.n_inputs:
        raise DataFileError(f"{data.name}: {data.n_features} values per sample; the network has {net.n_inputs} inputs")
    top = max(int(data.y_train.max(initial=0)), int(data.y_test.max(initial=0)))
    if top >= net.n_outputs:
        raise DataFileError(f"{data.name}: labels up to {top}; the network has {net.n_outputs} outputs")
    return data


def load_named_dataset(name: str, net: ImportedNetwork, data_dir=None) -> Dataset:
    """A built-in data set (``--finetune``), checked against the network's size."""
    return check_data(load_dataset(name, data_dir), net)


def limit_train(data: Dataset, n: int | None) -> Dataset:
    """``data`` with only its first ``n`` training samples (all when ``n`` is None)."""
    return dataclasses.replace(data, x_train=data.x_train[:n], y_train=data.y_train[:n]) if n else data


DEFAULT_INPUT_RANGE = (0.0, 1.0)


def check_input_range(input_range) -> tuple[float, float]:
    """(lo, hi) finite with lo < hi, or one ConfigError line."""
    try:
        lo, hi = (float(v) for v in input_range)
    except (TypeError, ValueError):
        raise ConfigError(f"input_range={describe(input_range)}: expected two numbers LO HI") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ConfigError(f"input_range=({lo:g}, {hi:g}): expected finite LO < HI")
    return lo, hi


def _calibration(net: ImportedNetwork, data: Dataset | None, seed: int, input_range=None,
                 samples: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """The inputs the fixed-point formats are calibrated on: ``samples`` (the user's), else the
    training data, else seeded uniform inputs over ``input_range`` (default [0, 1], the built-in
    image data sets' range) with an all-LO and an all-HI input, so that both ends fit."""
    if samples is not None:
        x = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
        if x.shape[1] != net.n_inputs or not len(x) or not np.all(np.isfinite(x)):
            raise ConfigError(f"calibration inputs: shape {np.shape(samples)}; expected finite (samples, {net.n_inputs})")
        return x[:CALIBRATION_IMAGES], f"{min(len(x), CALIBRATION_IMAGES)} given calibration inputs"
    if data is not None:
        x = calibration_inputs(data)
        return x, f"{len(x)} training inputs of {data.name}"
    lo, hi = check_input_range(DEFAULT_INPUT_RANGE if input_range is None else input_range)
    x = lo + (hi - lo) * np.random.default_rng(seed).random((SYNTHETIC_SAMPLES, net.n_inputs))
    x = np.vstack([x, np.full((1, net.n_inputs), lo), np.full((1, net.n_inputs), hi)])
    given = "" if input_range is not None else ", assumed: no data or input range given"
    return x, f"{SYNTHETIC_SAMPLES} uniform [{lo:g}, {hi:g}] inputs{given}"


def _export_sequence(net, calibration: np.ndarray, *, name: str, index_bits: int, meta: dict) -> Model:
    """An LSTM network (trainer LSTM, then Dense / ReLU layers, weights shared) as a Model."""
    T, X = net.input_shape
    head = export_lstm_model(Network(net.name, net.layers[:1], (T, X)), calibration, name=name, index_bits=index_bits)
    lstm_layer = head.layers[0]
    h_t = dc.float_forward(head, calibration.reshape(len(calibration), -1))
    tail = dc.export_model(Network(net.name, net.layers[1:], (lstm_layer.hidden,)), h_t, name=name,
                           index_bits=index_bits)
    first = dataclasses.replace(tail.layers[0], in_frac=lstm_layer.in_frac)
    return Model(layers=(lstm_layer, first, *tail.layers[1:]),
                 meta=dict(meta, name=name, sequential=True, sequence={"steps": T, "features": X}))


def compress_imported(net_in: ImportedNetwork, settings: ImportSettings | None = None, data: Dataset | None = None,
                      *, name: str | None = None, meta: dict | None = None, progress: bool = False,
                      input_range=None, calibration: np.ndarray | None = None) -> ImportResult:
    """Prune (if asked), share, fine-tune (with data) and export ``net_in`` as an eie-sim Model.
    The formats are calibrated on ``calibration`` inputs, else the data's, else uniform inputs
    over ``input_range`` (LO, HI) (default [0, 1]; inputs outside it saturate and are counted)."""
    s = settings or ImportSettings()
    net = net_in.to_network()
    trains = data is not None and (s.epochs > 0 or s.tune_epochs > 0)
    accuracy = {"imported": net.accuracy(data.x_test, data.y_test) if data is not None else None}
    res = run_recipe(net, data, s.recipe(trains), progress=progress)
    if s.prunes:
        accuracy["pruned"] = res.accuracy.get("pruned")
    accuracy["compressed"] = res.accuracy.get("compressed")
    nan = float("nan")
    report = dc.compression_report(net, s.index_bits, accuracy["imported"] if data else nan,
                                   accuracy["compressed"] if data else nan)
    calib, how = _calibration(net_in, data, s.seed, input_range, calibration)
    total = {k: v for k, v in report.total.items() if data is not None or not k.startswith("accuracy")}
    info = {"imported_from": net_in.source, "report": total, "calibration": how}
    if net_in.output_function:
        info["output_function"] = net_in.output_function
    if s.balance:
        info["balance"] = {"n_pe": s.balance_pes, "group": s.balance_group,
                           "index_bits": s.index_bits if s.balance_index_aware else None}
    if data is not None:
        info.update(dataset=data.name, accuracy=accuracy)
    export = _export_sequence if net_in.is_sequence else dc.export_model
    model = export(net, calib, name=name or net_in.name, index_bits=s.index_bits, meta=dict(info, **(meta or {})))
    return ImportResult(model, report, accuracy if data is not None else {}, how)
