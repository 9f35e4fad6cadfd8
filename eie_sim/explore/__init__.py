"""Explore: design-space sweeps and their figures.

Sweeps over architecture and compression parameters on Dask with a resumable results file
(:mod:`.sweep`, the driver; :mod:`.space` the space and its layers, :mod:`.worker` what a Dask
worker runs, :mod:`.results` the results file) and the paper's figures and a Pareto front from
the results (:mod:`.plots`); the co-design search over compression and hardware (:mod:`.codesign`,
its space :mod:`.codesign_space`, worker tasks :mod:`.codesign_task`, fronts and figures
:mod:`.codesign_report`), on the same results files.
Imports cost, cycle, train and contract; nothing imports it but the CLI and the package root.
"""
