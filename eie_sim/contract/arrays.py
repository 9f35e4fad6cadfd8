"""Reading a user's ``.npy`` array (weights, inputs): never a pickle, its size checked first."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..budget import check_budget
from ..errors import EncodingError

__all__ = ["load_npy"]


def load_npy(path, what: str) -> np.ndarray:
    """The array in ``.npy`` file ``path``, in memory; one EncodingError line naming ``what`` (the
    option or argument) for a missing or unreadable file or an ``.npz`` archive, and the memory
    budget's error for an array larger than :func:`eie_sim.budget.check_budget` allows."""
    p = Path(path)
    if not p.is_file():
        raise EncodingError(f"{what}={path!r}: no such file")
    try:
        # mapped first: the header's declared size is checked before anything is read or allocated
        arr = np.load(p, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise EncodingError(f"{what}={path!r}: not a readable .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise EncodingError(f"{what}={path!r}: expected a .npy array, got an .npz archive")
    check_budget(f"{what}={path!r} (shape {arr.shape}, {arr.dtype})", arr.nbytes)
    return np.array(arr)
