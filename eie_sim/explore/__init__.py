"""Explore: design-space sweeps and their figures.

Sweeps over architecture and compression parameters on Dask with a resumable results file
(:mod:`.sweep`, the driver; :mod:`.space` the space and its layers, :mod:`.worker` what a Dask
worker runs, :mod:`.results` the results file) and the paper's figures and a Pareto front from
the results (:mod:`.plots`).
Imports cost, cycle, train and contract; nothing imports it but the CLI and the package root.
"""
