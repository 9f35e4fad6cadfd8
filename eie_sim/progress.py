"""Progress bars for whatever takes more than a couple of seconds, in one style (tqdm, on stderr).

A bar shows only on a terminal (``disable=None``: tqdm turns itself off when the stream is not a
TTY), so logs, pipes and the tests' captured stderr get none; ``enabled=False`` (``--quiet``)
turns it off on a terminal too. tqdm is imported on first use, so commands
that never show a bar do not pay for it.
"""

from __future__ import annotations

import sys

__all__ = ["progress"]


def progress(iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it", enabled: bool = True,
             initial: int = 0, leave: bool = False, stream=None):
    """A tqdm bar over ``iterable`` (or ``total`` steps for manual ``update``), on ``stream``
    (default stderr); a no-op bar when disabled or when the stream is not a terminal."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, leave=leave,
                file=stream if stream is not None else sys.stderr, dynamic_ncols=True,
                disable=None if enabled else True, mininterval=0.2)
