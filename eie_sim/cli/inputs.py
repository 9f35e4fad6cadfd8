"""One input story for the commands that run a model on one input (``run``, ``golden``).

``--input FILE.npy`` takes the vector (or T x X sequence) from a file; ``--input-index K`` takes
test image K of the data set the model records; with neither, test image 0 of that data set, or a
seeded input (:mod:`eie_sim.train.inputs`, which ``sweep`` uses too). Every command states which
input it used. ``eval --simulate`` takes the same two options for its images.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .vocabulary import say

__all__ = ["add_input_args", "model_input"]


def add_input_args(p, *, seed: bool = False) -> None:
    """``--input``, ``--input-index`` and ``--data-dir`` (and ``--seed`` when the parser lacks one)."""
    p.add_argument("--input", metavar="ACTS.npy", help=say("--input", "default: test image 0 of the model's data set"))
    p.add_argument("--input-index", type=int, default=None, metavar="K", help=say("--input-index", "default 0"))
    p.add_argument("--data-dir", default=None, metavar="DIR", help=say("--data-dir"))
    if seed:
        from .common import SEED

        p.add_argument("--seed", type=SEED, default=0, help=say("--seed", "the uniform input of a model that records no data set"))


def model_input(model, args, target: str) -> tuple[np.ndarray, str]:
    """(input, what it is) for ``model`` from the options of :func:`add_input_args`: the file of
    ``--input``, else :func:`eie_sim.train.inputs.model_input` (test image ``--input-index``,
    default 0, of the model's data set, or the seeded input)."""
    from ..train.inputs import model_input as pick
    from ..contract.arrays import load_npy

    k = getattr(args, "input_index", None)
    if args.input:
        if k is not None:
            raise ConfigError(f"--input-index={k} with --input={args.input}: give one input")
        return load_npy(args.input, "--input"), f"input {args.input}"
    return pick(model, k, data_dir=getattr(args, "data_dir", None), seed=args.seed, what=target)
