"""Cost: energy, power and area of a simulated run.

The actions the model charges, as data (:mod:`.actions`), per-action energy tables and
presets with a source for every figure (:mod:`.energy`, :mod:`.presets`), the
energy report with its dense baseline (:mod:`.report`) and the area model (:mod:`.area`).
Imports the cycle model (:mod:`eie_sim.cycle`), config and errors; never the tiers above.
"""
