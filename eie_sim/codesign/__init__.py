"""Co-design: compression (software) and the PE array (hardware) searched together.

:mod:`.search` runs the search (:func:`codesign`, successive halving under a wall-time budget,
on Dask or synchronously), over the space and settings of :mod:`.space` (:class:`CodesignSpace`,
:class:`SearchSettings`); :mod:`.tasks` is what a worker runs (train the dense base, compress a
candidate, evaluate a model on every hardware point); :mod:`.report` turns the rows into Pareto
fronts, their tables, the chosen design, the best compression and the figures.

It sits above :mod:`eie_sim.explore`, whose results files, Dask client, Pareto front and pointer
widening it uses; explore never imports it. Only the CLI and the package root import it.
"""

from .._lazy import lazy_names

#: the module of every public name, imported on first use (report and search import pandas)
_PROVIDERS = {
    ".report": ("best_compression", "choose_best", "design_text", "figures", "front_table", "fronts"),
    ".search": ("CodesignResult", "codesign"),
    ".space": ("DEFAULT_HIDDEN_SPARSITY", "DEFAULT_LAST_SPARSITY", "CodesignSpace", "SearchSettings"),
}

__all__ = ["codesign", "CodesignSpace", "SearchSettings", "CodesignResult", "DEFAULT_HIDDEN_SPARSITY",
           "DEFAULT_LAST_SPARSITY", "fronts", "front_table", "choose_best", "best_compression", "design_text", "figures"]


__getattr__, __dir__ = lazy_names(__name__, globals(), _PROVIDERS, __all__)
