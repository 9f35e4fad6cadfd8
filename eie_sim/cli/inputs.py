"""One input story for the commands that run a model on one input (``run``, ``golden``).

``--input FILE.npy`` takes the vector (or T x X sequence) from a file; ``--input-index K`` takes
test image K of the data set the model records (``meta["dataset"]``, as ``compress`` and the
ONNX import write it); with neither, test image 0 of that data set -- the input ``eval --simulate``
starts from, so that ``run``, ``eval`` and the notebooks report the same cycles. A model that
records no data set, or whose data set cannot be loaded here, runs on a seeded uniform [0, 1)
input (pixels as the data sets give them). Every command states which input it used.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["add_input_args", "model_input"]


def add_input_args(p, *, seed: bool = False) -> None:
    """``--input``, ``--input-index`` and ``--data-dir`` (and ``--seed`` when the parser lacks one)."""
    p.add_argument("--input", metavar="ACTS.npy",
                   help="input vector, or a T x X sequence for an LSTM model (default: test image 0 of the model's data set)")
    p.add_argument("--input-index", type=int, default=None, metavar="K",
                   help="test image K of the data set the model records (default 0)")
    p.add_argument("--data-dir", default=None, metavar="DIR", help="folder of the Fashion-MNIST IDX files")
    if seed:
        from .common import SEED

        p.add_argument("--seed", type=SEED, default=0,
                       help="seed of the uniform input of a model that records no data set")


def _seeded(model, seed: int) -> np.ndarray:
    if model.is_sequence:  # a T x X sequence, T from the model's metadata (else 8)
        steps = int(model.meta.get("sequence", {}).get("steps", 8))
        return np.random.default_rng(seed).random((steps, model.n_inputs))
    return np.random.default_rng(seed).random(model.n_inputs)


def _test_image(model, dataset: str, k: int, data_dir):
    """Test image ``k`` of ``dataset`` shaped for ``model`` (a T x X sequence for an LSTM)."""
    from ..train.data import load_dataset

    data = load_dataset(dataset, data_dir)
    n = len(data.x_test)
    if not 0 <= k < n:
        raise ConfigError(f"--input-index={k}: expected a test image index in [0, {n - 1}] of {dataset}")
    x = np.asarray(data.x_test[k], dtype=np.float64)
    shape = (-1, model.n_inputs) if model.is_sequence else (-1,)
    return x.reshape(shape)


def model_input(model, args, target: str) -> tuple[np.ndarray, str]:
    """(input, what it is) for ``model`` from the options of :func:`add_input_args`."""
    from ..train.data import DataError
    from .common import load_npy

    k = getattr(args, "input_index", None)
    if args.input:
        if k is not None:
            raise ConfigError(f"--input-index={k} with --input={args.input}: give one input")
        return load_npy(args.input, "--input"), f"input {args.input}"
    dataset = model.meta.get("dataset")
    if dataset is None:
        if k is not None:
            raise ConfigError(f"--input-index={k}: {target} records no data set; give --input FILE.npy")
        return _seeded(model, args.seed), f"seeded uniform [0, 1) input (seed {args.seed}; {target} records no data set)"
    try:
        x = _test_image(model, dataset, 0 if k is None else k, getattr(args, "data_dir", None))
    except DataError as exc:
        if k is not None:
            raise ConfigError(f"--input-index={k}: {exc}") from None
        return _seeded(model, args.seed), (f"seeded uniform [0, 1) input (seed {args.seed}): {dataset}, the data set "
                                          f"{target} records, is not available here")
    if x.size != model.n_inputs * (x.shape[0] if model.is_sequence else 1):
        raise ConfigError(f"{target} has {model.n_inputs} inputs but {dataset} test images have {x.size} values; "
                          "give --input FILE.npy")
    return x, f"{dataset} test image {0 if k is None else k}"
