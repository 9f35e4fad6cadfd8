"""The cycle model: the EIE PE array, cycle by cycle, with every access counted.

Numba kernels and the timing rules (:mod:`.kernels`), a layer encoded for the configuration and
its kernel arrays (:mod:`.layers`), the conv step (:mod:`.conv`), :func:`~.simulator.simulate` and its
:class:`~.simulator.SimResult` (:mod:`.simulator`), and the Table III benchmark suite
(:mod:`.suite`). Imports the layer contract (:mod:`eie_sim.contract`), config and errors only.

Importing the package imports none of its modules (the suite's defaults need no Numba): each
loads on first use, ``eie_sim.cycle.<module>`` included, and :mod:`.steps` imports the modules
that register the fc, lstm and conv steps (:data:`.steps.STEP_MODULES`) the first time a step is
asked for.
"""

from .._lazy import lazy_names

#: the modules of the package, imported when first named as ``eie_sim.cycle.<module>``
SUBMODULES = ("conv", "conv_suite", "dram", "kernels", "layers", "lstm", "simulator", "steps", "suite")

__getattr__, __dir__ = lazy_names(__name__, globals(), {}, list(SUBMODULES))
