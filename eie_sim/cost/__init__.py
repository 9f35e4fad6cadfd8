"""Cost: energy, power and area of a simulated run.

Per-action energy tables and presets with a source for every figure (:mod:`.energy`), the
energy report with its dense baseline (:mod:`.report`) and the area model (:mod:`.area`).
Imports the cycle model (:mod:`eie_sim.cycle`), config and errors; never the tiers above.
"""
