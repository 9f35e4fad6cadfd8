"""The memory budget: sizes that files or arguments declare are checked before anything is allocated.

A model file, a ``.npy`` input or an option such as ``rtl cosim --random ROWSxCOLS`` can declare
an array far larger than the machine (a 200-byte header can claim 10^12 elements). eie-sim
compares what such a declaration would need with the budget first and refuses with the size
needed, instead of dying in the allocator.

Default: 8 GiB, or half the machine's physical memory when that is smaller. Override with the
environment variable ``EIE_SIM_MEMORY_BUDGET`` (bytes, or with a K/M/G/T suffix: ``16G``).
"""

from __future__ import annotations

import os

from .errors import EIEError

__all__ = ["ResourceError", "memory_budget_bytes", "check_budget", "format_bytes"]

DEFAULT_BYTES = 8 << 30
_SUFFIX = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class ResourceError(EIEError):
    """An input declares more memory than the budget allows."""


def format_bytes(n: float) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def memory_budget_bytes() -> int:
    """The budget in bytes (module docstring); a malformed override is an error, not ignored."""
    text = os.environ.get("EIE_SIM_MEMORY_BUDGET", "").strip()
    if not text:
        try:
            physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            physical = 2 * DEFAULT_BYTES
        return min(DEFAULT_BYTES, physical // 2)
    mult = _SUFFIX.get(text[-1].upper(), 1)
    digits = text[:-1] if text[-1].upper() in _SUFFIX else text
    try:
        value = float(digits) * mult
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise ResourceError(f"EIE_SIM_MEMORY_BUDGET={text!r}: expected a size in bytes > 0, optionally with K, M, G or T")
    return int(value)


def check_budget(what: str, nbytes: float) -> None:
    """Refuse ``what`` if it would need more than the budget (``nbytes``: what it declares)."""
    budget = memory_budget_bytes()
    if nbytes > budget:
        raise ResourceError(f"{what} would need {format_bytes(nbytes)}, more than the memory budget of "
                            f"{format_bytes(budget)} (set EIE_SIM_MEMORY_BUDGET to allow more)")
