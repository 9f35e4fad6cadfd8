"""The ``eie-sim`` command line: one module per command group, :func:`main` the entry point.

:mod:`.app` builds the parser and runs a command; :mod:`.model` (example, info, encode,
golden), :mod:`.simulate` (run, bench, energy-table), :mod:`.train` (compress, eval),
:mod:`.onnx` (import, export), :mod:`.sweep` (sweep, plot), :mod:`.codesign` (codesign) and
:mod:`.rtl` (rtl export / cosim / area); :mod:`.common` holds what they share. The top tier: it
may import every other subpackage, and nothing imports it.

Building the parser imports light modules only (numpy, the suite's and the architecture's
defaults): each command imports the cycle model (Numba), pandas, Dask or the RTL when it runs,
so ``--help``, ``info`` and ``energy-table`` start fast (``tests/cli/test_startup.py``).
"""

from .app import build_parser, main

__all__ = ["main", "build_parser"]
