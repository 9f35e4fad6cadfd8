"""The one input a model runs on when a command simulates it once: ``run``, ``golden`` and ``sweep``.

Test image ``index`` (default 0) of the data set the model records (``meta["dataset"]``, as
``compress`` and the ONNX import write it) -- the image ``eval --simulate`` starts from, so every
command reports the same cycles for the same model -- shaped for the model (a T x X sequence
for an LSTM). A model that records no data set runs on a seeded uniform [0, 1) input (pixels as
the data sets give them); so does one whose data set cannot be loaded here, unless an index was
asked for. Every caller states which input it used (the description returned).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .data import DataError, load_dataset

__all__ = ["fit_input", "model_input", "seeded_input"]


def seeded_input(model, seed: int) -> np.ndarray:
    """A seeded uniform [0, 1) input for ``model`` (T x X for a sequence model, T from its
    metadata, else 8)."""
    rng = np.random.default_rng(seed)
    if model.is_sequence:
        steps = int(model.meta.get("sequence", {}).get("steps", 8))
        return rng.random((steps, model.n_inputs))
    return rng.random(model.n_inputs)


def fit_input(model, x) -> np.ndarray | None:
    """``x`` (any shape) as one input of ``model`` -- a vector of its inputs, or T x X steps for a
    sequence model -- in float64; None when its size does not fit."""
    x = np.asarray(x, dtype=np.float64)
    n = model.n_inputs
    if model.is_sequence:
        return x.reshape(-1, n) if x.size and x.size % n == 0 else None
    return x.reshape(-1) if x.size == n else None


def model_input(model, index: int | None = None, *, dataset: str | None = None, data_dir=None, seed: int = 0,
                what: str = "the model", loader=load_dataset) -> tuple[np.ndarray, str]:
    """(input, what it is) for ``model``: test image ``index`` (None: 0) of ``dataset`` (None: the
    one the model records), or the seeded input of :func:`seeded_input` when there is no data set,
    or it cannot be loaded and ``index`` is None. ``loader(name, data_dir)`` loads a data set
    (a caching one in sweep workers). ConfigError for an index out of range, a data set that
    cannot be loaded when an index was asked for, or test images of another size than the model's."""
    dataset = dataset or model.meta.get("dataset")
    if dataset is None:
        if index is not None:
            raise ConfigError(f"--input-index={index}: {what} records no data set; give --input FILE.npy")
        return seeded_input(model, seed), f"seeded uniform [0, 1) input (seed {seed}; {what} records no data set)"
    try:
        data = loader(dataset, data_dir)
    except DataError as exc:
        if index is not None:
            raise ConfigError(f"--input-index={index}: {exc}") from None
        return seeded_input(model, seed), (f"seeded uniform [0, 1) input (seed {seed}): {dataset}, the data set "
                                           f"{what} records, is not available here")
    k = 0 if index is None else index
    n = len(data.x_test)
    if not 0 <= k < n:
        raise ConfigError(f"--input-index={k}: expected a test image index in [0, {n - 1}] of {dataset}")
    x = fit_input(model, data.x_test[k])
    if x is None:
        raise ConfigError(f"{what} has {model.n_inputs} inputs but {dataset} test images have {data.x_test[k].size} "
                          "values; give --input FILE.npy")
    return x, f"{dataset} test image {k}"
