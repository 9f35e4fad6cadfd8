"""The cycle model: the EIE PE array, cycle by cycle, with every access counted.

Numba kernels and the timing rules (:mod:`.kernels`), a layer encoded for the configuration and
its kernel arrays (:mod:`.layers`), the conv step (:mod:`.conv`), :func:`~.simulator.simulate` and its
:class:`~.simulator.SimResult` (:mod:`.simulator`), and the Table III benchmark suite
(:mod:`.suite`). Imports the layer contract (:mod:`eie_sim.contract`), config and errors only.
"""

from . import conv as _conv, lstm as _lstm, simulator as _simulator  # noqa: F401,E402  (they register the fc, lstm and conv steps)
