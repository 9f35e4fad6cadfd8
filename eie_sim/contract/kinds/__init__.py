"""Layer kinds: one module per kind (:mod:`.fc`, :mod:`.lstm`, :mod:`.conv`), each a :class:`LayerKind`
registered in :mod:`.base` when it is imported (:mod:`eie_sim.contract` imports every kind
module listed in :data:`KIND_MODULES`). Adding a kind to the contract is one new module here,
named in :data:`KIND_MODULES`, and one step per tier above it (the cycle model:
:mod:`eie_sim.cycle.steps`)."""

from .base import LayerKind, kind_names, kind_of, kind_with_field, register

__all__ = ["KIND_MODULES", "LayerKind", "kind_names", "kind_of", "kind_with_field", "register"]

#: the kind modules (under eie_sim.contract.kinds) that eie_sim.contract imports to register them
KIND_MODULES = ("fc", "lstm", "conv")
