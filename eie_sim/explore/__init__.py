"""Explore: design-space sweeps and their figures.

Sweeps over architecture and compression parameters on Dask with a resumable results file
(:mod:`.sweep`, the driver and its Dask client; :mod:`.space` the space and its layers,
:mod:`.worker` what a Dask worker runs and the pointer-width widening, :mod:`.results` the
results file and its lock) and the paper's figures and the Pareto front from the results
(:mod:`.plots`). What other tiers use is public (in each module's ``__all__``).
Imports cost, cycle, train and contract; nothing imports it but :mod:`eie_sim.codesign` (the
co-design search, on the same results files), the CLI and the package root.
"""
