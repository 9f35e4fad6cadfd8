"""The cycle model's step per layer kind: one registry, as the contract's
(:mod:`eie_sim.contract.kinds`).

A step is ``step(layer, x, config, *, act_frac=None, fixed_input=False) -> list[SimResult]``:
the results of running ``layer`` on ``x`` (floats, or integers in ``act_frac`` when
``fixed_input``), one per pass the kind makes (one for fc, one per time step for lstm); the last
result's ``output_fixed`` and ``out_format`` go to the next layer. :func:`eie_sim.cycle.simulator.simulate`
chains the steps of a model's layers. The fc step is registered by :mod:`.simulator`, the conv
step by :mod:`.conv`, the lstm step by :mod:`.lstm`; :func:`step_of` and :func:`step_kinds` import
the three (:data:`STEP_MODULES`, by name, as :data:`eie_sim.contract.kinds.KIND_MODULES`) the first
time they are asked, so that importing the package loads no Numba kernels.
"""

from __future__ import annotations

import importlib
from typing import Callable

from ..errors import ConfigError

__all__ = ["STEP_MODULES", "register_step", "step_of", "step_kinds"]

#: the modules (under eie_sim.cycle) that register a step when imported, in registration order
STEP_MODULES = ("simulator", "conv", "lstm")

_STEPS: dict[str, Callable] = {}
_LOADED: list[bool] = []


def _load_steps() -> None:
    """Import :data:`STEP_MODULES` once (each registers its step)."""
    if not _LOADED:
        for name in STEP_MODULES:
            importlib.import_module(f"{__package__}.{name}")
        _LOADED.append(True)


def register_step(kind: str, step: Callable) -> Callable:
    """Register the cycle-model ``step`` of layer kind ``kind``."""
    _STEPS[kind] = step
    return step


def step_kinds() -> tuple[str, ...]:
    """The kinds that have a cycle-model step."""
    _load_steps()
    return tuple(_STEPS)


def step_of(kind: str) -> Callable:
    """The step of ``kind``, or ConfigError naming the kinds the cycle model runs."""
    _load_steps()
    if kind not in _STEPS:
        raise ConfigError(f"kind={kind!r}: the cycle model has no step for it; it runs {step_kinds()}")
    return _STEPS[kind]
