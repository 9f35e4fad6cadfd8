"""``cached_njit``: ``numba.njit(cache=True)`` whose cached machine code loads without the compiler's set-up.

A Numba dispatcher with ``cache=True`` looks up its on-disk cache on the first call of each
signature, and before that lookup it refreshes the CPU target (``Cache.load_overload`` calls
``target_context.refresh()``): it imports every implementation module of Numba
(``numba.cpython.*``, ``numba.np.arraymath``, ``numba.np.linalg`` -- which imports
``scipy.linalg`` --, the typed containers, ...) and installs their typing and lowering
registries. That is what compiling needs, and it costs about 0.3 s (a warm ``eie-sim run
alex8`` took 0.8 s with it, 0.5 s without); loading machine code that is already compiled needs
none of it, only the runtime (NRT) that the code calls.

The dispatchers made here keep Numba's cache (same files, same index keys, same machine code:
results cannot differ) with one change: a lookup initialises the runtime and loads the cached
entry without the refresh. Everything else is Numba's: a cache miss compiles as before (the
compiler refreshes the target itself), and if the light lookup fails in any way, Numba's own
lookup (with the refresh) runs instead. It relies on two private methods of
``numba.core.caching.Cache`` (``_load_overload``, ``_guard_against_spurious_io_errors``); if
this Numba lacks them the fallback is simply the full lookup every time. ``tests/test_jit.py``
checks the light load, a compile after it and the fallback.
"""

from __future__ import annotations

from numba import njit
from numba.core.caching import FunctionCache

__all__ = ["cached_njit"]


class _LoadOnlyCache(FunctionCache):
    """Numba's function cache, whose lookups skip the target refresh (module docstring)."""

    def load_overload(self, sig, target_context, *args, **kwargs):
        if not (args or kwargs):  # (a later Numba passing more: its own lookup)
            try:
                from numba.core.runtime import rtsys

                rtsys.initialize(target_context)  # the part of the refresh cached code needs: the runtime it calls
                with self._guard_against_spurious_io_errors():
                    return self._load_overload(sig, target_context)
            except Exception:  # anything unexpected: Numba's own lookup, refresh first
                pass
        return super().load_overload(sig, target_context, *args, **kwargs)


def cached_njit(**options):
    """A decorator: ``numba.njit(cache=True, **options)`` with the light cache lookup."""

    def wrap(func):
        disp = njit(cache=True, **options)(func)
        if type(getattr(disp, "_cache", None)) is FunctionCache:  # what enable_caching() set: swap in the light one
            disp._cache = _LoadOnlyCache(disp.py_func)
        return disp

    return wrap
